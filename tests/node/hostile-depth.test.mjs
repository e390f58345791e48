// A hostile client on the official @automerge/automerge package: one
// ordinary `change` that nests maps 1,000 deep, sent to a real
// `wijklog serve`. Before the depth bound, projecting it overflowed the
// server's stack and killed the process (a ~600-byte frame, repeatable after
// every restart). Now the server refuses it with `too_deep`
// (docs/sync-protocol.md §4), nothing of it is stored, and the same client
// keeps syncing other documents.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as A from "@automerge/automerge";
import { connect, login, serveWith, uuidBytes } from "./server.mjs";

/** Syncs `doc` as `id` until an ack covers its heads or an error comes. */
async function sync(conn, id, doc, sent = []) {
  let state = A.initSyncState();
  const send = () => {
    const [s, msg] = A.generateSyncMessage(doc, state);
    state = s;
    if (msg) {
      sent.push(msg.length + 16);
      conn.ws.send(Buffer.concat([uuidBytes(id), Buffer.from(msg)]));
    }
  };
  send();
  const heads = A.getHeads(doc).slice().sort().join();
  for (;;) {
    const item = await conn.next();
    if (item.bin) {
      [doc, state] = A.receiveSyncMessage(doc, state, new Uint8Array(item.bin.subarray(16)));
      send();
    } else if (item.json.type === "ack" && item.json.doc === id) {
      if ([...item.json.heads].sort().join() === heads) return { acked: true };
    } else if (item.json.type === "error") {
      return { error: item.json.code, doc: item.json.doc };
    }
  }
}

function newWalk(me) {
  return A.from({
    kind: "walk",
    schema: 1,
    title: "Avondronde",
    route: "",
    summary: "",
    wijk: "oostermeent",
    team: "noord",
    created_by: me,
    participants: {},
    observations: {},
  });
}

test("a change nesting maps 1,000 deep is refused with too_deep and the server keeps serving", async (t) => {
  const { child, port, base } = await serveWith(t, [["mal", "boa", "noord"]]);
  const tokens = await login(base, "mal");
  const me = tokens.user.id;

  const conn = await connect(port, tokens.access_token);
  const walkId = randomUUID();
  let doc = newWalk(me);
  assert.deepEqual(await sync(conn, walkId, doc), { acked: true });

  // One ordinary change: a map nested 1,000 levels deep.
  let deep = {};
  for (let i = 0; i < 1000; i++) deep = { x: deep };
  const attacked = A.change(A.clone(doc), (d) => {
    d.deep = deep;
  });
  const sent = [];
  const answer = await sync(conn, walkId, attacked, sent);
  assert.deepEqual(answer, { error: "too_deep", doc: walkId });
  assert.ok(Math.max(...sent) < 20000, `small frames: ${sent}`);

  // The process is alive and the same client syncs a new walk.
  assert.equal(child.exitCode, null, "wijklog serve is still running");
  const other = randomUUID();
  assert.deepEqual(await sync(conn, other, newWalk(me)), { acked: true });
  conn.ws.close();

  // Nothing of the deep change was stored: a fresh client gets the walk without it.
  const fresh = await connect(port, tokens.access_token);
  let copy = A.init();
  let state = A.initSyncState();
  const send = () => {
    const [s, msg] = A.generateSyncMessage(copy, state);
    state = s;
    if (msg) fresh.ws.send(Buffer.concat([uuidBytes(walkId), Buffer.from(msg)]));
  };
  send();
  while (A.getHeads(copy).slice().sort().join() !== A.getHeads(doc).slice().sort().join()) {
    const item = await fresh.next();
    if (item.bin) {
      [copy, state] = A.receiveSyncMessage(copy, state, new Uint8Array(item.bin.subarray(16)));
      send();
    }
  }
  assert.equal(copy.deep, undefined);
  assert.equal(copy.kind, "walk");
  fresh.ws.close();
});
