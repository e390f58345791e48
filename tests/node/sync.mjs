// Sync helpers shared by the interop tests: run the automerge sync protocol
// between a wasm WijkDoc and a document of the official @automerge/automerge
// package until neither side has anything more to send.

import * as A from "@automerge/automerge";

/**
 * Exchanges sync messages between `wdoc` (WijkDoc, state `wstate`) and the JS
 * document `jdoc` (state `jstate`) until both are quiet. `deliver(direction, i)`
 * may return false to drop a message (direction "w2j" or "j2w", i = its index).
 * Returns the new JS document and state, and how many messages went each way.
 */
export function syncUntilQuiet(wdoc, wstate, jdoc, jstate, deliver = () => true) {
  let w2j = 0;
  let j2w = 0;
  for (let round = 0; round < 100; round++) {
    let sent = false;
    const fromWasm = wdoc.generateSyncMessage(wstate);
    if (fromWasm !== undefined) {
      sent = true;
      if (deliver("w2j", w2j)) [jdoc, jstate] = A.receiveSyncMessage(jdoc, jstate, fromWasm);
      w2j++;
    }
    let fromJs;
    [jstate, fromJs] = A.generateSyncMessage(jdoc, jstate);
    if (fromJs !== null) {
      sent = true;
      if (deliver("j2w", j2w)) wdoc.receiveSyncMessage(wstate, fromJs);
      j2w++;
    }
    if (!sent) return { jdoc, jstate, w2j, j2w };
  }
  throw new Error("sync did not become quiet within 100 rounds");
}

/** Heads as a sorted array, for comparing replicas. */
export const sortedHeads = (heads) => [...heads].sort();
