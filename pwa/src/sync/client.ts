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
// - Scope (docs/sync-protocol.md §2, docs/pwa.md "Sync scope"): the server
//   decides which documents this device holds. `subscribe`/`unsubscribe`
//   send the frames of the same names. A document leaves the device when the
//   server says it left the scope (`unscope`, or `ready` no longer lists a
//   document the server had confirmed before) AND every local change of it
//   is acked: unsynced work is never evicted. Until then it is "leaving":
//     'out'          the server said it is out; if it has unacked changes they
//                    are sent, which subscribes it again implicitly (the
//                    server answers `doc`, then the ack);
//     'back'         that happened: once everything is acked the client sends
//                    `unsubscribe` and waits for the server's `unscope`;
//     'unsubscribed' sent; the `unscope` that follows evicts it, or the
//                    server answers `kept` (protocol 5: it stays in the
//                    scope for another reason, named): then it is no longer
//                    leaving and syncs as any document in the scope.
//   A leaving document with nothing unacked is not synced (a frame would
//   subscribe it again). The host may refuse an eviction for now (the
//   document is on screen): it calls `recheck` when that ends.

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
  /** This document's local changes the server has not acked (0 when it is not held). */
  pendingOf(id: string): number;
  /** Whether the server ever confirmed this document (announced or acked heads); false for one created here and never acked. */
  knownToServer(id: string): boolean;
  /**
   * The document left this device's scope and nothing of it is unacked:
   * remove it from the device. Resolves false when it must stay for now (on
   * screen, being replaced, the catalog, a change arrived meanwhile); then the
   * host calls `recheck(id)` when that ends.
   */
  evict(id: string): Promise<boolean>;
  /** A document started or stopped leaving (the screens say so; the host keeps `leavingEntries()`). */
  scopeChanged(): void;
  /** The server says the coordinators' review lists may read differently (`lists_changed`). */
  listsChanged(): void;
  /**
   * The server answered our `unsubscribe` with `kept`: the document stays in
   * this device's scope for `reason` (`member`, `planned`, `open_task`, …)
   * and is no longer leaving.
   */
  kept(id: string, reason: string): void;
}

/** Where a document that left this device's scope stands (see the header). */
export type Leaving = 'out' | 'back' | 'unsubscribed';

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
  /** Documents that left this device's scope and are still held (see the header). Kept across sockets. */
  private leaving = new Map<string, Leaving>();
  /** `unsubscribe` asked for while not connected: sent after the next `ready`. */
  private unsubs = new Set<string>();
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

  /**
   * Send `subscribe` for a document (docs/sync-protocol.md §2): the server
   * answers `doc` and a sync message, or `error` `not_found`/`forbidden`.
   * It also stops the document from leaving. False when there is no
   * connection (nothing is sent or remembered).
   */
  subscribe(docId: string): boolean {
    this.setLeaving(docId);
    this.unsubs.delete(docId);
    if (!this.sendText({ type: 'subscribe', doc: docId })) return false;
    // The answer is expected like a sync reply: a dead socket is noticed.
    this.awaitingSince ??= Date.now();
    return true;
  }

  /**
   * Send `unsubscribe` for a document, now or after the next `ready`. The
   * server answers `unscope` when the document leaves the scope (then it is
   * evicted once nothing of it is unacked), nothing when it stays.
   */
  unsubscribe(docId: string): void {
    this.unsubs.add(docId);
    if (this.sendText({ type: 'unsubscribe', doc: docId })) this.unsubs.delete(docId);
  }

  /** Where a document that left the scope stands; undefined when it has not left. */
  leavingState(docId: string): Leaving | undefined {
    return this.leaving.get(docId);
  }

  /** Every leaving document and where it stands (the host stores them: they outlive a reload). */
  leavingEntries(): [string, Leaving][] {
    return [...this.leaving.entries()];
  }

  /**
   * Before `start`: the leaving documents stored before a reload. A document
   * our own changes re-subscribed ('back', 'unsubscribed') is unsubscribed
   * again once acked, instead of staying subscribed until its subscription
   * lapses; one the server had said was out ('out') goes once acked.
   */
  restoreLeaving(entries: Iterable<[string, Leaving]>): void {
    for (const [id, state] of entries) {
      if (state === 'out' || state === 'back' || state === 'unsubscribed') this.leaving.set(id, state);
    }
  }

  /**
   * The user is done with a document this device subscribed ("Klaar"): it
   * leaves the device like one our own changes re-subscribed. Its unacked
   * changes are sent first; once all are acked the client sends
   * `unsubscribe` (now, or after the next `ready`), and the server's
   * `unscope` evicts it. A document already leaving stays where it is.
   */
  finish(docId: string): void {
    if (this.leaving.has(docId)) return;
    this.unsubs.delete(docId);
    this.setLeaving(docId, 'back');
    if (this.ready) this.chain = this.chain.then(() => this.settleLeaving(docId)).catch(() => undefined);
  }

  /**
   * Something that held a leaving document back ended (it left the screen,
   * its copy was replaced): evict it now if nothing of it is unacked.
   */
  recheck(docId: string): void {
    if (!this.leaving.has(docId)) return;
    this.chain = this.chain.then(() => this.settleLeaving(docId)).catch(() => undefined);
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
        const listed = new Set(m.docs.map((d) => d.id));
        // Listed again: in the scope (maybe by our own implicit subscribe).
        for (const id of listed) if (this.leaving.has(id)) this.setLeaving(id, 'back');
        // Held but not listed: it left the scope while we were away.
        for (const id of this.host.localDocIds()) if (!listed.has(id)) await this.leftScope(id, false);
        const ids = new Set([...this.host.localDocIds(), ...listed]);
        for (const id of ids) this.sendSync(id);
        for (const id of [...this.leaving.keys()]) await this.settleLeaving(id);
        for (const id of [...this.unsubs]) if (this.sendText({ type: 'unsubscribe', doc: id })) this.unsubs.delete(id);
        break;
      }
      case 'doc':
        // A leaving document announced again: our own changes subscribed it implicitly.
        if (this.leaving.has(m.id)) this.setLeaving(m.id, 'back');
        await this.host.onAnnounce(m);
        this.sendSync(m.id);
        break;
      case 'unscope':
        await this.leftScope(m.doc, true);
        // Still held (unacked changes): they go out.
        if (this.leaving.has(m.doc)) this.sendSync(m.doc);
        break;
      case 'ack':
        // The server stored this document's changes: its retries start from the shortest delay again.
        this.forgetRetry(m.doc);
        await this.host.onAck(m.doc, m.heads);
        await this.settleLeaving(m.doc);
        break;
      case 'lists_changed':
        this.host.listsChanged();
        break;
      case 'kept':
        // Only the answer to our own unsubscribe counts; a subscribe since has already taken it back.
        if (this.leaving.get(m.doc) === 'unsubscribed') {
          this.setLeaving(m.doc);
          this.host.kept(m.doc, m.reason);
          this.sendSync(m.doc);
        }
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

  /**
   * The server says (`unscope`, or `ready` without it) that this document
   * left the scope. With nothing unacked it is evicted; with unacked changes
   * it is kept and they go out (the caller syncs it). A document created
   * here and never acked (`announced` false) is in no scope yet: sending it
   * creates it.
   */
  private async leftScope(id: string, announced: boolean): Promise<void> {
    if (this.host.pendingOf(id) === 0) {
      this.setLeaving(id, 'out');
      await this.settleLeaving(id);
    } else if (announced || this.leaving.has(id) || this.host.knownToServer(id)) {
      this.setLeaving(id, 'out');
    }
  }

  /** A leaving document whose changes are all acked: evict it, or unsubscribe first if our changes re-subscribed it. */
  private async settleLeaving(id: string): Promise<void> {
    const state = this.leaving.get(id);
    if (!state || this.host.pendingOf(id) > 0) return;
    if (state === 'out') {
      if (!(await this.host.evict(id))) return;
      // Evicted, unless something subscribed it meanwhile.
      if (this.leaving.get(id) === 'out') this.setLeaving(id);
      this.states.get(id)?.free();
      this.states.delete(id);
      this.forgetRetry(id);
    } else if (state === 'back') {
      if (this.sendText({ type: 'unsubscribe', doc: id })) this.setLeaving(id, 'unsubscribed');
    }
  }

  private setLeaving(id: string, state?: Leaving): void {
    if (this.leaving.get(id) === state) return;
    if (state) this.leaving.set(id, state);
    else this.leaving.delete(id);
    this.host.scopeChanged();
  }

  private sendText(msg: { type: 'subscribe' | 'unsubscribe'; doc: string }): boolean {
    const ws = this.ws;
    if (!ws || !this.ready || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
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
    // Leaving with nothing unacked: a frame would only subscribe it again.
    if (this.leaving.has(docId) && this.host.pendingOf(docId) === 0) return;
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
