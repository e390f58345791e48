// Announces urgent observations and notes that arrive while a coordinator
// screen is open: a visible banner (with a link to the item) and an
// assertive live region for screen readers. Source: the app's synced
// documents (the server pushes every change to a coordinator's open sync
// connection), re-projected only for documents whose heads changed. What was
// there when the screen opened counts as seen; items older than MAX_AGE_MS
// are not news (e.g. the first sync of an old walk).

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
  const first = useRef(true);
  const [alerts, setAlerts] = useState<Row[]>([]);

  useEffect(() => {
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
      const rows = rowsOf(id);
      if (first.current) {
        for (const r of rows) if (r.severity === 'urgent') seen.current.add(itemKey(r));
        continue;
      }
      for (const r of newUrgent(rows, seen.current, Date.now(), MAX_AGE_MS)) {
        seen.current.add(itemKey(r));
        found.push(r);
      }
    }
    first.current = false;
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
