// Opening a document this device does not hold, to edit it. Under the sync
// scope (docs/sync-protocol.md §2) a coordinator's laptop holds nothing but
// the catalog and what it opened, and a phone its own recent documents and
// its team's planned ones: screens read everything else over REST, and only
// an explicit "Bewerken" (follow-up, feedback, call backs), "meedoen" or
// opening an older walk brings one document onto the device (a subscribe).
// What each document's opening is doing is kept here, once for all screens,
// so that a list with many entries shows each entry's state.

import { app } from '../app';
import type { Doc } from '../model/doc';

export type OpenState = { kind: 'idle' } | { kind: 'opening' } | { kind: 'error'; code: string };

const states = new Map<string, OpenState>();

/** The document if this device holds it (a walk or a session with content), else null. */
export function heldDoc(id: string): Doc | null {
  const d = app.docs.get(id);
  const k = d?.kind();
  return d && (k === 'walk' || k === 'spreekuur') ? d : null;
}

export function openState(id: string): OpenState {
  return states.get(id) ?? { kind: 'idle' };
}

/**
 * Bring one document onto this device and keep it there (`app.subscribe`),
 * then resolve; rejects with its SubscribeError (`code`: `offline`,
 * `forbidden`, `not_found`, `failed`).
 */
export function fetchDoc(id: string): Promise<void> {
  return app.subscribe(id);
}

export function startOpen(id: string, then?: (doc: Doc) => void | Promise<void>): void {
  if (openState(id).kind === 'opening') return;
  const held = heldDoc(id);
  if (held) {
    void then?.(held);
    return;
  }
  states.set(id, { kind: 'opening' });
  app.emit();
  fetchDoc(id)
    .then(async () => {
      states.delete(id);
      const doc = heldDoc(id);
      if (doc) await then?.(doc);
    })
    .catch((e: unknown) => {
      const code = (e as { code?: unknown } | null)?.code;
      states.set(id, { kind: 'error', code: typeof code === 'string' ? code : 'internal' });
    })
    .finally(() => app.emit());
}
