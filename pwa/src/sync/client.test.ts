// SyncClient's reaction to the network coming back, with a fake WebSocket and
// fake window/document event targets (vitest runs in node).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
