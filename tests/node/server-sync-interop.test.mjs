// Interop with the sync server: a client built only on the official
// @automerge/automerge package, the `ws` WebSocket library and the documented
// protocol (docs/sync-protocol.md) logs in over REST, creates a walk in the
// contract shape, adds observations, syncs until acked; then a Rust client
// (tests/src/bin/sync_dump.rs) fetches the walk from the server and its
// projection shows the observations.
//
// The server is started here from $WIJKLOG_BIN (default target/debug/wijklog)
// with --data in a temp dir and --bind 127.0.0.1:0.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { randomUUID } from "node:crypto";
import * as A from "@automerge/automerge";
import { DUMP, connect, login, serveWith, uuidBytes } from "./server.mjs";

test("a node client on @automerge/automerge syncs a walk that a Rust client then sees", async (t) => {
  assert.ok(existsSync(DUMP), `${DUMP} missing: run cargo build --workspace --bins`);
  const { port, base } = await serveWith(t, [["nina", "boa", "noord"]]);
  const tokens = await login(base, "nina");
  const me = tokens.user.id;

  // The walk, written directly in the contract shape of docs/data-model.md.
  const walkId = randomUUID();
  const now = Date.now();
  let doc = A.from({
    kind: "walk",
    schema: 1,
    title: "Interop-ronde",
    route: "",
    summary: "",
    wijk: "oostermeent",
    team: "noord",
    created_by: me,
    participants: {},
    observations: {},
  });
  const obsIds = [randomUUID(), randomUUID()];
  obsIds.forEach((oid, i) => {
    doc = A.change(doc, (d) => {
      d.observations[oid] = {
        created_at: new Date(now + i),
        created_by: me,
        category: "jeugdoverlast",
        severity: "aandacht",
        text: `vanuit node ${i}`,
        photos: [],
        follow_up: {},
        feedback: { needed: false },
      };
    });
  });

  const { ws, next, ready } = await connect(port, tokens.access_token);
  assert.equal(ready.user.id, me);

  let state = A.initSyncState();
  const send = () => {
    const [s, msg] = A.generateSyncMessage(doc, state);
    state = s;
    if (msg) ws.send(Buffer.concat([uuidBytes(walkId), Buffer.from(msg)]));
  };
  send();
  const heads = A.getHeads(doc).slice().sort();
  let acked = false;
  while (!acked) {
    const item = await next();
    if (item.bin) {
      assert.deepEqual(item.bin.subarray(0, 16), uuidBytes(walkId));
      [doc, state] = A.receiveSyncMessage(doc, state, new Uint8Array(item.bin.subarray(16)));
      send();
    } else if (item.json.type === "ack") {
      assert.equal(item.json.doc, walkId);
      acked = [...item.json.heads].sort().join() === heads.join();
    } else if (item.json.type === "error") {
      assert.fail(`server error ${item.json.code}: ${item.json.message}`);
    }
  }
  ws.close();

  // A Rust client sees the walk and both observations.
  const out = execFileSync(DUMP, [base, tokens.access_token, walkId], { encoding: "utf8" });
  const rows = JSON.parse(out);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows.map((r) => r.text).sort(), ["vanuit node 0", "vanuit node 1"]);
  for (const r of rows) {
    assert.equal(r.category, "jeugdoverlast");
    assert.equal(r.severity, "aandacht");
    assert.equal(r.created_by, me);
    assert.ok(obsIds.includes(r.item_id));
  }
});
