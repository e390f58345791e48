// The wasm module and the official @automerge/automerge package sync one
// document to convergence with the standard automerge sync protocol
// (generateSyncMessage / receiveSyncMessage on both sides).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as A from "@automerge/automerge";

import { WijkDoc, SyncState, thrown } from "./wasm.mjs";
import { syncUntilQuiet, sortedHeads } from "./sync.mjs";

const CATALOG_ID = "9a1d5c7e-0b2f-4e3a-8c6d-1f2e3a4b5c6d";
const WALK_ID = "7c3d9e2f-1a4b-4c5d-8e6f-3b2a1c0d9e8f";
const BOA = "boa-17";
const T0 = 1767265200000;

function walkWithObservations(n) {
  const catalog = WijkDoc.newCatalog(CATALOG_ID, "admin-1");
  const walk = WijkDoc.newWalk(WALK_ID, catalog, BOA, { title: "Sync-ronde", wijk: "bovenmaten", team: "team-west" }, T0);
  const ids = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      walk.addObservation(catalog, { category: "vervuiling", severity: "aandacht", text: `Afval ${i}` }, { at: T0 + i }),
    );
  }
  return { catalog, walk, ids };
}

test("an empty JS replica receives a whole walk from wasm by sync and converges", () => {
  const { walk, ids } = walkWithObservations(3);
  const { jdoc, w2j, j2w } = syncUntilQuiet(walk, new SyncState(), A.init(), A.initSyncState());

  assert.deepEqual(sortedHeads(A.getHeads(jdoc)), sortedHeads(walk.heads()));
  assert.equal(jdoc.kind.toString(), "walk");
  assert.equal(jdoc.title, "Sync-ronde");
  assert.deepEqual(Object.keys(jdoc.observations).sort(), [...ids].sort());
  assert.equal(jdoc.observations[ids[2]].text, "Afval 2");
  assert.ok(w2j >= 1 && j2w >= 1, "messages went both ways");
});

test("concurrent edits on both sides converge to the same heads and content", () => {
  const { catalog, walk, ids } = walkWithObservations(2);
  let { jdoc } = syncUntilQuiet(walk, new SyncState(), A.init(), A.initSyncState());

  // Offline on both sides: wasm adds one and edits a text, JS adds one and edits the same text.
  const wasmObs = walk.addObservation(
    catalog,
    { category: "positief_signaal", severity: "informatief", text: "Buurtpreventie actief" },
    { at: T0 + 10_000 },
  );
  walk.spliceText(ids[0], "Afval 0".length, 0, " bij de glasbak", { at: T0 + 10_000 });
  const jsObs = "8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5968";
  jdoc = A.change(jdoc, (d) => {
    d.observations[jsObs] = {
      created_at: new Date(T0 + 11_000),
      created_by: new A.ImmutableString("js-client"),
      category: new A.ImmutableString("drugs"),
      severity: new A.ImmutableString("zorgelijk"),
      text: "Spuiten gevonden",
      photos: [],
      follow_up: {},
      feedback: { needed: false },
    };
    A.splice(d, ["observations", ids[0], "text"], 0, 0, "Veel ");
  });

  ({ jdoc } = syncUntilQuiet(walk, new SyncState(), jdoc, A.initSyncState()));

  assert.deepEqual(sortedHeads(A.getHeads(jdoc)), sortedHeads(walk.heads()));
  const rows = Object.fromEntries(walk.project().map((r) => [r.item_id, r]));
  assert.deepEqual(Object.keys(rows).sort(), [...ids, wasmObs, jsObs].sort());
  assert.equal(rows[ids[0]].text, "Veel Afval 0 bij de glasbak");
  assert.equal(jdoc.observations[ids[0]].text, "Veel Afval 0 bij de glasbak");
  assert.equal(rows[jsObs].severity, "zorgelijk");
  assert.equal(jdoc.observations[wasmObs].text, "Buurtpreventie actief");
});

test("after lost messages a reconnect with fresh sync states still converges", () => {
  const { catalog, walk } = walkWithObservations(1);
  // Every message from wasm to JS is lost on the first connection.
  let { jdoc } = syncUntilQuiet(walk, new SyncState(), A.init(), A.initSyncState(), (dir) => dir !== "w2j");
  assert.notDeepEqual(sortedHeads(A.getHeads(jdoc)), sortedHeads(walk.heads()));

  walk.addObservation(catalog, { category: "brandjes", severity: "urgent", text: "Container in brand" }, { at: T0 + 5 });
  ({ jdoc } = syncUntilQuiet(walk, new SyncState(), jdoc, A.initSyncState()));
  assert.deepEqual(sortedHeads(A.getHeads(jdoc)), sortedHeads(walk.heads()));
  assert.equal(Object.keys(jdoc.observations).length, 2);
});

test("a sync state saved with encode() and restored with decode() resumes without resending everything", () => {
  const { catalog, walk } = walkWithObservations(5);
  const wstate = new SyncState();
  let { jdoc, jstate } = syncUntilQuiet(walk, wstate, A.init(), A.initSyncState());
  const bytesAfterFirstSync = A.save(jdoc).length;

  // Both sides persist their state (as across an app restart), then one more edit.
  const restored = SyncState.decode(wstate.encode());
  jstate = A.decodeSyncState(A.encodeSyncState(jstate));
  walk.addObservation(catalog, { category: "verkeer", severity: "aandacht", text: "Hardrijders" }, { at: T0 + 99 });

  let w2jBytes = 0;
  const first = walk.generateSyncMessage(restored);
  assert.ok(first instanceof Uint8Array);
  w2jBytes += first.length;
  [jdoc, jstate] = A.receiveSyncMessage(jdoc, jstate, first);
  ({ jdoc } = syncUntilQuiet(walk, restored, jdoc, jstate));

  assert.deepEqual(sortedHeads(A.getHeads(jdoc)), sortedHeads(walk.heads()));
  assert.equal(Object.keys(jdoc.observations).length, 6);
  // The first message after restoring only announces heads; it carries no full document.
  assert.ok(w2jBytes < bytesAfterFirstSync, `first message ${w2jBytes} bytes < document ${bytesAfterFirstSync} bytes`);
});

test("a corrupt sync message or sync state is refused with a stable code", () => {
  const { walk } = walkWithObservations(0);
  const e1 = thrown(() => walk.receiveSyncMessage(new SyncState(), new Uint8Array([0x42, 1, 2, 3])));
  assert.ok(e1 instanceof Error);
  assert.equal(e1.code, "invalid_sync_message");
  const e2 = thrown(() => SyncState.decode(new Uint8Array([0xff, 0xff])));
  assert.equal(e2.code, "invalid_sync_message");
  // The document is untouched and still syncs.
  const { jdoc } = syncUntilQuiet(walk, new SyncState(), A.init(), A.initSyncState());
  assert.deepEqual(sortedHeads(A.getHeads(jdoc)), sortedHeads(walk.heads()));
});
