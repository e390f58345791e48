// The nearest address of the user's own observations, looked up once their
// position is stored (docs/pwa.md, "Addresses"): for every observation of
// the walk on screen that this user made, that has a position and no
// address for it yet, the app asks the server (GET /api/v1/geocode/reverse)
// and stores the answer in the document with the position it was looked up
// for (one typed edit, `set_address`), so it syncs and stays readable
// offline. Nothing waits for it: offline, or with the service switched off
// or silent, the observation simply keeps its coordinates and the lookup is
// tried again later. A position that changed meanwhile is not given the old
// position's address.

import { useEffect } from 'preact/hooks';
import type { Row } from '../model/doc';
import { lookupFailure, reverseAddress } from '../net/geocode';
import { useApp } from './hooks';

/** A failed lookup of one position is tried again after this long. */
const RETRY_MS = 5 * 60_000;
/** With the service switched off on the server, nothing is asked for this long. */
const OFF_MS = 60 * 60_000;

const tried = new Map<string, number>();
let offUntil = 0;

export function AddressFill({ docId, rows }: { docId: string; rows: Row[] }) {
  const app = useApp();
  const me = app.user?.id ?? null;
  const wanted = rows.filter((r) => r.location && !r.address && !r.deleted && !r.erased?.item && me !== null && r.created_by === me);
  const key = wanted.map((r) => `${r.item_id}@${r.location?.lat},${r.location?.lon}`).join(';');
  const online = app.conn === 'online';

  useEffect(() => {
    if (!online || wanted.length === 0) return;
    let stopped = false;
    void (async () => {
      for (const r of wanted) {
        if (stopped || Date.now() < offUntil || !r.location) return;
        const { lat, lon } = r.location;
        const k = `${docId}/${r.item_id}@${lat},${lon}`;
        const last = tried.get(k);
        if (last !== undefined && Date.now() - last < RETRY_MS) continue;
        tried.set(k, Date.now());
        let label: string;
        try {
          const place = await reverseAddress(lat, lon);
          if (!place) continue;
          label = place.label;
        } catch (e) {
          const why = lookupFailure(e);
          if (why === 'off') offUntil = Date.now() + OFF_MS;
          // Off, offline, busy or silent: the rest waits for a later turn.
          return;
        }
        if (stopped) return;
        try {
          await app.edit(docId, (d) => {
            const now = d.rows().find((x) => x.item_id === r.item_id);
            // Only for the position it was looked up for, and only once.
            if (!now?.location || now.location.lat !== lat || now.location.lon !== lon || now.address) return;
            d.setAddress(r.item_id, { label, lat, lon });
          });
        } catch {
          // Not stored (the document was closed, storage refused): tried again later.
          tried.delete(k);
        }
      }
    })();
    return () => {
      stopped = true;
    };
  }, [docId, key, online]);
  return null;
}
