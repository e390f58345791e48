// For vitest (node): the real wasm document model from pwa/src/wasm/pkg, and
// a catalog document made by it.

import { initSync, WijkDoc } from '../wasm/pkg/wijklog_shared.js';
import { Doc, SyncState } from '../model/doc';

let loaded = false;

/** Instantiate the wasm module once per test file. */
export async function loadWasmForTests(): Promise<void> {
  if (loaded) return;
  // node:fs through a variable: the app's tsconfig has no node types.
  const nodeFs = 'node:fs';
  const { readFileSync } = (await import(/* @vite-ignore */ nodeFs)) as { readFileSync: (p: URL) => Uint8Array };
  initSync({ module: readFileSync(new URL('../wasm/pkg/wijklog_shared_bg.wasm', import.meta.url)) });
  loaded = true;
}

/** A catalog document with the model's default entries. */
export function newCatalog(id: string, user: string): Doc {
  const c = WijkDoc.newCatalog(id, user);
  try {
    return Doc.load(id, c.save(), [], user);
  } finally {
    c.free();
  }
}

/** Run the automerge sync protocol from `from` into `to` until neither has anything to send. */
export function syncDocs(from: Doc, to: Doc): void {
  const sFrom = new SyncState();
  const sTo = new SyncState();
  for (let round = 0; round < 20; round++) {
    const m1 = from.generateSyncMessage(sFrom);
    if (m1) to.receiveSyncMessage(sTo, m1);
    const m2 = to.generateSyncMessage(sTo);
    if (m2) from.receiveSyncMessage(sFrom, m2);
    if (!m1 && !m2) return;
  }
  throw new Error('sync did not settle');
}
