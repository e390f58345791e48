// The app: wires the session (session/session.ts), the documents
// (model/repository.ts), the photo outbox (photo/outbox.ts), the REST client
// (net/api.ts) and the sync client together, and holds what only the screens
// need (dialogs, notices, the connection state). Components read `app` and
// subscribe to changes; every edit goes through `app.edit()`, which resolves
// only after the change is committed to IndexedDB (then the UI may say
// "opgeslagen").

import { SyncState, type Doc, type DocKind, type NewSpreekuur, type NewWalk } from './model/doc';
import { DocRepository, type SaveState } from './model/repository';
import { LocalStore, StoreError, wipeDatabase, type PhotoInfo, type SyncRecord } from './store/db';
import { WriteQueue } from './store/queue';
import { RETRY_CODES, SyncClient, type ConnStatus, type Leaving } from './sync/client';
import { AuthError } from './sync/auth';
import type { DocAnnouncement, ServerUser } from './sync/frames';
import { SessionAuth, type Session } from './session/session';
import { Api, ApiError } from './net/api';
import { PhotoOutbox, type PhotoState } from './photo/outbox';
import { PhotoUrls } from './photo/urlCache';
import type { PhotoUploader } from './photo/uploader';
import type { ProcessedPhoto } from './photo/process';

export type { SaveState };

export type Dialog =
  | { type: 'logout'; pending: number; photos: number }
  | { type: 'logout-waiting' }
  | { type: 'revoked'; pending: number; photos: number }
  | null;

export type Notice = 'logout.done' | 'login.again' | null;

/** How long a fix is awaited for an observation saved while GPS was searching. */
export const LATE_FIX_MS = 60_000;

/** How long a failed replacement of a rewritten document waits before the next try. */
const REPLACE_RETRY_MS = 5_000;

/** How long `subscribe` waits for the document before it gives up ('offline'). */
export const SUBSCRIBE_TIMEOUT_MS = 30_000;

/** How many evicted document ids the device remembers (to say "niet meer op dit toestel"). */
const EVICTED_KEPT = 500;

/**
 * Why `app.subscribe` failed: `not_found` (the server has no such document),
 * `forbidden` (this user may not see it), `too_many_subscriptions` (the
 * device already holds `sync.max_subscriptions_per_device` subscriptions:
 * `unsubscribe` some, or wait until they lapse), `offline` (no connection
 * now, it dropped, or no answer within SUBSCRIBE_TIMEOUT_MS: try again when
 * `app.conn` is 'online'), `failed` (the server refused it otherwise; the
 * code is in `app.docErrors`).
 */
export type SubscribeErrorCode = 'not_found' | 'forbidden' | 'too_many_subscriptions' | 'offline' | 'failed';

/** The server's error codes that `subscribe` passes on as they are. */
const SUBSCRIBE_REFUSALS: ReadonlySet<string> = new Set(['not_found', 'forbidden', 'too_many_subscriptions']);

export class SubscribeError extends Error {
  constructor(readonly code: SubscribeErrorCode) {
    super(`subscribe failed: ${code}`);
    this.name = 'SubscribeError';
  }
}

export class App {
  store: LocalStore | null = null;
  readonly queue = new WriteQueue();
  readonly auth = new SessionAuth({
    save: (s) => this.queue.run(() => this.requireStore().putMeta('session', s)),
    revoked: () => void this.onRevoked(),
    changed: () => this.emit(),
  });
  readonly repo = new DocRepository({
    store: () => this.requireStore(),
    queue: this.queue,
    user: () => this.auth.user,
    changed: () => this.emit(),
    stored: (id) => this.client?.nudge(id),
  });
  readonly outbox = new PhotoOutbox({
    store: () => this.requireStore(),
    queue: this.queue,
    token: (force) => this.auth.uploadToken(force),
    changed: () => this.emit(),
    left: () => this.logoutIfAllSent(),
    storeError: (e) => this.repo.reportStoreError(e),
  });
  /** Every REST call that needs the user goes through here. */
  readonly api = new Api((force) => this.auth.restToken(force));
  readonly photoUrls = new PhotoUrls({ local: (sha) => this.outbox.local(sha), fetch: (path) => this.api.fetch(path) });
  conn: ConnStatus = 'offline';
  dialog: Dialog = null;
  notice: Notice = null;
  persistDenied = false;
  version = 0;
  /** Per walk: observations whose late fix never came (shown on the walk screen until dismissed). */
  locationMissing = new Map<string, string[]>();

  private client: SyncClient | null = null;
  private logoutWhenSent = false;
  private listeners = new Set<() => void>();
  /** Observations saved while GPS was still searching, by item id: the fix is attached when it comes. */
  private lateFixes = new Map<string, { docId: string; stop: () => void }>();
  /** Documents that left this device (evicted after leaving the scope), oldest first; stored in meta "evicted". */
  private evictedIds = new Set<string>();
  /** Documents on screen (count of holders): not evicted while shown. */
  private viewers = new Map<string, number>();
  /** `subscribe` calls waiting for their document. */
  private subscribing = new Map<string, { promise: Promise<void>; settle: (e: SubscribeError | null) => void }>();
  /** Documents whose subscribe failed on this connection (tried again by a user action or a new connection). */
  readonly subscribeErrors = new Map<string, SubscribeErrorCode>();
  /**
   * The sync client's leaving documents as last stored (meta "leaving"):
   * restored into each new client, so a reload does not forget a document
   * our own changes re-subscribed.
   */
  private leavingSaved: [string, Leaving][] = [];
  /**
   * Documents the user said "Klaar" for: they leave once all their changes
   * are acked. Stored in meta "finished" (with the sync client's leaving
   * documents, meta "leaving"), so a reload or restart before the acks
   * still says so on screen and still unsubscribes them.
   */
  private finished = new Set<string>();
  /**
   * Documents the user said "Klaar" for that the server keeps on the device
   * (its `kept` answer to the unsubscribe), with the server's reason; until
   * the document leaves, is opened again or "Klaar" is pressed again.
   */
  private keptReasons = new Map<string, string>();
  /**
   * Counts the server's `lists_changed` frames (and new connections, which
   * may have missed some): the coordinator screens read their lists again
   * when it moves.
   */
  listsVersion = 0;

  // What the screens read, from the parts that own it.
  get session(): Session | null {
    return this.auth.session;
  }
  get user(): ServerUser | null {
    return this.auth.user;
  }
  get authNeeded(): boolean {
    return this.auth.authNeeded;
  }
  get docs(): Map<string, Doc> {
    return this.repo.docs;
  }
  get sync(): Map<string, SyncRecord> {
    return this.repo.sync;
  }
  get pending(): Map<string, number> {
    return this.repo.pending;
  }
  get catalogId(): string | null {
    return this.repo.catalogId;
  }
  get docErrors(): Map<string, string> {
    return this.repo.docErrors;
  }
  get saveState(): SaveState {
    return this.repo.saveState;
  }
  get storeError(): StoreError | null {
    return this.repo.storeError;
  }
  /** The photo outbox (oldest first): processed photos not yet confirmed by the server. */
  get photos(): PhotoInfo[] {
    return this.outbox.photos;
  }
  get uploader(): PhotoUploader | null {
    return this.outbox.uploader;
  }

  /** Call `f` after every change the screens show; returns the unsubscribe. */
  listen(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  emit(): void {
    this.version++;
    for (const f of this.listeners) f();
  }

  // ---- boot ------------------------------------------------------------------

  async boot(): Promise<void> {
    const flush = () => void this.flush();
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') flush();
    });
    window.addEventListener('pagehide', flush);
    window.addEventListener('online', () => this.outbox.kick());
    // After a logout the database is gone; it is created again only at login.
    if (!(await LocalStore.exists())) {
      this.emit();
      return;
    }
    this.store = await LocalStore.open();
    this.persistDenied = !(await LocalStore.requestPersistence());
    const store = this.store;
    this.auth.restore(await store.getMeta<Session>('session'));
    const catalogId = await store.getMeta<string>('catalogId');
    const sync = await store.loadAllSync();
    this.evictedIds = new Set(await store.getMeta<string[]>('evicted') ?? []);
    this.leavingSaved = (await store.getMeta<[string, Leaving][]>('leaving')) ?? [];
    this.outbox.restore(await store.listPhotos());
    this.repo.load(await store.loadAllDocs(), sync, catalogId);
    // "Klaar" of a document still held (one evicted meanwhile is done with).
    this.finished = new Set(((await store.getMeta<string[]>('finished')) ?? []).filter((id) => this.docs.has(id)));
    if (this.session) {
      this.startSync();
      this.outbox.start();
    }
    this.emit();
  }

  /** Wait until every queued write is committed. */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  // ---- session -----------------------------------------------------------------

  async login(username: string, password: string): Promise<void> {
    await this.auth.login(username, password, deviceName(), async (s) => {
      if (this.session && this.session.user.id !== s.user.id) {
        if (this.unsentWork() > 0) throw new AuthError('refused', 'wrong_user');
        // Another user's data without anything unsent: wipe it first.
        await this.wipeLocal();
      }
      if (!this.store) {
        this.store = await LocalStore.open();
        this.persistDenied = !(await LocalStore.requestPersistence());
      }
    });
    this.notice = null;
    this.repo.setUser(this.auth.session!.user.id);
    this.startSync();
    this.outbox.start();
    this.emit();
  }

  private startSync(): void {
    this.client?.stop();
    this.client = new SyncClient({
      localDocIds: () => [...this.docs.keys()],
      docFor: (id) => this.repo.docFor(id),
      accessToken: (force) => this.auth.accessToken(force),
      newSyncState: () => new SyncState(),
      onReady: (user, docs) => this.onReady(user, docs),
      onAnnounce: async (d) => {
        await this.repo.announced(d);
        this.emit();
        void this.replaceRewritten();
      },
      applyRemote: async (id, apply) => {
        await this.repo.applyRemote(id, apply);
        this.arrived(id);
      },
      onAck: async (id, heads) => {
        await this.repo.acked(id, heads);
        this.emit();
        await this.logoutIfAllSent();
      },
      onServerError: (doc, code) => {
        if (doc !== null && !RETRY_CODES.has(code)) {
          const e = (SUBSCRIBE_REFUSALS.has(code) ? code : 'failed') as SubscribeErrorCode;
          if (this.subscribing.has(doc)) this.subscribeErrors.set(doc, e);
          this.subscribing.get(doc)?.settle(new SubscribeError(e));
        }
        this.repo.serverError(doc, code);
        this.emit();
        void this.replaceRewritten();
      },
      onRevoked: () => this.auth.revoked(),
      onStatus: (s) => {
        this.conn = s;
        if (s === 'auth_needed') this.auth.authNeeded = true;
        // The server is reachable again: photos need not wait for their backoff.
        if (s === 'online') this.outbox.kick();
        // A new connection: documents that could not be subscribed may be tried again,
        // and the lists may have changed while there was none.
        if (s === 'online') {
          this.subscribeErrors.clear();
          this.listsVersion++;
        }
        else for (const w of [...this.subscribing.values()]) w.settle(new SubscribeError('offline'));
        this.emit();
      },
      hasPending: () => this.totalPending() > 0,
      paused: (id) => this.repo.rewritten.has(id),
      pendingOf: (id) => this.repo.pendingOf(id),
      knownToServer: (id) => this.repo.knownToServer(id),
      evict: (id) => this.evict(id),
      scopeChanged: () => {
        this.saveLeaving();
        this.emit();
      },
      listsChanged: () => this.listsChanged(),
      kept: (id, reason) => {
        if (!this.finished.delete(id)) return;
        this.saveFinished();
        this.keptReasons.set(id, reason);
        this.emit();
      },
    });
    this.client.restoreLeaving(this.leavingSaved);
    // A "Klaar" whose leaving state was not stored (the page went between the two writes) still leaves.
    for (const id of this.finished) this.client.finish(id);
    this.client.start();
  }

  private async onReady(user: ServerUser, docs: DocAnnouncement[]): Promise<void> {
    this.auth.updateUser(user);
    for (const d of docs) await this.repo.announced(d);
    this.emit();
    void this.replaceRewritten();
  }

  /** Documents whose copy is being replaced right now. */
  private replacing = new Set<string>();
  private replaceRetry: ReturnType<typeof setTimeout> | null = null;

  /**
   * Replace the local copy of every document whose history the server
   * rewrote (an erasure): fetch the server's history, carry this device's
   * unsent changes over, store it in place of the old copy, then sync the
   * document again. A failure (offline, server busy) leaves it listed; the
   * next `ready` tries again.
   */
  private async replaceRewritten(): Promise<void> {
    for (const id of [...this.repo.rewritten.keys()]) {
      if (!this.client) return;
      if (this.replacing.has(id)) continue;
      this.replacing.add(id);
      try {
        const res = await this.api.fetch(`/api/v1/docs/${id}/history`, { timeoutMs: 60_000 });
        const epoch = Number(res.headers.get('x-wijklog-epoch') ?? '0');
        const bytes = new Uint8Array(await res.arrayBuffer());
        await this.repo.replaceCopy(id, bytes, Number.isSafeInteger(epoch) && epoch >= 0 ? epoch : 0);
        if (!this.repo.rewritten.has(id)) {
          this.client?.resync(id);
          this.client?.recheck(id);
        }
      } catch (e) {
        if (e instanceof ApiError && (e.status === 404 || e.status === 403)) {
          // The server no longer gives this document to this user: say so, keep the copy unsynced.
          this.repo.docErrors.set(id, e.code);
        } else {
          // Offline, busy, a failed write: stays listed (and unsynced), tried again.
          this.replaceRetry ??= setTimeout(() => {
            this.replaceRetry = null;
            void this.replaceRewritten();
          }, REPLACE_RETRY_MS);
        }
      } finally {
        this.replacing.delete(id);
      }
      this.emit();
    }
  }

  /** The user has read that offline edits of erased data were dropped. */
  dismissDroppedEdits(docId: string): void {
    this.repo.droppedEdits.delete(docId);
    this.emit();
  }

  // ---- sync scope ------------------------------------------------------------------
  //
  // The server decides which documents this device holds (docs/sync-protocol.md
  // §2, docs/pwa.md "Sync scope"). A screen that needs a document the device
  // does not hold subscribes it; a document that left the scope is evicted
  // once every local change of it is acked (sync/client.ts), never before.

  /**
   * Bring a document onto this device and keep it in the device's scope
   * (the server keeps the subscription until `sync.subscription_ttl_days`,
   * default 14, after the last subscribe; subscribing again renews it).
   *
   * - Resolves once the document is on the device: `app.docs.get(docId)`
   *   holds it with its kind (its content is committed to IndexedDB, or the
   *   store's failure is in `app.storeError`). A document already held
   *   resolves at once (and the subscription is renewed when online).
   * - Rejects with a SubscribeError: `not_found`, `forbidden`,
   *   `too_many_subscriptions`, `offline`
   *   (not connected now — check `app.conn === 'online'` first, or retry when
   *   it is —, the connection dropped, or no answer within
   *   SUBSCRIBE_TIMEOUT_MS) or `failed`. A failed document is listed in
   *   `app.subscribeErrors` until the next connection.
   * - Concurrent calls for one document share one request. It also takes the
   *   document off the evicted list and stops it from leaving.
   */
  subscribe(docId: string): Promise<void> {
    this.subscribeErrors.delete(docId);
    this.keptReasons.delete(docId);
    if (this.finished.delete(docId)) this.saveFinished();
    const held = this.docs.get(docId);
    if (held && held.kind() !== null) {
      this.client?.subscribe(docId);
      this.forgetEvicted(docId);
      return Promise.resolve();
    }
    const waiting = this.subscribing.get(docId);
    if (waiting) return waiting.promise;
    if (!this.client?.subscribe(docId)) {
      this.subscribeErrors.set(docId, 'offline');
      this.emit();
      return Promise.reject(new SubscribeError('offline'));
    }
    let settle!: (e: SubscribeError | null) => void;
    const promise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => settle(new SubscribeError('offline')), SUBSCRIBE_TIMEOUT_MS);
      settle = (e) => {
        clearTimeout(timer);
        if (this.subscribing.get(docId)?.promise !== promise) return;
        this.subscribing.delete(docId);
        if (e) {
          this.subscribeErrors.set(docId, e.code);
          reject(e);
        } else resolve();
        this.emit();
      };
    });
    this.subscribing.set(docId, { promise, settle });
    this.emit();
    return promise;
  }

  /**
   * End this device's subscription of a document (sent now, or after the
   * next connection). The server answers `unscope` when the document leaves
   * the device's scope (it may stay for another reason: created by the user,
   * planned for the team); the document is then evicted as soon as every
   * local change of it is acked and it is not on screen.
   */
  unsubscribe(docId: string): void {
    this.client?.unsubscribe(docId);
  }

  /**
   * The user is done with a document this device opened to edit ("Klaar"):
   * it leaves the device once every local change of it is acked (sent now,
   * or when the connection is back), then `unsubscribe`, then the server's
   * `unscope` (sync/client.ts `finish`). Its unsent changes are never
   * dropped: until they are acked it stays, and `finishedHere` says so.
   * Opening it again (`subscribe`) keeps it.
   */
  finish(docId: string): void {
    if (!this.client) return;
    this.finished.add(docId);
    this.keptReasons.delete(docId);
    this.saveFinished();
    this.client.finish(docId);
    this.emit();
  }

  /** Whether the user said "Klaar" for this document and it is still on the device (waiting for acks or the server). */
  finishedHere(docId: string): boolean {
    return this.finished.has(docId) && this.docs.has(docId);
  }

  /**
   * Why the server keeps a document the user said "Klaar" for on this device
   * (protocol 5 `kept`: `member`, `planned`, `open_task`, `subscribed`,
   * `catalog`), or null. The document then stays and syncs as usual.
   */
  keptReason(docId: string): string | null {
    return this.docs.has(docId) ? (this.keptReasons.get(docId) ?? null) : null;
  }

  /** Whether a `subscribe` of this document is waiting for it. */
  subscribePending(docId: string): boolean {
    return this.subscribing.has(docId);
  }

  /** Whether this document was on the device and left it (evicted after leaving the scope). */
  wasEvicted(docId: string): boolean {
    return this.evictedIds.has(docId);
  }

  /**
   * Whether this document left the scope and is kept only until its changes
   * are acked (or until it leaves the screen): it goes from the device then.
   */
  isLeaving(docId: string): boolean {
    return this.client?.leavingState(docId) !== undefined;
  }

  /**
   * A screen shows this document: it is not evicted while shown (what is
   * typed in a form stays). Call the returned function when the screen goes.
   */
  hold(docId: string): () => void {
    this.viewers.set(docId, (this.viewers.get(docId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.viewers.get(docId) ?? 1) - 1;
      if (n > 0) this.viewers.set(docId, n);
      else {
        this.viewers.delete(docId);
        this.client?.recheck(docId);
      }
    };
  }

  /**
   * Sync one document now, subscribing it if this device does not hold it
   * (e.g. when a coordinator opens an item). Failures are listed in
   * `subscribeErrors`; a document that failed on this connection is not
   * asked for again until the next connection (or an explicit `subscribe`).
   */
  requestDoc(id: string): void {
    if (this.subscribing.has(id) || this.subscribeErrors.has(id)) return;
    if (this.docs.get(id)?.kind() != null) {
      this.client?.nudge(id);
      return;
    }
    this.subscribe(id).catch(() => undefined);
  }

  /** The documents held on this device, by kind (for the settings screen). */
  heldCounts(): { walk: number; spreekuur: number; catalog: number } {
    const n = { walk: 0, spreekuur: 0, catalog: 0 };
    for (const d of this.docs.values()) {
      const k: DocKind | null = d.kind();
      if (k) n[k]++;
    }
    return n;
  }

  /** A received sync message was applied: a subscribed document has arrived. */
  private arrived(id: string): void {
    if (this.docs.get(id)?.kind() == null) return;
    this.forgetEvicted(id);
    this.subscribing.get(id)?.settle(null);
  }

  /** The sync client asks to evict a document that left the scope and has nothing unacked. */
  private async evict(id: string): Promise<boolean> {
    if (
      this.viewers.has(id) ||
      id === this.repo.catalogId ||
      this.repo.rewritten.has(id) ||
      this.replacing.has(id) ||
      this.subscribing.has(id) ||
      [...this.lateFixes.values()].some((w) => w.docId === id)
    )
      return false;
    const held = this.docs.get(id)?.kind() != null;
    if (!(await this.repo.evict(id))) return false;
    if (this.finished.delete(id)) this.saveFinished();
    this.keptReasons.delete(id);
    if (held) {
      this.evictedIds.delete(id);
      this.evictedIds.add(id);
      while (this.evictedIds.size > EVICTED_KEPT) this.evictedIds.delete(this.evictedIds.values().next().value as string);
      await this.saveEvicted();
    }
    this.emit();
    return true;
  }

  /** The server says the review lists may read differently: the coordinator screens read them again. */
  private listsChanged(): void {
    this.listsVersion++;
    this.emit();
  }

  private saveLeaving(): void {
    const entries = this.client?.leavingEntries() ?? [];
    this.leavingSaved = entries;
    if (!this.store) return;
    void this.queue.run(() => this.requireStore().putMeta('leaving', entries)).catch((e) => this.repo.reportStoreError(e));
  }

  private saveFinished(): void {
    const ids = [...this.finished];
    if (!this.store) return;
    void this.queue.run(() => this.requireStore().putMeta('finished', ids)).catch((e) => this.repo.reportStoreError(e));
  }

  private forgetEvicted(id: string): void {
    if (this.evictedIds.delete(id)) void this.saveEvicted();
  }

  private async saveEvicted(): Promise<void> {
    if (!this.store) return;
    const ids = [...this.evictedIds];
    await this.queue.run(() => this.requireStore().putMeta('evicted', ids)).catch((e) => this.repo.reportStoreError(e));
  }

  /** Ask for logout: warns when changes or photos are unsent. */
  requestLogout(): void {
    const n = this.totalPending();
    const photos = this.photos.length;
    if (n > 0 || photos > 0) this.dialog = { type: 'logout', pending: n, photos };
    else void this.logoutNow();
    this.emit();
  }

  waitThenLogout(): void {
    this.logoutWhenSent = true;
    this.dialog = { type: 'logout-waiting' };
    this.client?.connectNow();
    this.emit();
  }

  cancelDialog(): void {
    this.dialog = null;
    this.logoutWhenSent = false;
    this.emit();
  }

  async logoutNow(): Promise<void> {
    this.client?.stop();
    this.client = null;
    this.outbox.stop();
    await this.auth.logout();
    await this.wipeLocal();
    this.notice = 'logout.done';
    this.dialog = null;
    this.emit();
  }

  /** The one reaction to a revoked device (called by the session, once). */
  private async onRevoked(): Promise<void> {
    const n = this.totalPending();
    const photos = this.photos.length;
    this.dialog = { type: 'revoked', pending: n, photos };
    this.client?.stop();
    this.client = null;
    this.outbox.stop();
    // The device may be lost: wipe at once; the dialog tells the user what happened.
    await this.wipeLocal();
    this.dialog = { type: 'revoked', pending: n, photos };
    this.emit();
  }

  private async wipeLocal(): Promise<void> {
    for (const w of this.lateFixes.values()) w.stop();
    this.lateFixes.clear();
    for (const w of [...this.subscribing.values()]) w.settle(new SubscribeError('offline'));
    this.subscribeErrors.clear();
    this.evictedIds.clear();
    this.leavingSaved = [];
    this.finished.clear();
    this.keptReasons.clear();
    this.locationMissing.clear();
    await this.flush();
    this.outbox.clear();
    this.photoUrls.clear();
    this.repo.clear();
    this.auth.clear();
    this.logoutWhenSent = false;
    if (this.store) await this.store.wipe();
    else await wipeDatabase();
    // Reopened (with a new key) only at the next login, so nothing is left behind.
    this.store = null;
  }

  private async logoutIfAllSent(): Promise<void> {
    if (this.logoutWhenSent && this.unsentWork() === 0) await this.logoutNow();
  }

  // ---- documents ---------------------------------------------------------------

  /** The catalog document, once it has arrived (it comes with the first sync). */
  catalog(): Doc | null {
    return this.repo.catalog();
  }

  kindOf(id: string): DocKind | null {
    return this.repo.kindOf(id);
  }

  /** Changes not acknowledged plus photos not uploaded: what a logout would lose. */
  unsentWork(): number {
    return this.totalPending() + this.photos.length;
  }

  totalPending(): number {
    return this.repo.totalPending();
  }

  pendingSince(): number | null {
    return this.repo.pendingSince();
  }

  /** Create a walk (model/repository.ts `newWalk`). */
  newWalk(init: Omit<NewWalk, 'team'> & { team?: string }, setup?: (doc: Doc) => void): Promise<string> {
    return this.repo.newWalk(init, setup);
  }

  /** Create a spreekuur session (model/repository.ts `newSession`). */
  newSession(init: Omit<NewSpreekuur, 'team'> & { team?: string }, setup?: (doc: Doc) => void): Promise<string> {
    return this.repo.newSession(init, setup);
  }

  /**
   * One user action (model/repository.ts `edit`): all edits `f` makes or
   * none, committed with `photos` in one transaction before it resolves;
   * rejects with a DocError (refused by the model) or a StoreError (not
   * stored). In both cases the form keeps its content so the user can correct
   * or retry.
   */
  async edit<T>(docId: string, f: (doc: Doc) => T, opts: { photos?: ProcessedPhoto[] } = {}): Promise<T> {
    const photos = (opts.photos ?? []).map((p) => PhotoOutbox.write(p));
    const result = await this.repo.edit(docId, f, photos);
    this.outbox.added(photos);
    return result;
  }

  // ---- late GPS fix -------------------------------------------------------------

  /**
   * An observation was saved while the quick entry still showed "GPS zoeken…":
   * wait (at most `timeoutMs`, while the app is open) for a position and attach
   * it to that same observation as one more action. When none comes (error,
   * permission denied, timeout), or the edit cannot be stored, the walk screen
   * says so until dismissed. A location the user set meanwhile is never replaced.
   */
  attachLateLocation(docId: string, itemId: string, timeoutMs = LATE_FIX_MS): void {
    if (this.lateFixes.has(itemId)) return;
    let done = false;
    let watch: number | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const stop = () => {
      done = true;
      if (watch !== null) navigator.geolocation.clearWatch(watch);
      if (timer !== null) clearTimeout(timer);
      this.lateFixes.delete(itemId);
      // A document that left the scope waited for this fix.
      this.client?.recheck(docId);
    };
    const fail = () => {
      if (done) return;
      stop();
      this.markLocationMissing(docId, itemId);
    };
    this.lateFixes.set(itemId, { docId, stop });
    if (!('geolocation' in navigator)) return fail();
    timer = setTimeout(fail, timeoutMs);
    watch = navigator.geolocation.watchPosition(
      (p) => {
        if (done) return;
        stop();
        void this.setLateLocation(docId, itemId, { lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: p.coords.accuracy });
      },
      (e) => {
        // A denied permission will not change while we wait; a timeout or an
        // unavailable position may still turn into a fix before our deadline.
        if (e.code === e.PERMISSION_DENIED) fail();
      },
      { enableHighAccuracy: true, maximumAge: 10_000, timeout: timeoutMs },
    );
    this.emit();
  }

  /** Whether a late fix is still awaited for this observation. */
  awaitingLocation(itemId: string): boolean {
    return this.lateFixes.has(itemId);
  }

  dismissLocationMissing(docId: string): void {
    this.locationMissing.delete(docId);
    this.emit();
  }

  private markLocationMissing(docId: string, itemId: string): void {
    const row = this.docs.get(docId)?.rows().find((r) => r.item_id === itemId);
    // Deleted meanwhile, or the user set a location by hand: nothing to warn about.
    if (row && !row.deleted && !row.location) {
      this.locationMissing.set(docId, [...(this.locationMissing.get(docId) ?? []).filter((x) => x !== itemId), itemId]);
    }
    this.emit();
  }

  private async setLateLocation(docId: string, itemId: string, loc: { lat: number; lon: number; accuracy_m: number }): Promise<void> {
    const row = this.docs.get(docId)?.rows().find((r) => r.item_id === itemId);
    if (!row || row.deleted || row.location) return this.emit();
    try {
      await this.edit(docId, (d) => d.setLocation(itemId, loc));
      this.emit();
    } catch {
      // Refused or not stored: the observation has no location, so say so.
      this.markLocationMissing(docId, itemId);
    }
  }

  // ---- photos --------------------------------------------------------------------

  /** Store a photo and reference it from an existing observation or note. */
  async attachPhoto(docId: string, itemId: string, photo: ProcessedPhoto): Promise<void> {
    await this.edit(docId, (d) => d.addPhoto(itemId, `sha256:${photo.sha}`), { photos: [photo] });
  }

  /** Where a photo stands on this device: in the outbox (waiting, uploading, refused) or not (sent). */
  photoState(sha: string): PhotoState {
    return this.outbox.state(sha);
  }

  /** The user asks to send a refused photo again. */
  retryPhoto(sha: string): Promise<void> {
    return this.outbox.retry(sha);
  }

  /** The user gives up on a refused photo: it leaves the outbox (the reference in the document stays). */
  discardPhoto(sha: string): Promise<void> {
    return this.outbox.discard(sha);
  }

  private requireStore(): LocalStore {
    if (!this.store) throw new StoreError('unavailable', 'store not open');
    return this.store;
  }
}

function deviceName(): string {
  const ua = navigator.userAgent;
  if (/Android/i.test(ua)) return 'Android';
  if (/iPhone|iPad/i.test(ua)) return 'iOS';
  return 'Browser';
}

export const app = new App();
