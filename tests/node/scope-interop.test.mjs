// The sync scope with a third-party client: built only on the official
// @automerge/automerge package, the `ws` library and docs/sync-protocol.md
// (version 5). A boa's client creates a walk and unsubscribes it: it stays in
// her scope, and the server says why (`kept`, `member`); a coordinator's
// client does not get it in `ready`, subscribes it (`doc`, then the usual
// sync), edits it until acked, unsubscribes (`unscope`); the Rust client
// (tests/src/bin/sync_dump.rs) then reads the coordinator's edit from the
// server as the boa.
//
// The server is started from $WIJKLOG_BIN (default target/debug/wijklog) with
// --data in a temp dir and --bind 127.0.0.1:0.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { randomUUID } from "node:crypto";
import * as A from "@automerge/automerge";
import { DUMP, connect, login, serveWith, uuidBytes } from "./server.mjs";

/** Runs the automerge sync loop for one document until `done(doc, frame)` holds. */
async function syncUntil(conn, id, doc, state, done) {
  const send = () => {
    const [s, msg] = A.generateSyncMessage(doc, state);
    state = s;
    if (msg) conn.ws.send(Buffer.concat([uuidBytes(id), Buffer.from(msg)]));
  };
  send();
  for (;;) {
    const item = await conn.next();
    if (item.bin) {
      assert.deepEqual(item.bin.subarray(0, 16), uuidBytes(id));
      [doc, state] = A.receiveSyncMessage(doc, state, new Uint8Array(item.bin.subarray(16)));
      send();
    } else if (item.json.type === "error") {
      assert.fail(`server error ${item.json.code}: ${item.json.message}`);
    }
    if (done(doc, item)) return { doc, state };
  }
}

test("a third-party client subscribes a document outside its scope, edits it and unsubscribes", async (t) => {
  assert.ok(existsSync(DUMP), `${DUMP} missing: run cargo build --workspace --bins`);
  const { port, base } = await serveWith(t, [
    ["nina", "boa", "noord"],
    ["carla", "coordinator", null],
  ]);

  // Nina's walk, in the contract shape of docs/data-model.md.
  const nina = await login(base, "nina");
  const walkId = randomUUID();
  const obs = randomUUID();
  let walk = A.from({
    kind: "walk",
    schema: 1,
    title: "Scope-ronde",
    route: "",
    summary: "",
    wijk: "oostermeent",
    team: "noord",
    created_by: nina.user.id,
    participants: {},
    observations: {},
  });
  walk = A.change(walk, (d) => {
    d.observations[obs] = {
      created_at: new Date(),
      created_by: nina.user.id,
      category: "jeugdoverlast",
      severity: "aandacht",
      text: "vanuit node",
      photos: [],
      follow_up: {},
      feedback: { needed: false },
    };
  });
  const n = await connect(port, nina.access_token);
  assert.equal(n.ready.protocol, 5);
  const ninaHeads = A.getHeads(walk).slice().sort().join();
  await syncUntil(n, walkId, walk, A.initSyncState(), (_, item) =>
    item.json?.type === "ack" && item.json.heads.slice().sort().join() === ninaHeads,
  );
  // She created it: unsubscribing leaves it in her scope, and the answer says why, in exactly these bytes.
  n.ws.send(JSON.stringify({ type: "unsubscribe", doc: walkId }));
  let answer;
  do answer = await n.next();
  while (answer.bin);
  assert.equal(answer.text, `{"type":"kept","doc":"${walkId}","reason":"member"}`);
  n.ws.close();

  // The coordinator: not in ready; subscribe gives `doc`, then the sync.
  const carla = await login(base, "carla");
  const c = await connect(port, carla.access_token);
  assert.ok(!c.ready.docs.some((d) => d.id === walkId), "a coordinator holds only what they open");
  c.ws.send(JSON.stringify({ type: "subscribe", doc: walkId }));
  const announced = (await c.next()).json;
  assert.equal(announced.type, "doc");
  assert.equal(announced.id, walkId);
  assert.equal(announced.kind, "walk");
  assert.deepEqual(announced.heads.slice().sort().join(), ninaHeads);
  let mine = A.init();
  let state = A.initSyncState();
  ({ doc: mine, state } = await syncUntil(c, walkId, mine, state, (d) => d.observations?.[obs]?.text === "vanuit node"));

  // Edit until acked.
  mine = A.change(mine, (d) => {
    d.observations[obs].category = "verkeer";
  });
  const editHeads = A.getHeads(mine).slice().sort().join();
  ({ doc: mine, state } = await syncUntil(c, walkId, mine, state, (_, item) =>
    item.json?.type === "ack" && item.json.heads.slice().sort().join() === editHeads,
  ));

  // Unsubscribe: `unscope`.
  c.ws.send(JSON.stringify({ type: "unsubscribe", doc: walkId }));
  let item;
  do item = await c.next();
  while (item.bin);
  assert.deepEqual(item.json, { type: "unscope", doc: walkId });
  c.ws.close();

  // The server holds the coordinator's edit (read back as Nina by the Rust client).
  const again = await login(base, "nina");
  const rows = JSON.parse(execFileSync(DUMP, [base, again.access_token, walkId], { encoding: "utf8" }));
  assert.equal(rows.length, 1);
  assert.equal(rows[0].category, "verkeer");
  assert.equal(rows[0].text, "vanuit node");
});
