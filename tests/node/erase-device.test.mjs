// A device and an erasure, against a real `wijklog serve`: the app's own
// document model (the wasm build, as the PWA uses it) holds a spreekuur with
// marker strings in a note, syncs it, goes offline and keeps editing (a new
// note, and a correction of the note that is about to be erased). A
// coordinator erases that note over REST. When the device comes back,
// `ready` announces the new epoch; the device fetches the rewritten history
// (GET /api/v1/docs/{id}/history), replaces its copy with `replaceHistory`
// and syncs again: its new note reaches the server, its edit of the erased
// note is dropped and reported, and no marker is in the device's copy (its
// full history decoded with @automerge/automerge) or on the server. A
// client that ignores epochs and sends the old history gets
// `document_rewritten` and changes nothing (docs/sync-protocol.md §5a).
//
// The server is started from $WIJKLOG_BIN (default target/debug/wijklog) with
// --data in a temp dir and --bind 127.0.0.1:0.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as A from "@automerge/automerge";
import { WijkDoc, SyncState } from "./wasm.mjs";
import { connect, login, serveWith, uuidBytes } from "./server.mjs";

const NAME = "Markeernaam Qwzx";
const PHONE = "06 9182 7364";
const TEXT = "Markeertekst Plokj over de buren";
const OFFLINE = "Offlinezin Mnbv";
const KEEP = "Blijftstaan Rtzu";
const NEW_NOTE = "Nieuwenotitie Lkjh";
const MARKERS = [NAME, PHONE, TEXT, "Plokj", OFFLINE, "Mnbv"];

/** The wasm document's sync loop until the server acks every head it has. */
async function syncUntilAcked(conn, id, doc) {
  const state = new SyncState();
  const send = () => {
    for (;;) {
      const msg = doc.generateSyncMessage(state);
      if (!msg) break;
      conn.ws.send(Buffer.concat([uuidBytes(id), Buffer.from(msg)]));
    }
  };
  send();
  for (;;) {
    const item = await conn.next();
    if (item.bin) {
      if (!item.bin.subarray(0, 16).equals(uuidBytes(id))) continue;
      doc.receiveSyncMessage(state, new Uint8Array(item.bin.subarray(16)));
      send();
    } else if (item.json.type === "error") {
      assert.fail(`server error ${item.json.code}: ${item.json.message}`);
    } else if (item.json.type === "ack" && item.json.doc === id) {
      const want = doc.heads().slice().sort().join();
      if (item.json.heads.slice().sort().join() === want) break;
    }
  }
  state.free();
}

/**
 * The whole history of automerge bytes, read with @automerge/automerge: every
 * change decoded, and the document as it was after each change (so text
 * typed one character per operation reads as the words it formed).
 */
function historyText(bytes) {
  const doc = A.load(bytes);
  let out = "";
  for (const c of A.getAllChanges(doc)) {
    const change = A.decodeChange(c);
    out += JSON.stringify(change) + "\n";
    out += JSON.stringify(A.view(doc, [change.hash])) + "\n";
  }
  return out;
}

function markersIn(text) {
  return MARKERS.filter((m) => text.includes(m));
}

async function fetchHistory(base, token, id) {
  const r = await fetch(`${base}/api/v1/docs/${id}/history`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, await r.clone().text());
  return { epoch: Number(r.headers.get("x-wijklog-epoch")), bytes: new Uint8Array(await r.arrayBuffer()) };
}

test("a device that was offline during an erasure replaces its copy, keeps its new edits and holds no erased value", async (t) => {
  const { port, base } = await serveWith(t, [
    ["sara", "spreekuur", "noord"],
    ["cora", "coordinator", null],
  ]);

  // Sara's device: a session held today with a note full of markers and one to keep.
  const sara = await login(base, "sara");
  const id = randomUUID();
  const cat = WijkDoc.newCatalog(randomUUID(), sara.user.id);
  const doc = WijkDoc.newSpreekuur(id, cat, sara.user.id, { location: "Buurthuis", wijk: "centrum", held_on: Date.now(), team: "noord" });
  const erased = doc.addNote(cat, { category: "woonoverlast", severity: "aandacht", text: TEXT, place: "Markeerplein" });
  doc.setResidentContact(erased, { name: NAME, phone: PHONE, consent: true });
  const kept = doc.addNote(cat, { category: "verkeer", severity: "informatief", text: KEEP });
  let conn = await connect(port, sara.access_token);
  assert.equal(conn.ready.protocol, 5);
  await syncUntilAcked(conn, id, doc);
  conn.ws.close();

  // Offline: a new note, and a correction of the note that is being erased.
  const fresh = doc.addNote(cat, { category: "verkeer", severity: "aandacht", text: NEW_NOTE });
  doc.spliceText(erased, 0, 0, `${OFFLINE} `);
  const oldCopy = doc.save();
  assert.deepEqual(markersIn(historyText(oldCopy)).sort(), MARKERS.slice().sort(), "positive control: every marker on the device");

  // The coordinator erases the note.
  const cora = await login(base, "cora");
  const res = await fetch(`${base}/api/v1/items/${id}/${erased}/erase`, {
    method: "POST",
    headers: { authorization: `Bearer ${cora.access_token}`, "content-type": "application/json" },
    body: JSON.stringify({ what: "item", reason: "Verzoek bewoner" }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal((await res.json()).epoch, 1);

  // Back online: ready announces epoch 1 for the session.
  conn = await connect(port, sara.access_token);
  const listed = conn.ready.docs.find((d) => d.id === id);
  assert.ok(listed, "the session is in the device's scope");
  assert.equal(listed.epoch, 1);

  // A client that ignores epochs and sends its old history is refused; nothing stored.
  const third = A.load(oldCopy);
  const [, first] = A.generateSyncMessage(third, A.initSyncState());
  const withChanges = A.encodeSyncMessage({ ...A.decodeSyncMessage(first), changes: A.getAllChanges(third) });
  conn.ws.send(Buffer.concat([uuidBytes(id), Buffer.from(withChanges)]));
  let refused = null;
  while (!refused) {
    const item = await conn.next();
    if (item.json?.type === "error") refused = item.json;
  }
  assert.equal(refused?.code, "document_rewritten");
  conn.ws.close();
  const afterRefusal = await fetchHistory(base, sara.access_token, id);
  assert.deepEqual(markersIn(historyText(afterRefusal.bytes)), [], "nothing of the old history stored");

  // The app's way: fetch the rewritten history and replace the copy.
  const { epoch, bytes } = await fetchHistory(base, sara.access_token, id);
  assert.equal(epoch, 1);
  const done = doc.replaceHistory(bytes);
  assert.equal(done.carried, 2, "the new note and the correction carried over");
  assert.deepEqual(done.droppedOn, [erased]);
  const view = doc.view();
  assert.equal(view.notes[fresh].text, NEW_NOTE);
  assert.equal(view.notes[kept].text, KEEP);
  assert.equal(view.notes[erased].text, "");
  assert.equal(view.notes[erased].erased.item.basis, "verzoek");
  const deviceHistory = historyText(doc.save());
  assert.deepEqual(markersIn(deviceHistory), [], "no erased value in the device's history");
  assert.ok(deviceHistory.includes(NEW_NOTE));

  // Syncing again: the new note reaches the server.
  conn = await connect(port, sara.access_token);
  await syncUntilAcked(conn, id, doc);
  conn.ws.close();
  const server = await fetchHistory(base, sara.access_token, id);
  const serverHistory = historyText(server.bytes);
  assert.deepEqual(markersIn(serverHistory), []);
  assert.ok(serverHistory.includes(NEW_NOTE) && serverHistory.includes(KEEP));
  const item = await fetch(`${base}/api/v1/items/${id}/${fresh}`, { headers: { authorization: `Bearer ${cora.access_token}` } });
  assert.equal(item.status, 200);
  assert.equal((await item.json()).item.text, NEW_NOTE);
  cat.free();
  doc.free();
});
