// SyncClient's reaction to the network coming back, with a fake WebSocket and
// fake window/document event targets (vitest runs in node).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SyncClient, type SyncHost } from './client';

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
