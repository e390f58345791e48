// Announces urgent observations and notes that arrive while a coordinator
// screen is open: a visible banner (with a link to the item) and an
// assertive live region for screen readers. Source: the server's list
// (GET /api/v1/items?severity=urgent, created in the last MAX_AGE_MS), read
// when the area opens, when the server says the lists changed
// (`lists_changed` on the sync socket), when a document on this device
// changes, when the tab becomes visible, and every URGENT_POLL_MS while it
// is (useLiveRefresh; the fallback): a laptop holds only the documents it
// opened (the sync scope), so the urgent items of every other walk and
// session are only on the server. What the
// first read finds counts as seen; items older than MAX_AGE_MS are not news
// (a phone that was offline for days).

import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n';
import type { Row } from '../../model/doc';
import { listItems } from './api';
import { labelOf, useCatalog, useLiveRefresh } from './common';
import { itemKey, urgentNews, type UrgentWatch } from './live';

const MAX_AGE_MS = 24 * 3600_000;
/** How often the server is asked while the tab is visible without a `lists_changed` (the fallback). */
const URGENT_POLL_MS = 60_000;
/** The newest urgent items read at once (one bounded page). */
const URGENT_LIMIT = 100;

export function UrgentAnnouncer() {
  const catalog = useCatalog();
  const watch = useRef<UrgentWatch>({ seen: new Set(), baselined: false, openedAt: Date.now() });
  const [alerts, setAlerts] = useState<Row[]>([]);
  /** A read in flight, and whether another was asked for meanwhile (it follows, so no change is missed). */
  const reading = useRef<{ busy: boolean; again: boolean }>({ busy: false, again: false });
  const live = useRef(true);

  async function check(): Promise<void> {
    const r = reading.current;
    if (r.busy) {
      r.again = true;
      return;
    }
    r.busy = true;
    try {
      do {
        r.again = false;
        const p = new URLSearchParams({ severity: 'urgent', from: String(Date.now() - MAX_AGE_MS) });
        try {
          const page = await listItems(p, null, URGENT_LIMIT);
          if (!live.current) return;
          const found = urgentNews(watch.current, page.items, Date.now(), MAX_AGE_MS);
          if (found.length) setAlerts((a) => [...found, ...a].slice(0, 5));
        } catch {
          // offline or refused: the next change or poll reads again
        }
      } while (r.again && live.current);
    } finally {
      r.busy = false;
    }
  }

  useEffect(() => {
    live.current = true;
    void check();
    return () => {
      live.current = false;
    };
  }, []);
  useLiveRefresh(() => void check(), 250, URGENT_POLL_MS);

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
