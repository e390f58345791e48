// The municipality's theme: the app's name, the municipality, the main colour
// and a logo come from the server's configuration ([theme], served in
// GET /api/v1/client-config as `theme`), not from the code. The last theme
// seen is kept in localStorage, so an app started offline looks the same.
// Applying it sets the window title, the browser bar colour (meta
// theme-color) and the CSS colour --primary; the header reads theme().
// The web manifest follows on the server (GET /manifest.webmanifest).

export interface Theme {
  name: string;
  municipality: string;
  /** `#rrggbb`. */
  color: string;
  /** Same-origin path of the logo, or null. */
  logoUrl: string | null;
}

export const DEFAULT_THEME: Theme = { name: 'Wijklog', municipality: '', color: '#0b3d91', logoUrl: null };
const KEY = 'wijklog.theme';

/** The `theme` of a client-config body, or null when it has none of the right shape. */
export function parseTheme(body: unknown): Theme | null {
  const th = (body as { theme?: unknown } | null)?.theme as Record<string, unknown> | undefined;
  if (!th || typeof th !== 'object') return null;
  const name = typeof th.name === 'string' && th.name.trim() ? th.name.trim().slice(0, 40) : DEFAULT_THEME.name;
  const municipality = typeof th.municipality === 'string' ? th.municipality.trim().slice(0, 80) : '';
  const color = typeof th.color === 'string' && /^#[0-9a-fA-F]{6}$/.test(th.color) ? th.color.toLowerCase() : DEFAULT_THEME.color;
  // Only a path on this server: the CSP allows no other image origin, and a
  // configuration never points the app elsewhere.
  const logoUrl = typeof th.logo_url === 'string' && /^\/[^/\\]/.test(th.logo_url) ? th.logo_url : null;
  return { name, municipality, color, logoUrl };
}

/** White or black text on `color`, whichever contrasts more (WCAG relative luminance). */
export function textOn(color: string): '#fff' | '#000' {
  const ch = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  const lum = 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  return (1.05 / (lum + 0.05) >= (lum + 0.05) / 0.05 ? '#fff' : '#000');
}

/** The window title for a theme: `Wijklog — Gemeente Eemdal`. */
export function titleOf(th: Theme): string {
  return th.municipality ? `${th.name} — ${th.municipality}` : th.name;
}

function stored(): Theme {
  try {
    const raw = globalThis.localStorage?.getItem(KEY);
    return (raw && parseTheme({ theme: JSON.parse(raw) })) || DEFAULT_THEME;
  } catch {
    return DEFAULT_THEME;
  }
}

let current: Theme = stored();
const listeners = new Set<() => void>();

export function theme(): Theme {
  return current;
}

export function onThemeChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** Puts `th` on the page: title, browser bar colour, --primary and the text colour on it. */
export function applyTheme(th: Theme): void {
  if (typeof document === 'undefined') return;
  document.title = titleOf(th);
  let meta = document.querySelector<HTMLMetaElement>('meta[name="theme-color"]');
  if (!meta) {
    meta = document.createElement('meta');
    meta.name = 'theme-color';
    document.head.appendChild(meta);
  }
  meta.content = th.color;
  document.documentElement.style.setProperty('--primary', th.color);
  document.documentElement.style.setProperty('--primary-fg', textOn(th.color));
}

function set(th: Theme): void {
  current = th;
  applyTheme(th);
  for (const f of listeners) f();
}

/**
 * Applies the stored theme at once, then asks the server for the current one
 * (kept for the next offline start). Offline or on an older server, the
 * stored (or default) theme stays.
 */
export async function loadTheme(fetchFn: typeof fetch = (...a) => fetch(...a)): Promise<Theme> {
  applyTheme(current);
  try {
    const res = await fetchFn('/api/v1/client-config', { cache: 'no-store' });
    if (!res.ok) return current;
    const th = parseTheme(await res.json());
    if (!th) return current;
    try {
      globalThis.localStorage?.setItem(KEY, JSON.stringify({ name: th.name, municipality: th.municipality, color: th.color, logo_url: th.logoUrl }));
    } catch {
      // A full or refused storage only loses the offline copy.
    }
    set(th);
  } catch {
    // Offline: the stored theme stays.
  }
  return current;
}
