// A real `wijklog serve` for the node tests that talk to the server: started
// from $WIJKLOG_BIN (default target/debug/wijklog) on 127.0.0.1 port 0 with a
// fresh data directory and its accounts, logins over REST, and sync sockets
// speaking docs/sync-protocol.md. Only `ws` and node itself: the clients built
// on it stay third-party clients of the documented protocol.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import WebSocket from "ws";
import { spawnServe } from "../e2e/serve.mjs";

export const ROOT = resolve(import.meta.dirname, "../..");
export const BIN = process.env.WIJKLOG_BIN ?? join(ROOT, "target/debug/wijklog");
/** The Rust client that prints a document's projection (tests/src/bin/sync_dump.rs). */
export const DUMP = process.env.WIJKLOG_SYNC_DUMP_BIN ?? join(ROOT, "target/debug/sync_dump");
/** The password of every account made here. */
export const PASSWORD = "node-test-wachtwoord-lang";

/** The 16 bytes of a UUID: the prefix of a binary sync frame. */
export const uuidBytes = (id) => Buffer.from(id.replaceAll("-", ""), "hex");

/**
 * Starts a server whose data directory holds `users` (`[username, role, team]`,
 * team `null` for none; password PASSWORD), killed and deleted after test `t`.
 * Returns `{ child, port, base, data }` (`data`: the data directory).
 */
export async function serveWith(t, users) {
  assert.ok(existsSync(BIN), `${BIN} missing: run cargo build -p wijklog-server --bin wijklog`);
  const data = mkdtempSync(join(tmpdir(), "wijklog-node-"));
  for (const [name, role, team] of users) {
    const teamArgs = team ? ["--team", team] : [];
    execFileSync(BIN, ["user", "add", "--username", name, "--role", role, ...teamArgs, "--data", data], {
      input: `${PASSWORD}\n`,
    });
  }
  const { child, port } = await spawnServe(BIN, { data, staticDir: data });
  t.after(() => {
    child.kill("SIGKILL");
    rmSync(data, { recursive: true, force: true });
  });
  return { child, port, base: `http://127.0.0.1:${port}`, data };
}

/** `POST /api/v1/auth/login`; the tokens (fails the test unless 200). */
export async function login(base, username) {
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD, device_name: "node" }),
  });
  assert.equal(r.status, 200);
  return r.json();
}

/**
 * One authenticated sync socket: `next(ms)` gives the next frame
 * (`{ json }` or `{ bin }`; throws when the server closed or after `ms`),
 * `ready` is the ready frame.
 */
export async function connect(port, token) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/sync`);
  const inbox = [];
  let wake = () => {};
  let closed = null;
  ws.on("message", (data, isBinary) => {
    inbox.push(isBinary ? { bin: Buffer.from(data) } : { json: JSON.parse(data.toString()), text: data.toString() });
    wake();
  });
  ws.on("close", (code) => {
    closed = code;
    wake();
  });
  ws.on("error", () => {});
  await new Promise((r) => ws.on("open", r));
  const next = async (ms = 20000) => {
    const deadline = Date.now() + ms;
    while (inbox.length === 0) {
      if (closed !== null) throw new Error(`connection closed (${closed})`);
      if (Date.now() > deadline) throw new Error("timed out waiting for the server");
      await new Promise((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
    return inbox.shift();
  };
  ws.send(JSON.stringify({ type: "auth", token }));
  const ready = (await next()).json;
  assert.equal(ready.type, "ready");
  return { ws, next, ready };
}
