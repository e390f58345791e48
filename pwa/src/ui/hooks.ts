import { useEffect, useState } from 'preact/hooks';
import { app } from '../app';
import { onLangChange } from '../i18n';

/** Re-render when the app state or the language changes. */
export function useApp(): typeof app {
  const [, setV] = useState(0);
  useEffect(() => {
    const a = app.listen(() => setV((v) => v + 1));
    const b = onLangChange(() => setV((v) => v + 1));
    return () => {
      a();
      b();
    };
  }, []);
  return app;
}

/**
 * An editable copy of a stored value, for a form field over a synced document.
 * While it is not being edited (it still equals the stored value it last took
 * over) it follows the stored value when that changes, by this device's own
 * save of another field or by a change from elsewhere; once edited it keeps
 * what was typed until the stored value is the same again. (Keying a form by
 * the stored values instead starts it over, and throws away what is typed,
 * whenever any of them changes.)
 */
export function useDraft<T>(stored: T): [T, (v: T) => void] {
  const [draft, setDraft] = useState(stored);
  const [base, setBase] = useState(stored);
  useEffect(() => {
    if (draft === base) setDraft(stored);
    setBase(stored);
  }, [stored]);
  return [draft, setDraft];
}

export type Route =
  | { name: 'home' }
  | { name: 'login' }
  | { name: 'new-walk' }
  | { name: 'new-session' }
  | { name: 'settings' }
  | { name: 'walk'; id: string }
  /** Quick entry; `point`: made from a resident's point on the walk's agenda. */
  | { name: 'entry'; id: string; point?: number }
  | { name: 'session'; id: string }
  /** The coordinator area; `path` is the rest of the hash after `coord/`. */
  | { name: 'coord'; path: string[] }
  /** The admin area; `path` is the rest of the hash after `admin/`. */
  | { name: 'admin'; path: string[] };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'walk' && parts[1]) {
    if (parts[2] !== 'new') return { name: 'walk', id: parts[1] };
    const point = parts[3] === 'point' && /^[1-9][0-9]{0,15}$/.test(parts[4] ?? '') ? Number(parts[4]) : undefined;
    return point === undefined ? { name: 'entry', id: parts[1] } : { name: 'entry', id: parts[1], point };
  }
  if (parts[0] === 'session' && parts[1]) return { name: 'session', id: parts[1] };
  if (parts[0] === 'new-walk') return { name: 'new-walk' };
  if (parts[0] === 'new-session') return { name: 'new-session' };
  if (parts[0] === 'login') return { name: 'login' };
  if (parts[0] === 'settings') return { name: 'settings' };
  if (parts[0] === 'coord') return { name: 'coord', path: parts.slice(1) };
  if (parts[0] === 'admin') return { name: 'admin', path: parts.slice(1) };
  return { name: 'home' };
}

export function go(path: string): void {
  location.hash = path;
}

export function useRoute(): Route {
  const [r, setR] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const f = () => setR(parseRoute(location.hash));
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return r;
}
