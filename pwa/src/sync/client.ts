// Sync client: one WebSocket to /api/v1/sync (protocol: docs/sync-protocol.md).
//
// - Connects whenever it can; after any close or failure it retries with
//   exponential backoff plus jitter. navigator.onLine is only a hint: an
//   "online" event or the page becoming visible triggers an immediate attempt,
//   but "offline" never stops the retries. An "online" event also drops the
//   socket we have: after a network change (no signal -> signal, wifi -> 4G)
//   an old socket is usually a zombie that would only be noticed by the
//   response timeouts below, and a retry may be asleep in a long backoff.
//   An "offline" event (navigator.onLine turned false: the device has no
//   network at all) drops the socket at once and reports 'offline', so the
//   header never says "verbonden" over a dead network; retries go on.
// - First frame: {"type":"auth","token"}; the token comes from the host, which
//   refreshes an expired access token first (and reports 'refused' when the
//   refresh token is no longer accepted: then we stop and the UI asks for the
//   password, keeping every unsent change).
// - One SyncState per document per connection, always fresh after reconnect.
// - Dead sockets: after sending a sync message we expect some frame back within
//   RESPONSE_TIMEOUT_MS; an open socket with unacked local changes that stays
//   silent for IDLE_PENDING_MS is also treated as dead. Either closes the socket
//   and reconnects, which restarts the sync from scratch (safe: sync is
//   idempotent and the server deduplicates changes).
// - Frames are processed strictly in arrival order (one promise chain), so the
//   host's persistence of received changes never interleaves.
// - A per-document error that says "try again" (`internal`: the server could
//   not store the changes; `rate_limited`: the frame was dropped) concerns that
//   document only: its SyncState is replaced by a fresh one (the old one counts
//   the unstored changes as sent and would never send them again) and the
//   document is synced again after a backoff of its own (RETRY_CODES), on the
//   same socket. A busy socket never looks idle, so waiting for a reconnect
//   could hold those changes back for as long as the socket lives.
// - A document the host reports as `paused` (its history was rewritten on the
//   server and the local copy is being replaced) is neither sent nor
//   received; `resync` starts it again from a fresh SyncState.

import { backoffDelay } from './backoff';
import { decodeFrame, encodeFrame, parseServerMessage, type DocAnnouncement, type ServerUser } from './frames';
import type { Doc, SyncState as SyncStateT } from '../model/doc';

export type ConnStatus = 'connecting' | 'online' | 'offline' | 'auth_needed' | 'stopped';

export interface SyncHost {
  /** Ids of every local document. */
  localDocIds(): string[];
  /** The document, creating an empty one if we do not have it yet. */
  docFor(id: string): Doc;
  /**
   * A valid access token, refreshed if needed; 'refused' when the user must log
   * in again, 'revoked' when the server says this device may no longer sync.
   */
  accessToken(forceRefresh: boolean): Promise<string | 'refused' | 'revoked'>;
  /** A fresh SyncState (wasm). */
  newSyncState(): SyncStateT;
  onReady(user: ServerUser, docs: DocAnnouncement[]): Promise<void>;
  onAnnounce(doc: DocAnnouncement): Promise<void>;
  /** Apply a received sync message (`apply`), then persist what it changed and re-render. */
  applyRemote(id: string, apply: (doc: Doc) => void): Promise<void>;
  onAck(id: string, heads: string[]): Promise<void>;
  onServerError(doc: string | null, code: string): void;
  onRevoked(): void;
  onStatus(s: ConnStatus): void;
  /** Local changes not yet acked (for dead-socket detection). */
  hasPending(): boolean;
  /** The document must not sync now (its local copy awaits replacement). */
  paused(id: string): boolean;
}

export const RESPONSE_TIMEOUT_MS = 15_000;
export const IDLE_PENDING_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
const WATCHDOG_MS = 5_000;
/** Per-document error codes after which the document is synced again on the same socket. */
export const RETRY_CODES: ReadonlySet<string> = new Set(['internal', 'storage_full', 'rate_limited']);

export class SyncClient {
  private ws: WebSocket | null = null;
  private states = new Map<string, SyncStateT>();
  /** Documents waiting to be synced again after a retryable error: attempt count and timer. */
  private docRetries = new Map<string, { attempt: number; timer: ReturnType<typeof setTimeout> | null }>();
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private ready = false;
  private stopped = true;
  /** Between deciding to connect and having a socket (token refresh in flight). */
  private connecting = false;
  private awaitingSince: number | null = null;
  private lastFrameAt = 0;
  private chain: Promise<void> = Promise.resolve();
  private status: ConnStatus = 'offline';
  private readonly onWake = () => this.reconnectNow();
  /** The device lost its network: the socket is dead even if it has not noticed yet. */
  private readonly onNetworkGone = () => {
    if (this.stopped) return;
    if (this.ws) this.closeSocket(4000, 'network gone');
    else this.setStatus('offline');
  };
  private readonly onVisible = () => {
    if (document.visibilityState === 'visible') this.connectNow();
  };

  constructor(
    private readonly host: SyncHost,
    private readonly url: string = defaultUrl(),
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.onWake);
    window.addEventListener('offline', this.onNetworkGone);
    document.addEventListener('visibilitychange', this.onVisible);
    this.watchdog = setInterval(() => this.checkAlive(), WATCHDOG_MS);
    void this.connect(false);
  }

  stop(status: ConnStatus = 'stopped'): void {
    this.stopped = true;
    window.removeEventListener('online', this.onWake);
    window.removeEventListener('offline', this.onNetworkGone);
    document.removeEventListener('visibilitychange', this.onVisible);
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.watchdog = this.retryTimer = null;
    this.closeSocket(1000, 'bye');
    this.setStatus(status);
  }

  /** Try right away (e.g. the network came back), resetting the backoff. */
  connectNow(): void {
    if (this.stopped || this.ws || this.connecting) return;
    this.attempt = 0;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.connect(false);
  }

  /**
   * The network came back or changed: drop the current socket (open or still
   * opening) without waiting for it to time out, and connect at once with the
   * backoff reset. Sync restarts from fresh states; the server deduplicates.
   */
  reconnectNow(): void {
    if (this.stopped) return;
    this.attempt = 0;
    const ws = this.ws;
    if (ws) {
      this.ws = null;
      this.ready = false;
      this.resetStates();
      try {
        ws.close(4000, 'network changed');
      } catch {
        // already closing
      }
    }
    this.connectNow();
  }

  /** Sync a document again from a fresh state (its local copy was replaced). */
  resync(docId: string): void {
    this.forgetRetry(docId);
    this.states.get(docId)?.free();
    this.states.delete(docId);
    if (this.ready) this.sendSync(docId);
  }

  /** A local edit happened: send it if connected. */
  nudge(docId: string): void {
    if (this.ready) this.sendSync(docId);
    else this.connectNow();
  }

  isOnline(): boolean {
    return this.status === 'online';
  }

  private setStatus(s: ConnStatus) {
    if (this.status !== s) {
      this.status = s;
      this.host.onStatus(s);
    }
  }

  private async connect(forceRefresh: boolean): Promise<void> {
    if (this.stopped || this.ws || this.connecting) return;
    this.connecting = true;
    // Without any network the attempt cannot succeed: keep saying 'offline'
    // (the attempt still runs; navigator.onLine is only a hint).
    this.setStatus(globalThis.navigator?.onLine === false ? 'offline' : 'connecting');
    let token: string | 'refused' | 'revoked';
    try {
      token = await this.host.accessToken(forceRefresh);
    } catch {
      // Network failure while refreshing: just try again later.
      this.connecting = false;
      this.scheduleRetry();
      return;
    }
    this.connecting = false;
    if (this.stopped) return;
    if (token === 'refused') {
      this.stop('auth_needed');
      return;
    }
    if (token === 'revoked') {
      this.stop('stopped');
      this.host.onRevoked();
      return;
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.ready = false;
    this.resetStates();
    this.awaitingSince = null;
    const connectTimer = setTimeout(() => {
      if (this.ws === ws && !this.ready) this.closeSocket(4000, 'connect timeout');
    }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'auth', token }));
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      this.awaitingSince = null;
      const data = ev.data as string | ArrayBuffer;
      this.chain = this.chain
        .then(() => (typeof data === 'string' ? this.onText(data) : this.onBinary(data)))
        .catch(() => {
          // A frame we could not handle: restart the sync from a clean state.
          if (this.ws === ws) this.closeSocket(4000, 'client error');
        });
    };
    ws.onerror = () => {
      // onclose follows and handles the retry.
    };
    ws.onclose = (ev: CloseEvent) => {
      clearTimeout(connectTimer);
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      this.resetStates();
      if (ev.code === 4003) {
        this.stop('stopped');
        this.host.onRevoked();
        return;
      }
      if (this.stopped) return;
      if (ev.code === 4001) {
        // The server did not accept the access token: refresh before retrying.
        this.scheduleRetry(true);
        return;
      }
      this.scheduleRetry();
    };
  }

  private scheduleRetry(forceRefresh = false): void {
    if (this.stopped) return;
    this.setStatus('offline');
    const delay = backoffDelay(this.attempt++);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect(forceRefresh);
    }, delay);
  }

  private closeSocket(code: number, reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.ready = false;
    this.resetStates();
    try {
      ws.close(code, reason);
    } catch {
      // already closing
    }
    if (!this.stopped) this.scheduleRetry();
  }

  private checkAlive(): void {
    if (!this.ws || !this.ready) return;
    const now = Date.now();
    if (this.awaitingSince !== null && now - this.awaitingSince > RESPONSE_TIMEOUT_MS) {
      this.closeSocket(4000, 'no response');
    } else if (this.host.hasPending() && now - this.lastFrameAt > IDLE_PENDING_MS) {
      this.closeSocket(4000, 'idle with pending changes');
    }
  }

  private async onText(text: string): Promise<void> {
    const m = parseServerMessage(text);
    if (!m) return;
    switch (m.type) {
      case 'ready': {
        this.ready = true;
        this.attempt = 0;
        this.setStatus('online');
        await this.host.onReady(m.user, m.docs);
        const ids = new Set([...this.host.localDocIds(), ...m.docs.map((d) => d.id)]);
        for (const id of ids) this.sendSync(id);
        break;
      }
      case 'doc':
        await this.host.onAnnounce(m);
        this.sendSync(m.id);
        break;
      case 'ack':
        // The server stored this document's changes: its retries start from the shortest delay again.
        this.forgetRetry(m.doc);
        await this.host.onAck(m.doc, m.heads);
        break;
      case 'error':
        this.host.onServerError(m.doc, m.code);
        if (m.doc !== null && RETRY_CODES.has(m.code)) this.retryDoc(m.doc);
        break;
    }
  }

  private async onBinary(data: ArrayBuffer): Promise<void> {
    if (!this.ready) return;
    const { docId, msg } = decodeFrame(data);
    // The old copy must not take in the rewritten history (automerge would
    // refuse it anyway): it is replaced first, then synced afresh.
    if (this.host.paused(docId)) return;
    const state = this.stateFor(docId);
    await this.host.applyRemote(docId, (doc) => doc.receiveSyncMessage(state, msg));
    this.sendSync(docId);
  }

  private resetStates(): void {
    for (const s of this.states.values()) s.free();
    this.states = new Map();
    // A new socket syncs every document from the start anyway.
    for (const r of this.docRetries.values()) if (r.timer) clearTimeout(r.timer);
    this.docRetries = new Map();
  }

  /**
   * The server could not take this document's last frame: start its sync
   * afresh (the server did the same on its side) after the document's next
   * backoff delay, unless a retry is already scheduled.
   */
  private retryDoc(docId: string): void {
    const ws = this.ws;
    if (!ws) return;
    const r = this.docRetries.get(docId) ?? { attempt: 0, timer: null };
    this.docRetries.set(docId, r);
    if (r.timer) return;
    r.timer = setTimeout(() => {
      r.timer = null;
      if (this.ws !== ws || !this.ready) return;
      this.states.get(docId)?.free();
      this.states.delete(docId);
      this.sendSync(docId);
    }, backoffDelay(r.attempt++));
  }

  private forgetRetry(docId: string): void {
    const r = this.docRetries.get(docId);
    if (r?.timer) clearTimeout(r.timer);
    this.docRetries.delete(docId);
  }

  private stateFor(id: string): SyncStateT {
    let s = this.states.get(id);
    if (!s) {
      s = this.host.newSyncState();
      this.states.set(id, s);
    }
    return s;
  }

  private sendSync(docId: string): void {
    const ws = this.ws;
    if (!ws || !this.ready || ws.readyState !== WebSocket.OPEN) return;
    if (this.host.paused(docId)) return;
    const doc = this.host.docFor(docId);
    // Send every message the state machine has for this document now.
    for (let i = 0; i < 16; i++) {
      const msg = doc.generateSyncMessage(this.stateFor(docId));
      if (!msg) break;
      ws.send(encodeFrame(docId, msg));
      this.awaitingSince ??= Date.now();
    }
  }
}

function defaultUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/api/v1/sync`;
}
