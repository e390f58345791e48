// SyncClient's reaction to the network coming back, with a fake WebSocket and
// fake window/document event targets (vitest runs in node).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SyncClient, type SyncHost } from './client';
import { encodeFrame } from './frames';

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
}

function host(): SyncHost {
  return {
    localDocIds: () => [],
    docFor: () => {
      throw new Error('no docs in this test');
    },
    accessToken: async () => 'token',
    newSyncState: () => ({ free() {} }) as never,
    onReady: async () => undefined,
    onAnnounce: async () => undefined,
    applyRemote: async () => undefined,
    onAck: async () => undefined,
    onServerError: () => undefined,
    onRevoked: () => undefined,
    onStatus: () => undefined,
    hasPending: () => true,
    paused: () => false,
    pendingOf: () => 0,
    knownToServer: () => false,
    evict: async () => true,
    scopeChanged: () => undefined,
    listsChanged: () => undefined,
    kept: () => undefined,
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));
const g = globalThis as Record<string, unknown>;
const saved: Record<string, unknown> = {};

beforeEach(() => {
  for (const k of ['window', 'document', 'WebSocket']) saved[k] = g[k];
  g.window = new EventTarget();
  g.document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  g.WebSocket = FakeSocket;
  FakeSocket.all = [];
});

afterEach(() => {
  for (const k of Object.keys(saved)) g[k] = saved[k];
});

describe('SyncClient and the "online" event', () => {
  it('drops a socket that was open before the network changed and connects again at once', async () => {
    const c = new SyncClient(host(), 'ws://127.0.0.1:1/api/v1/sync');
    c.start();
    await flush();
    expect(FakeSocket.all).toHaveLength(1);
    const first = FakeSocket.all[0];
    first.readyState = FakeSocket.OPEN;
    first.onopen?.();
    first.onmessage?.({ data: JSON.stringify({ type: 'ready', user: { id: 'u', name: 'U', roles: ['boa'], team: 't' }, docs: [] }) });
    await flush();
    expect(c.isOnline()).toBe(true);

    // The phone loses signal and gets it back: the old socket may look open but is dead.
    window.dispatchEvent(new Event('online'));
    await flush();
    expect(first.closed?.code).toBe(4000);
    expect(FakeSocket.all).toHaveLength(2);
    // A late close event of the dropped socket does not schedule anything or touch the new one.
    first.onclose?.({ code: 1006 });
    await flush();
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeSocket.all[1].closed).toBeNull();
    c.stop();
  });

  it('abandons a connection attempt that hangs and starts a fresh one', async () => {
    const c = new SyncClient(host(), 'ws://127.0.0.1:1/api/v1/sync');
    c.start();
    await flush();
    const hanging = FakeSocket.all[0];
    window.dispatchEvent(new Event('online'));
    await flush();
    expect(hanging.closed).not.toBeNull();
    expect(FakeSocket.all).toHaveLength(2);
    c.stop();
  });

  it('does nothing after stop()', async () => {
    const c = new SyncClient(host(), 'ws://127.0.0.1:1/api/v1/sync');
    c.start();
    await flush();
    c.stop();
    window.dispatchEvent(new Event('online'));
    c.reconnectNow();
    await flush();
    expect(FakeSocket.all).toHaveLength(1);
  });
});

describe('SyncClient and the "offline" event', () => {
  it('drops the open socket and reports offline at once, then keeps saying offline while retrying', async () => {
    const statuses: string[] = [];
    const c = new SyncClient({ ...host(), hasPending: () => false, onStatus: (s) => statuses.push(s) }, 'ws://127.0.0.1:1/api/v1/sync');
    c.start();
    await flush();
    const first = FakeSocket.all[0];
    first.readyState = FakeSocket.OPEN;
    first.onopen?.();
    first.onmessage?.({ data: JSON.stringify({ type: 'ready', user: { id: 'u', name: 'U', roles: ['boa'], team: 't' }, docs: [] }) });
    await flush();
    expect(c.isOnline()).toBe(true);

    const orig = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { onLine: false }, configurable: true });
    try {
      window.dispatchEvent(new Event('offline'));
      expect(first.closed?.code).toBe(4000);
      expect(c.isOnline()).toBe(false);
      expect(statuses.at(-1)).toBe('offline');
      // A retry while the device has no network does not flip to 'connecting'.
      c.connectNow();
      await flush();
      expect(statuses.at(-1)).toBe('offline');
    } finally {
      if (orig) Object.defineProperty(globalThis, 'navigator', orig);
      else delete g.navigator;
      c.stop();
    }
  });
});

describe('SyncClient and a per-document error that says "try again"', () => {
  const DOC = '0b6f2d4e-8a1c-4f3e-9d2a-5c7b1e0f3a69';
  const READY = JSON.stringify({
    type: 'ready',
    user: { id: 'u', name: 'U', roles: ['boa'], team: 't' },
    docs: [{ id: DOC, kind: 'walk', heads: [] }],
  });

  /** A document whose sync state machine sends one message per fresh state (as automerge does when nothing new comes back). */
  function docHost(): { host: SyncHost; statesMade: () => number } {
    let made = 0;
    const h: SyncHost = {
      ...host(),
      localDocIds: () => [DOC],
      docFor: () =>
        ({
          generateSyncMessage: (s: { sent: boolean }) => {
            if (s.sent) return null;
            s.sent = true;
            return new Uint8Array([0x42, 1, 2, 3]);
          },
        }) as never,
      newSyncState: () => {
        made++;
        return { sent: false, free() {} } as never;
      },
      // Nothing pending: the idle watchdog stays out of this test.
      hasPending: () => false,
    };
    return { host: h, statesMade: () => made };
  }

  const framesFor = (s: FakeSocket) => s.sent.filter((d) => d instanceof Uint8Array).length;

  async function connected(h: SyncHost): Promise<{ c: SyncClient; ws: FakeSocket }> {
    const c = new SyncClient(h, 'ws://127.0.0.1:1/api/v1/sync');
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    const ws = FakeSocket.all[0];
    ws.readyState = FakeSocket.OPEN;
    ws.onopen?.();
    ws.onmessage?.({ data: READY });
    await vi.advanceTimersByTimeAsync(0);
    return { c, ws };
  }

  const error = (ws: FakeSocket, code: string) =>
    ws.onmessage?.({ data: JSON.stringify({ type: 'error', doc: DOC, code, message: 'x' }) });

  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('after `internal` resends the document with a fresh sync state on the same socket, with a growing backoff', async () => {
    const { host: h, statesMade } = docHost();
    const { c, ws } = await connected(h);
    expect(framesFor(ws)).toBe(1);
    expect(statesMade()).toBe(1);

    // The commit failed on the server: without a retry the old state counts the changes as sent.
    error(ws, 'internal');
    await vi.advanceTimersByTimeAsync(0);
    expect(framesFor(ws)).toBe(1);
    // The first retry comes within 1 s (backoff attempt 0: 0.5–1 s).
    await vi.advanceTimersByTimeAsync(1000);
    expect(framesFor(ws)).toBe(2);
    expect(statesMade()).toBe(2);
    expect(FakeSocket.all).toHaveLength(1);
    expect(ws.closed).toBeNull();

    // It fails again: the next delay is 1–2 s, so nothing within the first second.
    error(ws, 'internal');
    await vi.advanceTimersByTimeAsync(999);
    expect(framesFor(ws)).toBe(2);
    await vi.advanceTimersByTimeAsync(1001);
    expect(framesFor(ws)).toBe(3);

    // An ack resets the document's backoff: the next failure is retried within 1 s again.
    ws.onmessage?.({ data: JSON.stringify({ type: 'ack', doc: DOC, heads: [] }) });
    await vi.advanceTimersByTimeAsync(0);
    error(ws, 'internal');
    await vi.advanceTimersByTimeAsync(1000);
    expect(framesFor(ws)).toBe(4);
    expect(FakeSocket.all).toHaveLength(1);
    c.stop();
  });

  it('retries a dropped frame (`rate_limited`) the same way, and never a refusal', async () => {
    const { host: h } = docHost();
    const { c, ws } = await connected(h);
    error(ws, 'rate_limited');
    await vi.advanceTimersByTimeAsync(1000);
    expect(framesFor(ws)).toBe(2);
    error(ws, 'forbidden');
    error(ws, 'too_large');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(framesFor(ws)).toBe(2);
    c.stop();
  });

  it('drops a scheduled retry when the socket goes', async () => {
    const { host: h, statesMade } = docHost();
    const { c, ws } = await connected(h);
    error(ws, 'internal');
    ws.onclose?.({ code: 1006 });
    await vi.advanceTimersByTimeAsync(1000);
    // The old socket sends nothing more; only the new connection's attempt exists.
    expect(framesFor(ws)).toBe(1);
    expect(statesMade()).toBe(1);
    c.stop();
  });
});

describe('SyncClient and the sync scope (subscribe, unscope, eviction after the ack)', () => {
  const WALK = '3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
  const OTHER = '7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d';
  const NEW = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';
  const USER = { id: 'u', name: 'U', roles: ['boa'], team: 't' };

  /**
   * A device: documents with a count of local edits; a sync state sends one
   * message per edit count it has not sent yet (as automerge sends new
   * changes). An ack covers everything; eviction is refused while the
   * document is on screen or has unacked changes, as the app does.
   */
  function device() {
    const docs = new Map<string, { edits: number }>();
    const pending = new Map<string, number>();
    const known = new Set<string>();
    const onScreen = new Set<string>();
    const evicted: string[] = [];
    const h: SyncHost = {
      ...host(),
      localDocIds: () => [...docs.keys()],
      docFor: (id) => {
        let d = docs.get(id);
        if (!d) {
          d = { edits: 0 };
          docs.set(id, d);
        }
        const doc = d;
        return {
          generateSyncMessage: (s: { sent: number }) => {
            if (s.sent === doc.edits) return null;
            s.sent = doc.edits;
            return new Uint8Array([0x42, doc.edits]);
          },
        } as never;
      },
      newSyncState: () => ({ sent: -1, free() {} }) as never,
      onAck: async (id) => {
        pending.set(id, 0);
        known.add(id);
      },
      hasPending: () => false,
      pendingOf: (id) => (docs.has(id) ? (pending.get(id) ?? 0) : 0),
      knownToServer: (id) => known.has(id),
      evict: async (id) => {
        if (onScreen.has(id) || (pending.get(id) ?? 0) > 0) return false;
        docs.delete(id);
        evicted.push(id);
        return true;
      },
    };
    /** A document the server confirmed, with `unacked` local edits on top. */
    const hold = (id: string, unacked: number) => {
      docs.set(id, { edits: unacked });
      pending.set(id, unacked);
      known.add(id);
    };
    const edit = (id: string) => {
      docs.get(id)!.edits++;
      pending.set(id, (pending.get(id) ?? 0) + 1);
    };
    return { h, docs, pending, known, onScreen, evicted, hold, edit };
  }

  const sentTexts = (ws: FakeSocket) =>
    ws.sent.filter((d): d is string => typeof d === 'string').map((d) => JSON.parse(d) as { type: string; doc?: string }).filter((m) => m.type !== 'auth');
  const framesOf = (ws: FakeSocket, id: string) =>
    ws.sent.filter((d) => d instanceof Uint8Array && d[0] === parseInt(id.slice(0, 2), 16) && d[1] === parseInt(id.slice(2, 4), 16)).length;
  const recv = async (ws: FakeSocket, m: unknown) => {
    ws.onmessage?.({ data: JSON.stringify(m) });
    await flush();
  };
  const ready = (docs: string[]) => ({ type: 'ready', protocol: 3, user: USER, docs: docs.map((id) => ({ id, kind: 'walk', heads: ['aa'], epoch: 0 })) });

  async function open(h: SyncHost, listed: string[]): Promise<{ c: SyncClient; ws: FakeSocket }> {
    const c = new SyncClient(h, 'ws://127.0.0.1:1/api/v1/sync');
    c.start();
    await flush();
    const ws = FakeSocket.all.at(-1)!;
    ws.readyState = FakeSocket.OPEN;
    ws.onopen?.();
    await recv(ws, ready(listed));
    return { c, ws };
  }

  it('keeps a document that leaves the scope with unacked changes, sends them, and evicts it only after the ack and the unscope of its unsubscribe', async () => {
    const d = device();
    d.hold(WALK, 0);
    const { c, ws } = await open(d.h, [WALK]);
    d.edit(WALK);
    c.nudge(WALK);
    const before = framesOf(ws, WALK);

    // The window passed while the edit was not acked yet.
    await recv(ws, { type: 'unscope', doc: WALK });
    expect(d.evicted).toEqual([]);
    expect(d.docs.has(WALK)).toBe(true);
    expect(c.leavingState(WALK)).toBe('out');
    // Another edit on the leaving document goes out too: that subscribes it again on the server.
    d.edit(WALK);
    c.nudge(WALK);
    expect(framesOf(ws, WALK)).toBeGreaterThan(before);
    await recv(ws, { type: 'doc', id: WALK, kind: 'walk', heads: ['aa'], epoch: 0 });
    expect(c.leavingState(WALK)).toBe('back');
    expect(d.docs.has(WALK)).toBe(true);

    // The ack covers everything: the client ends the implicit subscription, still holding the document.
    await recv(ws, { type: 'ack', doc: WALK, heads: ['bb'] });
    expect(d.docs.has(WALK)).toBe(true);
    expect(sentTexts(ws)).toEqual([{ type: 'unsubscribe', doc: WALK }]);
    expect(c.leavingState(WALK)).toBe('unsubscribed');
    // The server's reply after the ack changes nothing: nothing more is sent of it.
    const settled = framesOf(ws, WALK);
    ws.onmessage?.({ data: encodeFrame(WALK, new Uint8Array([0x42, 0])).buffer });
    await flush();
    expect(framesOf(ws, WALK)).toBe(settled);

    await recv(ws, { type: 'unscope', doc: WALK });
    expect(d.evicted).toEqual([WALK]);
    expect(d.docs.has(WALK)).toBe(false);
    expect(c.leavingState(WALK)).toBeUndefined();
    c.stop();
  });

  it('evicts a document that leaves the scope with nothing unacked at once, and sends nothing of it', async () => {
    const d = device();
    d.hold(WALK, 0);
    d.hold(OTHER, 0);
    const { c, ws } = await open(d.h, [WALK, OTHER]);
    const before = framesOf(ws, WALK);
    await recv(ws, { type: 'unscope', doc: WALK });
    expect(d.evicted).toEqual([WALK]);
    expect(d.docs.has(OTHER)).toBe(true);
    expect(framesOf(ws, WALK)).toBe(before);
    expect(sentTexts(ws)).toEqual([]);
    c.stop();
  });

  it('an edit made after the ack and before the unscope keeps the document: sent, acked, then evicted', async () => {
    const d = device();
    d.hold(WALK, 1);
    const { c, ws } = await open(d.h, [WALK]);
    await recv(ws, { type: 'unscope', doc: WALK });
    await recv(ws, { type: 'doc', id: WALK, kind: 'walk', heads: ['aa'], epoch: 0 });
    await recv(ws, { type: 'ack', doc: WALK, heads: ['bb'] });
    expect(c.leavingState(WALK)).toBe('unsubscribed');
    d.edit(WALK);
    c.nudge(WALK);
    await recv(ws, { type: 'unscope', doc: WALK });
    expect(d.evicted).toEqual([]);
    expect(d.docs.has(WALK)).toBe(true);
    await recv(ws, { type: 'doc', id: WALK, kind: 'walk', heads: ['bb'], epoch: 0 });
    await recv(ws, { type: 'ack', doc: WALK, heads: ['cc'] });
    await recv(ws, { type: 'unscope', doc: WALK });
    expect(d.evicted).toEqual([WALK]);
    c.stop();
  });

  it('at connect: a held document no longer listed leaves (at once, or after the ack of its changes); one created here and never acked is sent, not evicted', async () => {
    const d = device();
    d.hold(WALK, 0); // window passed, nothing unsent
    d.hold(OTHER, 2); // window passed while offline, two edits unsent
    d.docs.set(NEW, { edits: 1 }); // created offline: the server does not know it yet
    d.pending.set(NEW, 1);
    const { c, ws } = await open(d.h, []);
    expect(d.evicted).toEqual([WALK]);
    expect(d.docs.has(OTHER)).toBe(true);
    expect(framesOf(ws, OTHER)).toBe(1);
    expect(framesOf(ws, NEW)).toBe(1);
    expect(c.leavingState(OTHER)).toBe('out');
    expect(c.leavingState(NEW)).toBeUndefined();

    // The new walk is created and acked: it is the user's, it stays.
    await recv(ws, { type: 'ack', doc: NEW, heads: ['dd'] });
    expect(d.docs.has(NEW)).toBe(true);
    // The other one: implicit subscribe, ack, unsubscribe, unscope, gone.
    await recv(ws, { type: 'doc', id: OTHER, kind: 'walk', heads: ['aa'], epoch: 0 });
    await recv(ws, { type: 'ack', doc: OTHER, heads: ['ee'] });
    expect(d.docs.has(OTHER)).toBe(true);
    expect(sentTexts(ws)).toEqual([{ type: 'unsubscribe', doc: OTHER }]);
    await recv(ws, { type: 'unscope', doc: OTHER });
    expect(d.evicted).toEqual([WALK, OTHER]);
    expect(d.docs.has(NEW)).toBe(true);
    c.stop();
  });

  it('a connection that drops before the ack keeps the document; the next one sends the changes again', async () => {
    const d = device();
    d.hold(WALK, 1);
    const first = await open(d.h, []);
    expect(framesOf(first.ws, WALK)).toBe(1);
    first.ws.onclose?.({ code: 1006 });
    first.c.stop();
    expect(d.docs.has(WALK)).toBe(true);

    const { c, ws } = await open(d.h, []);
    expect(d.docs.has(WALK)).toBe(true);
    expect(framesOf(ws, WALK)).toBe(1);
    c.stop();
  });

  it('a document on screen is not evicted; it goes when the screen lets it go (recheck)', async () => {
    const d = device();
    d.hold(WALK, 0);
    d.onScreen.add(WALK);
    const { c, ws } = await open(d.h, [WALK]);
    await recv(ws, { type: 'unscope', doc: WALK });
    expect(d.docs.has(WALK)).toBe(true);
    expect(c.leavingState(WALK)).toBe('out');
    d.onScreen.delete(WALK);
    c.recheck(WALK);
    await flush();
    expect(d.evicted).toEqual([WALK]);
    c.stop();
  });

  it('subscribe sends the frame and stops the document from leaving; unsubscribe waits for the connection', async () => {
    const d = device();
    d.hold(WALK, 0);
    d.onScreen.add(WALK);
    const offline = new SyncClient(d.h, 'ws://127.0.0.1:1/api/v1/sync');
    expect(offline.subscribe(OTHER)).toBe(false);

    const { c, ws } = await open(d.h, [WALK]);
    await recv(ws, { type: 'unscope', doc: WALK });
    expect(c.leavingState(WALK)).toBe('out');
    expect(c.subscribe(WALK)).toBe(true);
    expect(c.leavingState(WALK)).toBeUndefined();
    d.onScreen.delete(WALK);
    c.recheck(WALK);
    await flush();
    expect(d.evicted).toEqual([]);
    expect(sentTexts(ws)).toEqual([{ type: 'subscribe', doc: WALK }]);

    // Asked while the connection is down: sent after the next `ready`, once.
    ws.onclose?.({ code: 1006 });
    c.unsubscribe(OTHER);
    expect(sentTexts(ws)).toEqual([{ type: 'subscribe', doc: WALK }]);
    c.connectNow();
    await flush();
    const next = FakeSocket.all.at(-1)!;
    expect(next).not.toBe(ws);
    next.readyState = FakeSocket.OPEN;
    next.onopen?.();
    await recv(next, ready([WALK]));
    expect(sentTexts(next)).toEqual([{ type: 'unsubscribe', doc: OTHER }]);
    c.stop();
  });

  it('"Klaar" (finish) with an unacked edit: the edit goes first, `unsubscribe` only after its ack, eviction only after the unscope', async () => {
    const d = device();
    d.hold(WALK, 0);
    d.hold(OTHER, 0);
    const { c, ws } = await open(d.h, [WALK, OTHER]);
    d.edit(WALK);
    c.nudge(WALK);
    const sent = framesOf(ws, WALK);
    expect(sent).toBeGreaterThan(0);
    c.finish(WALK);
    await flush();
    expect(c.leavingState(WALK)).toBe('back');
    // Nothing is unsubscribed while the edit is not acked, and nothing is evicted.
    expect(sentTexts(ws)).toEqual([]);
    expect(d.evicted).toEqual([]);
    // The server's reply to the edit is answered as usual (the edit may still need sending).
    await recv(ws, { type: 'ack', doc: WALK, heads: ['bb'] });
    expect(sentTexts(ws)).toEqual([{ type: 'unsubscribe', doc: WALK }]);
    expect(c.leavingState(WALK)).toBe('unsubscribed');
    expect(d.docs.has(WALK)).toBe(true);
    await recv(ws, { type: 'unscope', doc: WALK });
    expect(d.evicted).toEqual([WALK]);
    expect(c.leavingState(WALK)).toBeUndefined();
    // Finishing OTHER with nothing unacked: unsubscribed at once.
    c.finish(OTHER);
    await flush();
    expect(sentTexts(ws)).toEqual([
      { type: 'unsubscribe', doc: WALK },
      { type: 'unsubscribe', doc: OTHER },
    ]);
    c.stop();
  });

  it('"Klaar" (finish) while offline: `unsubscribe` goes after the next `ready`; subscribing again takes it back', async () => {
    const d = device();
    d.hold(WALK, 0);
    d.hold(OTHER, 0);
    const c = new SyncClient(d.h, 'ws://127.0.0.1:1/api/v1/sync');
    c.finish(WALK);
    c.finish(OTHER);
    expect(c.leavingState(WALK)).toBe('back');
    c.start();
    await flush();
    const ws = FakeSocket.all.at(-1)!;
    ws.readyState = FakeSocket.OPEN;
    ws.onopen?.();
    // OTHER was opened again before the connection came: it stays.
    expect(c.subscribe(OTHER)).toBe(false);
    await recv(ws, ready([WALK, OTHER]));
    expect(sentTexts(ws)).toEqual([{ type: 'unsubscribe', doc: WALK }]);
    await recv(ws, { type: 'unscope', doc: WALK });
    expect(d.evicted).toEqual([WALK]);
    c.stop();
  });

  it('"Klaar" of a document that stays in the scope (`kept`, protocol 5): no longer leaving, the host is told why, it syncs again; a `kept` that answers no unsubscribe of ours changes nothing', async () => {
    const d = device();
    const kept: [string, string][] = [];
    d.h.kept = (id, reason) => kept.push([id, reason]);
    d.hold(WALK, 0);
    d.hold(OTHER, 0);
    const { c, ws } = await open(d.h, [WALK, OTHER]);
    c.finish(WALK);
    await flush();
    expect(sentTexts(ws)).toEqual([{ type: 'unsubscribe', doc: WALK }]);
    expect(c.leavingState(WALK)).toBe('unsubscribed');
    await recv(ws, { type: 'kept', doc: OTHER, reason: 'planned' });
    expect(kept).toEqual([]);
    await recv(ws, { type: 'kept', doc: WALK, reason: 'planned' });
    expect(kept).toEqual([[WALK, 'planned']]);
    expect(c.leavingState(WALK)).toBeUndefined();
    expect(c.leavingEntries()).toEqual([]);
    // It syncs as any document in the scope: a new edit goes out, and its ack unsubscribes nothing.
    const before = framesOf(ws, WALK);
    d.edit(WALK);
    c.nudge(WALK);
    expect(framesOf(ws, WALK)).toBeGreaterThan(before);
    await recv(ws, { type: 'ack', doc: WALK, heads: ['bb'] });
    expect(sentTexts(ws)).toEqual([{ type: 'unsubscribe', doc: WALK }]);
    expect(d.evicted).toEqual([]);
    c.stop();
  });

  it('leaving documents outlive a reload: a document re-subscribed by its own changes is unsubscribed after the next ready; without the stored state it would stay', async () => {
    const d = device();
    d.hold(WALK, 0);
    d.hold(OTHER, 0);
    // Before the reload: WALK came back by its own changes and they were acked just before the page went.
    const before = await open(d.h, [WALK, OTHER]);
    d.edit(WALK);
    await recv(before.ws, { type: 'unscope', doc: WALK });
    before.c.nudge(WALK);
    expect(before.c.leavingState(WALK)).toBe('out');
    await recv(before.ws, { type: 'doc', id: WALK, kind: 'walk', heads: ['aa'], epoch: 0 });
    expect(before.c.leavingEntries()).toEqual([[WALK, 'back']]);
    const stored = before.c.leavingEntries();
    before.c.stop();
    d.pending.set(WALK, 0); // acked (the ack frame was lost with the page)

    // A fresh client without what was stored: the walk stays subscribed.
    const forgetful = await open(d.h, [WALK, OTHER]);
    expect(sentTexts(forgetful.ws)).toEqual([]);
    forgetful.c.stop();

    // With it: unsubscribed at once, evicted at the unscope; OTHER stays.
    const c = new SyncClient(d.h, 'ws://127.0.0.1:1/api/v1/sync');
    c.restoreLeaving([...stored, [NEW, 'bogus' as never]]);
    expect(c.leavingEntries()).toEqual([[WALK, 'back']]);
    c.start();
    await flush();
    const ws = FakeSocket.all.at(-1)!;
    ws.readyState = FakeSocket.OPEN;
    ws.onopen?.();
    await recv(ws, ready([WALK, OTHER]));
    expect(sentTexts(ws)).toEqual([{ type: 'unsubscribe', doc: WALK }]);
    await recv(ws, { type: 'unscope', doc: WALK });
    expect(d.evicted).toEqual([WALK]);
    expect(d.docs.has(OTHER)).toBe(true);
    c.stop();
  });
});

describe('SyncClient and `lists_changed`', () => {
  it('tells the host, and nothing else happens', async () => {
    let told = 0;
    const c = new SyncClient({ ...host(), hasPending: () => false, listsChanged: () => told++ }, 'ws://127.0.0.1:1/api/v1/sync');
    c.start();
    await flush();
    const ws = FakeSocket.all[0];
    ws.readyState = FakeSocket.OPEN;
    ws.onopen?.();
    ws.onmessage?.({ data: JSON.stringify({ type: 'ready', protocol: 4, user: { id: 'u', name: 'C', roles: ['coordinator'], team: null }, docs: [] }) });
    await flush();
    ws.onmessage?.({ data: JSON.stringify({ type: 'lists_changed' }) });
    ws.onmessage?.({ data: JSON.stringify({ type: 'lists_changed' }) });
    await flush();
    expect(told).toBe(2);
    expect(ws.sent.filter((d) => typeof d === 'string').map((d) => JSON.parse(d as string).type)).toEqual(['auth']);
    expect(ws.closed).toBeNull();
    c.stop();
  });
});
