// Announces urgent observations and notes that arrive while a coordinator
// screen is open: a visible banner (with a link to the item) and an
// assertive live region for screen readers. Source: the app's synced
// documents (the server pushes every change to a coordinator's open sync
// connection), re-projected only for documents whose heads changed. What was
// there when the area opened counts as seen (read in the background, a few
// documents per tick); items older than MAX_AGE_MS are not news (e.g. the
// first sync of an old walk).

import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n';
import type { Row } from '../../model/doc';
import { useApp } from '../hooks';
import { labelOf, rowsOf, useCatalog } from './common';
import { itemKey, newUrgent } from './live';

const MAX_AGE_MS = 24 * 3600_000;

export function UrgentAnnouncer() {
  const app = useApp();
  const catalog = useCatalog();
  const seen = useRef(new Set<string>());
  const heads = useRef(new Map<string, string>());
  /** Documents present when the area opened whose urgent items are not yet in `seen`. */
  const pending = useRef<Set<string> | null>(null);
  const openedAt = useRef(Date.now());
  const [alerts, setAlerts] = useState<Row[]>([]);

  // Baseline in the background, a few documents per tick (projecting every
  // document at once would freeze the first render of a large installation).
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const step = () => {
      const todo = pending.current;
      if (!todo || todo.size === 0) return;
      const until = performance.now() + 30;
      for (const id of todo) {
        for (const r of rowsOf(id)) if (r.severity === 'urgent') seen.current.add(itemKey(r));
        todo.delete(id);
        if (performance.now() > until) break;
      }
      timer = setTimeout(step, 0);
    };
    timer = setTimeout(step, 0);
    return () => {
      if (timer) clearTimeout(timer);
    };
  }, []);

  useEffect(() => {
    const firstPass = pending.current === null;
    if (firstPass) pending.current = new Set();
    const found: Row[] = [];
    for (const [id, doc] of app.docs) {
      const kind = app.kindOf(id);
      if (kind !== 'walk' && kind !== 'spreekuur') continue;
      let h: string;
      try {
        h = doc.heads().join(',');
      } catch {
        continue;
      }
      if (heads.current.get(id) === h) continue;
      heads.current.set(id, h);
      if (firstPass) {
        pending.current?.add(id);
        continue;
      }
      // Changed before its baseline was taken: only what was created since the area opened is news.
      const unbaselined = pending.current?.delete(id) ?? false;
      const since = unbaselined ? openedAt.current : Date.now() - MAX_AGE_MS;
      for (const r of newUrgent(rowsOf(id), seen.current, Date.now(), Date.now() - since)) {
        seen.current.add(itemKey(r));
        found.push(r);
      }
    }
    if (found.length) setAlerts((a) => [...found, ...a].slice(0, 5));
  }, [app.version]);

  const text = (r: Row) => `${t('coordinator.urgent.label')}: ${labelOf(catalog?.categories, r.category)}, ${labelOf(catalog?.wijken, r.wijk)}${r.text ? ` — ${r.text}` : ''}`;
  return (
    <>
      <div class="sr-only" aria-live="assertive" aria-atomic="true" data-testid="urgent-live">
        {alerts[0] ? text(alerts[0]) : ''}
      </div>
      {alerts.length > 0 && (
        <div class="banner error urgent-banner" data-testid="urgent-banner">
          <ul class="plain">
            {alerts.map((r) => (
              <li key={itemKey(r)}>
                <a href={`#/coord/item/${r.doc_id}/${r.item_id}`}>{text(r)}</a>
              </li>
            ))}
          </ul>
          <button type="button" class="btn small" onClick={() => setAlerts([])} data-testid="urgent-dismiss">
            {t('coordinator.urgent.dismiss')}
          </button>
        </div>
      )}
    </>
  );
}
