// App over the real sync client, the real encrypted store (fake-indexeddb)
// and a fake WebSocket (vitest runs in node): what `subscribe` promises when
// the server refuses (`forbidden`, `not_found`) or does not answer in time,
// and that the documents leaving the sync scope outlive a reload.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { App, SUBSCRIBE_TIMEOUT_MS, SubscribeError } from './app';
import { LocalStore } from './store/db';
import { loadWasmForTests, newCatalog, syncDocs } from './testing/wasm';
import type { Session } from './sync/auth';

class FakeSocket {
  static all: FakeSocket[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  readyState = FakeSocket.CONNECTING;
  binaryType = 'blob';
  sent: unknown[] = [];
  closed: { code: number; reason: string } | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(d: unknown) {
    this.sent.push(d);
  }
  close(code: number, reason: string) {
    this.closed = { code, reason };
  }
  /** The JSON text frames the app sent, after `auth`. */
  texts(): { type: string; doc?: string }[] {
    return this.sent
      .filter((d): d is string => typeof d === 'string')
      .map((d) => JSON.parse(d) as { type: string; doc?: string })
      .filter((m) => m.type !== 'auth');
  }
}

const USER = { id: 'coord-1', name: 'Cora', roles: ['coordinator'], team: null };
const WALK = '3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const GONE = '7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d';
const SESSION: Session = { accessToken: 'not-a-jwt', accessExp: Date.now() + 3_600_000, refreshToken: 'r', user: USER, deviceId: 'dev-1' };

const g = globalThis as Record<string, unknown>;
const saved: Record<string, unknown> = {};
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};

beforeAll(loadWasmForTests);
beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  for (const k of ['window', 'document', 'WebSocket', 'location']) saved[k] = g[k];
  g.window = new EventTarget();
  g.document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  g.WebSocket = FakeSocket;
  g.location = { protocol: 'http:', host: '127.0.0.1:1' };
  FakeSocket.all = [];
});
afterEach(() => {
  vi.useRealTimers();
  for (const k of Object.keys(saved)) g[k] = saved[k];
});

/** A logged-in app as after a reload (`boot`: session and stored state read back), its socket not answered yet. */
async function bootApp(): Promise<{ app: App; ws: FakeSocket }> {
  const app = new App();
  await app.boot();
  await flush();
  const ws = FakeSocket.all.at(-1)!;
  ws.readyState = FakeSocket.OPEN;
  ws.onopen?.();
  return { app, ws };
}

/** A first login: the store holds the session, then the app boots from it. */
async function loggedIn(): Promise<void> {
  const store = await LocalStore.open();
  await store.putMeta('session', SESSION);
}

/** Stop the app's sync client (its watchdog timer). */
function stop(app: App): void {
  (app as unknown as { client: { stop(): void } | null }).client?.stop();
}

async function recv(ws: FakeSocket, m: unknown): Promise<void> {
  ws.onmessage?.({ data: JSON.stringify(m) });
  await flush();
}

const ready = (docs: string[]) => ({ type: 'ready', protocol: 4, user: USER, docs: docs.map((id) => ({ id, kind: 'walk', heads: [], epoch: 0 })) });

async function rejection(p: Promise<void>): Promise<SubscribeError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SubscribeError);
    return e as SubscribeError;
  }
  throw new Error('subscribe resolved');
}

describe('App.subscribe', () => {
  it('forbidden / not_found: rejects with the code, keeps it until the next connection, and does not ask again meanwhile', async () => {
    await loggedIn();
    const { app, ws } = await bootApp();
    await recv(ws, ready([]));
    expect(app.conn).toBe('online');

    const refused = app.subscribe(WALK);
    const missing = app.subscribe(GONE);
    expect(app.subscribePending(WALK)).toBe(true);
    // Concurrent calls share one request.
    expect(app.subscribe(WALK)).toBe(refused);
    expect(ws.texts()).toEqual([
      { type: 'subscribe', doc: WALK },
      { type: 'subscribe', doc: GONE },
    ]);
    const refusedWhy = rejection(refused);
    const missingWhy = rejection(missing);
    await recv(ws, { type: 'error', doc: WALK, code: 'forbidden', message: 'you may not access this document' });
    await recv(ws, { type: 'error', doc: GONE, code: 'not_found', message: 'no such document' });
    expect((await refusedWhy).code).toBe('forbidden');
    expect((await missingWhy).code).toBe('not_found');
    expect(app.subscribePending(WALK)).toBe(false);
    expect(app.subscribeErrors.get(WALK)).toBe('forbidden');
    expect(app.subscribeErrors.get(GONE)).toBe('not_found');
    expect(app.docs.get(WALK)?.kind() ?? null).toBeNull();

    // A screen that asks on every render does not ask the server again on this connection.
    app.requestDoc(WALK);
    app.requestDoc(WALK);
    expect(ws.texts()).toHaveLength(2);

    // A new connection clears the refusals: it may be tried again.
    ws.onclose?.({ code: 1006 });
    await flush();
    expect(app.conn).toBe('offline');
    app.auth.restore(SESSION);
    (app as unknown as { client: { connectNow(): void } }).client.connectNow();
    await flush();
    const next = FakeSocket.all.at(-1)!;
    expect(next).not.toBe(ws);
    next.readyState = FakeSocket.OPEN;
    next.onopen?.();
    await recv(next, ready([]));
    expect(app.subscribeErrors.size).toBe(0);
    app.requestDoc(WALK);
    expect(next.texts()).toEqual([{ type: 'subscribe', doc: WALK }]);
    stop(app);
  });

  it(`no answer within ${SUBSCRIBE_TIMEOUT_MS / 1000} s: rejects 'offline', listed in subscribeErrors; a dropped connection rejects at once`, async () => {
    await loggedIn();
    const { app, ws } = await bootApp();
    await recv(ws, ready([]));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const waiting = app.subscribe(WALK);
    let settled = false;
    const why = rejection(waiting).finally(() => (settled = true));
    vi.advanceTimersByTime(SUBSCRIBE_TIMEOUT_MS - 1);
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(app.subscribePending(WALK)).toBe(true);
    vi.advanceTimersByTime(1);
    expect((await why).code).toBe('offline');
    expect(app.subscribePending(WALK)).toBe(false);
    expect(app.subscribeErrors.get(WALK)).toBe('offline');
    vi.useRealTimers();

    // A subscribe whose connection drops is not left waiting for 30 s.
    const other = rejection(app.subscribe(GONE));
    ws.onclose?.({ code: 1006 });
    expect((await other).code).toBe('offline');
    // Offline: rejected at once, nothing sent.
    const sentBefore = ws.sent.length;
    expect((await rejection(app.subscribe(GONE))).code).toBe('offline');
    expect(ws.sent.length).toBe(sentBefore);
    stop(app);
  });
});

describe('App and the documents leaving the scope', () => {
  it('"Klaar" while offline is stored: after a reload the next connection unsubscribes the document', async () => {
    await loggedIn();
    const first = await bootApp();
    await recv(first.ws, ready([WALK]));
    // The connection goes; the coordinator says "Klaar" for the walk meanwhile.
    first.ws.onclose?.({ code: 1006 });
    await flush();
    first.app.finish(WALK);
    expect(first.app.isLeaving(WALK)).toBe(true);
    await first.app.flush();
    expect(first.ws.texts()).toEqual([]);
    stop(first.app);

    // Reload: a new app over the same database.
    const { app, ws } = await bootApp();
    expect(app.isLeaving(WALK)).toBe(true);
    await recv(ws, ready([WALK]));
    expect(ws.texts()).toEqual([{ type: 'unsubscribe', doc: WALK }]);
    await recv(ws, { type: 'unscope', doc: WALK });
    expect(app.isLeaving(WALK)).toBe(false);
    expect(app.wasEvicted(WALK)).toBe(false); // it never had content here
    await app.flush();
    // And that is stored too: a further reload has nothing left to do.
    const store = await LocalStore.open();
    expect(await store.getMeta('leaving')).toEqual([]);
    stop(app);
  });

  it('"Klaar" with an unacked edit outlives a reload: the new page still says so, and unsubscribes once the edit is acked', async () => {
    await loggedIn();
    const first = await bootApp();
    await recv(first.ws, ready([]));
    // The catalog arrives as from the server; the coordinator has a walk with a change the server has not acked.
    const CATALOG = '0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e';
    const server = newCatalog(CATALOG, 'admin-1');
    await first.app.repo.announced({ id: CATALOG, kind: 'catalog', heads: server.heads(), epoch: 0 });
    await first.app.repo.applyRemote(CATALOG, (doc) => syncDocs(server, doc));
    server.free();
    const walk = await first.app.newWalk({ title: 'Ronde', wijk: 'centrum', team: 'team-oost' });
    expect(first.app.pending.get(walk)).toBeGreaterThan(0);
    first.app.finish(walk);
    expect(first.app.finishedHere(walk)).toBe(true);
    await first.app.flush();
    stop(first.app);

    // Reload before the ack: the new page knows the user said "Klaar" (the screens show it, not the editors).
    const { app, ws } = await bootApp();
    expect(app.finishedHere(walk)).toBe(true);
    expect(app.isLeaving(walk)).toBe(true);
    // The server has the walk (the page went before its ack came).
    await recv(ws, ready([walk]));
    expect(ws.texts()).toEqual([]);
    // The server acks the change: then `unsubscribe`, then its `unscope` takes the walk off the device.
    await recv(ws, { type: 'ack', doc: walk, heads: app.docs.get(walk)!.heads() });
    // The ack is stored (encrypted) before the client goes on: wait for the frame rather than for a number of ticks.
    await vi.waitFor(() => expect(ws.texts()).toEqual([{ type: 'unsubscribe', doc: walk }]));
    await recv(ws, { type: 'unscope', doc: walk });
    await vi.waitFor(() => expect(app.docs.has(walk)).toBe(false));
    await app.flush();
    expect(app.finishedHere(walk)).toBe(false);
    const store = await LocalStore.open();
    expect(await store.getMeta('finished')).toEqual([]);
    stop(app);
  });

  it('"Klaar" of a document the server keeps (`kept`): no longer finished, the reason is kept for the screens, and a reload does not finish it again', async () => {
    await loggedIn();
    const { app, ws } = await bootApp();
    await recv(ws, ready([]));
    const CATALOG = '0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e';
    const server = newCatalog(CATALOG, 'admin-1');
    await app.repo.announced({ id: CATALOG, kind: 'catalog', heads: server.heads(), epoch: 0 });
    await app.repo.applyRemote(CATALOG, (doc) => syncDocs(server, doc));
    server.free();
    const walk = await app.newWalk({ title: 'Geplande ronde', wijk: 'centrum', team: 'team-oost' });
    await recv(ws, { type: 'ack', doc: walk, heads: app.docs.get(walk)!.heads() });
    app.finish(walk);
    await vi.waitFor(() => expect(ws.texts()).toEqual([{ type: 'unsubscribe', doc: walk }]));
    expect(app.finishedHere(walk)).toBe(true);
    await recv(ws, { type: 'kept', doc: walk, reason: 'planned' });
    await vi.waitFor(() => expect(app.finishedHere(walk)).toBe(false));
    expect(app.keptReason(walk)).toBe('planned');
    expect(app.isLeaving(walk)).toBe(false);
    expect(app.docs.has(walk)).toBe(true);
    await app.flush();
    const store = await LocalStore.open();
    expect(await store.getMeta('finished')).toEqual([]);
    expect(await store.getMeta('leaving')).toEqual([]);
    // Pressing "Klaar" again asks again.
    app.finish(walk);
    expect(app.keptReason(walk)).toBeNull();
    await vi.waitFor(() => expect(ws.texts()).toEqual([
      { type: 'unsubscribe', doc: walk },
      { type: 'unsubscribe', doc: walk },
    ]));
    stop(app);
  });
});
