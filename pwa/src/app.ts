// The app's state and actions: documents in memory (wasm), the local store,
// the sync client, the session. Components read `app` and subscribe to
// changes; every edit goes through `app.edit()`, which resolves only after the
// change is committed to IndexedDB (then the UI may say "opgeslagen").

import { Doc, SyncState, type NewSession, type NewWalk, type DocKind } from './model/doc';
import { LocalStore, StoreError, toStoreError, wipeDatabase, type SyncRecord } from './store/db';
import { SyncClient, type ConnStatus } from './sync/client';
import { AuthError, login as restLogin, logout as restLogout, refresh as restRefresh, type Session } from './sync/auth';
import { jwtExpiry, type DocAnnouncement, type ServerUser } from './sync/frames';
import { PhotoUploader } from './photo/uploader';
import type { ProcessedPhoto } from './photo/process';
import { clearPhotoUrls } from './photo/urls';
import type { PhotoInfo } from './store/db';

/** Compact a document (save() + drop change records) after this many change records. */
const COMPACT_AFTER = 50;
/** Refresh the access token this long before it expires. */
const REFRESH_MARGIN_MS = 30_000;

export type Dialog =
  | { type: 'logout'; pending: number; photos: number }
  | { type: 'logout-waiting' }
  | { type: 'revoked'; pending: number; photos: number }
  | null;

export type SaveState = { kind: 'idle' } | { kind: 'saving' } | { kind: 'saved'; at: number } | { kind: 'error'; error: StoreError };

export type Notice = 'logout.done' | 'login.again' | null;

/** How long a fix is awaited for an observation saved while GPS was searching. */
export const LATE_FIX_MS = 60_000;

export class App {
  store: LocalStore | null = null;
  session: Session | null = null;
  docs = new Map<string, Doc>();
  sync = new Map<string, SyncRecord>();
  pending = new Map<string, number>();
  catalogId: string | null = null;
  conn: ConnStatus = 'offline';
  saveState: SaveState = { kind: 'idle' };
  storeError: StoreError | null = null;
  docErrors = new Map<string, string>();
  dialog: Dialog = null;
  notice: Notice = null;
  authNeeded = false;
  persistDenied = false;
  version = 0;
  /** The photo outbox (oldest first): processed photos not yet confirmed by the server. */
  photos: PhotoInfo[] = [];
  uploader: PhotoUploader | null = null;

  private client: SyncClient | null = null;
  private writes: Promise<unknown> = Promise.resolve();
  private changeCounts = new Map<string, number>();
  private needsFullSave = new Set<string>();
  private logoutWhenSent = false;
  private listeners = new Set<() => void>();
  /** Observations saved while GPS was still searching, by item id: the fix is attached when it comes. */
  private lateFixes = new Map<string, { docId: string; stop: () => void }>();
  /** Per walk: observations whose late fix never came (shown on the walk screen until dismissed). */
  locationMissing = new Map<string, string[]>();

  subscribe(f: () => void): () => void {
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
    window.addEventListener('online', () => this.uploader?.kick());
    // After a logout the database is gone; it is created again only at login.
    if (!(await LocalStore.exists())) {
      this.emit();
      return;
    }
    this.store = await LocalStore.open();
    this.persistDenied = !(await LocalStore.requestPersistence());
    this.session = await this.store.getMeta<Session>('session');
    this.catalogId = await this.store.getMeta<string>('catalogId');
    this.sync = await this.store.loadAllSync();
    this.photos = await this.store.listPhotos();
    const user = this.session?.user.id;
    for (const sd of await this.store.loadAllDocs()) {
      try {
        const doc = Doc.load(sd.id, sd.saved, sd.changes, user);
        const actor = this.sync.get(sd.id)?.actor;
        if (actor) doc.setActorId(actor);
        this.docs.set(sd.id, doc);
        this.changeCounts.set(sd.id, sd.changes.length);
      } catch (e) {
        this.docErrors.set(sd.id, (e as { code?: string }).code ?? 'invalid_document');
      }
    }
    this.recomputeAllPending();
    if (this.session) {
      this.startSync();
      this.startUploader();
    }
    this.emit();
  }

  /** Wait until every queued write is committed. */
  async flush(): Promise<void> {
    await this.writes.catch(() => undefined);
  }

  private enqueue<T>(f: () => Promise<T>): Promise<T> {
    const p = this.writes.then(f, f);
    this.writes = p.catch(() => undefined);
    return p;
  }

  // ---- session -----------------------------------------------------------------

  get user(): ServerUser | null {
    return this.session?.user ?? null;
  }

  async login(username: string, password: string): Promise<void> {
    const s = await restLogin(username, password, deviceName());
    if (this.session && this.session.user.id !== s.user.id) {
      if (this.unsentWork() > 0) {
        void restLogout(s.refreshToken);
        throw new AuthError('refused', 'wrong_user');
      }
      // Another user's data without anything unsent: wipe it first.
      await this.wipeLocal();
    }
    if (!this.store) {
      this.store = await LocalStore.open();
      this.persistDenied = !(await LocalStore.requestPersistence());
    }
    const store = this.store;
    this.session = s;
    this.authNeeded = false;
    this.notice = null;
    for (const d of this.docs.values()) d.setUser(s.user.id);
    await this.enqueue(() => store.putMeta('session', s));
    this.startSync();
    this.startUploader();
    this.emit();
  }

  private startSync(): void {
    this.client?.stop();
    this.client = new SyncClient({
      localDocIds: () => [...this.docs.keys()],
      docFor: (id) => this.docFor(id),
      accessToken: (force) => this.accessToken(force),
      newSyncState: () => new SyncState(),
      onReady: (user, docs) => this.onReady(user, docs),
      onAnnounce: (d) => this.onAnnounce(d),
      applyRemote: (id, apply) => this.applyRemote(id, apply),
      onAck: (id, heads) => this.onAck(id, heads),
      onServerError: (doc, code) => {
        this.docErrors.set(doc ?? '', code);
        this.emit();
      },
      onRevoked: () => void this.onRevoked(),
      onStatus: (s) => {
        this.conn = s;
        if (s === 'auth_needed') this.authNeeded = true;
        // The server is reachable again: photos need not wait for their backoff.
        if (s === 'online') this.uploader?.kick();
        this.emit();
      },
      hasPending: () => this.totalPending() > 0,
    });
    this.client.start();
  }

  private refreshing: Promise<string | 'refused' | 'revoked'> | null = null;

  private accessToken(force: boolean): Promise<string | 'refused' | 'revoked'> {
    const s = this.session;
    if (!s) return Promise.resolve('refused');
    const exp = Math.min(s.accessExp, jwtExpiry(s.accessToken) ?? s.accessExp);
    if (!force && exp - REFRESH_MARGIN_MS > Date.now()) return Promise.resolve(s.accessToken);
    // One refresh at a time: refresh tokens rotate, and presenting the old one
    // twice would make the server revoke the whole device.
    this.refreshing ??= this.refreshNow(s).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refreshNow(s: Session): Promise<string | 'refused' | 'revoked'> {
    try {
      const next = await restRefresh(s.refreshToken);
      this.session = next;
      await this.enqueue(() => this.requireStore().putMeta('session', next));
      return next.accessToken;
    } catch (e) {
      // "revoked": the device was signed out or the user disabled: wipe, like close code 4003.
      if (e instanceof AuthError && e.kind === 'refused') return e.code === 'revoked' ? 'revoked' : 'refused';
      throw e;
    }
  }

  /**
   * A valid access token for REST calls (refreshed first when it is nearly
   * expired, or when `force` is set after a 401); null when the user must log
   * in again.
   */
  async apiToken(force = false): Promise<string | null> {
    const tok = await this.accessToken(force);
    return tok === 'refused' || tok === 'revoked' ? null : tok;
  }

  /**
   * Sync one document now (creating an empty local replica to receive it if
   * this device does not hold it yet), e.g. when a coordinator opens an item.
   */
  requestDoc(id: string): void {
    if (!this.client) return;
    this.client.nudge(id);
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
    const s = this.session;
    this.client?.stop();
    this.client = null;
    this.uploader?.stop();
    if (s) await restLogout(s.refreshToken);
    await this.wipeLocal();
    this.notice = 'logout.done';
    this.dialog = null;
    this.emit();
  }

  private async onRevoked(): Promise<void> {
    const n = this.totalPending();
    const photos = this.photos.length;
    this.dialog = { type: 'revoked', pending: n, photos };
    this.client = null;
    this.uploader?.stop();
    // The device may be lost: wipe at once; the dialog tells the user what happened.
    await this.wipeLocal();
    this.dialog = { type: 'revoked', pending: n, photos };
    this.emit();
  }

  private async wipeLocal(): Promise<void> {
    for (const w of this.lateFixes.values()) w.stop();
    this.lateFixes.clear();
    this.locationMissing.clear();
    await this.flush();
    this.uploader?.stop();
    this.uploader = null;
    this.photos = [];
    clearPhotoUrls();
    for (const d of this.docs.values()) d.free();
    this.docs.clear();
    this.sync.clear();
    this.pending.clear();
    this.changeCounts.clear();
    this.docErrors.clear();
    this.catalogId = null;
    this.session = null;
    this.logoutWhenSent = false;
    if (this.store) await this.store.wipe();
    else await wipeDatabase();
    // Reopened (with a new key) only at the next login, so nothing is left behind.
    this.store = null;
  }

  // ---- documents ---------------------------------------------------------------

  /** The catalog document, once it has arrived (it comes with the first sync). */
  catalog(): Doc | null {
    const d = this.catalogId ? this.docs.get(this.catalogId) : undefined;
    return d && d.kind() === 'catalog' ? d : null;
  }

  kindOf(id: string): DocKind | null {
    return this.docs.get(id)?.kind() ?? ((this.sync.get(id)?.kind as DocKind) || null);
  }

  private docFor(id: string): Doc {
    let d = this.docs.get(id);
    if (!d) {
      d = Doc.empty(id, this.session?.user.id);
      this.docs.set(id, d);
      this.syncRec(id).actor = d.actorId();
    }
    return d;
  }

  private syncRec(id: string): SyncRecord {
    let r = this.sync.get(id);
    if (!r) {
      r = { kind: this.docs.get(id)?.kind() ?? '', ackedHeads: [], pendingSince: null };
      this.sync.set(id, r);
    }
    return r;
  }

  private recomputePending(id: string): number {
    const d = this.docs.get(id);
    if (!d) return 0;
    const r = this.syncRec(id);
    let n: number;
    try {
      n = d.pendingChanges(r.ackedHeads);
    } catch {
      n = 0;
    }
    this.pending.set(id, n);
    if (n === 0) r.pendingSince = null;
    else r.pendingSince ??= Date.now();
    return n;
  }

  private recomputeAllPending(): void {
    for (const id of this.docs.keys()) this.recomputePending(id);
  }

  /** Changes not acknowledged plus photos not uploaded: what a logout would lose. */
  unsentWork(): number {
    return this.totalPending() + this.photos.length;
  }

  totalPending(): number {
    let n = 0;
    for (const v of this.pending.values()) n += v;
    return n;
  }

  pendingSince(): number | null {
    let min: number | null = null;
    for (const [id, n] of this.pending) {
      const t = this.sync.get(id)?.pendingSince ?? null;
      if (n > 0 && t !== null && (min === null || t < min)) min = t;
    }
    return min;
  }

  /**
   * Create a walk. `team` defaults to the user's own; coordinators plan for
   * any team (the server then takes the team from the document). `setup`
   * runs further typed edits (e.g. expected participants) before the first save.
   */
  newWalk(init: Omit<NewWalk, 'team'> & { team?: string }, setup?: (doc: Doc) => void): Promise<string> {
    const u = this.requireUser();
    const id = crypto.randomUUID();
    const doc = Doc.newWalk(id, this.requireCatalog(), u.id, { ...init, team: init.team ?? u.team ?? '' });
    setup?.(doc);
    return this.adopt(id, doc, 'walk');
  }

  /** Create a spreekuur session (`team` and `setup` as for newWalk). */
  newSession(init: Omit<NewSession, 'team'> & { team?: string }, setup?: (doc: Doc) => void): Promise<string> {
    const u = this.requireUser();
    const id = crypto.randomUUID();
    const doc = Doc.newSpreekuur(id, this.requireCatalog(), u.id, { ...init, team: init.team ?? u.team ?? '' });
    setup?.(doc);
    return this.adopt(id, doc, 'spreekuur');
  }

  /**
   * An access token for REST calls (refreshed first when it is nearly
   * expired, or always with `force`). Throws AuthError('refused') when the
   * server no longer accepts this device's session.
   */
  async restToken(force = false): Promise<string> {
    const tok = await this.accessToken(force);
    if (tok === 'revoked') {
      void this.onRevoked();
      throw new AuthError('refused', 'revoked');
    }
    if (tok === 'refused') {
      this.authNeeded = true;
      this.emit();
      throw new AuthError('refused', 'session_ended');
    }
    return tok;
  }

  private requireCatalog(): Doc {
    const c = this.catalog();
    if (!c) throw new Error('catalog not loaded');
    return c;
  }

  private async adopt(id: string, doc: Doc, kind: string): Promise<string> {
    this.docs.set(id, doc);
    const r = this.syncRec(id);
    r.kind = kind;
    r.actor = doc.actorId();
    doc.saveIncremental(); // everything so far is in the first save() below
    this.needsFullSave.add(id);
    await this.persist(id, new Uint8Array(0));
    return id;
  }

  /**
   * One user action: apply the edits `f` makes, all or none, and commit them
   * to IndexedDB in one transaction (with `photos`, the processed photos the
   * edits reference, in the same transaction). The returned promise resolves
   * after that commit (only then may the UI say "opgeslagen") and rejects:
   * - with a DocError when an edit was refused by the model: nothing was
   *   applied, nothing written;
   * - with a StoreError when the device could not store it: the document is
   *   reloaded from what IS stored, so the action is not applied in memory
   *   either (shown in the header's banner, never swallowed).
   * In both cases the form keeps its content so the user can correct or retry.
   */
  async edit<T>(docId: string, f: (doc: Doc) => T, opts: { photos?: ProcessedPhoto[] } = {}): Promise<T> {
    const doc = this.docs.get(docId);
    if (!doc) throw new Error('unknown document');
    const result = doc.action(f);
    const photos = (opts.photos ?? []).map((p) => ({ info: { sha: p.sha, size: p.bytes.length, addedAt: Date.now(), refused: null }, bytes: p.bytes }));
    try {
      await this.persist(docId, doc.saveIncremental(), photos);
    } catch (e) {
      await this.revert(docId);
      throw e;
    }
    if (photos.length > 0) {
      for (const it of photos) this.photos = [...this.photos.filter((p) => p.sha !== it.info.sha), it.info];
      this.emit();
      this.uploader?.kick();
    }
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

  /**
   * After a failed write: replace the in-memory document by what IndexedDB
   * holds, so that what the screen shows is what is stored. If even that
   * cannot be read, the in-memory document stays and the next successful
   * write stores it whole.
   */
  private async revert(docId: string): Promise<void> {
    try {
      const sd = await this.enqueue(() => this.requireStore().loadDoc(docId));
      const old = this.docs.get(docId);
      if (!sd || !old) return;
      const doc = Doc.load(docId, sd.saved, sd.changes, this.session?.user.id);
      const actor = this.sync.get(docId)?.actor;
      if (actor) doc.setActorId(actor);
      this.docs.set(docId, doc);
      old.free();
      this.changeCounts.set(docId, sd.changes.length);
      this.needsFullSave.delete(docId);
      this.recomputePending(docId);
    } catch {
      // keep the in-memory document; needsFullSave is set
    }
    this.emit();
  }

  private async persist(docId: string, bytes: Uint8Array, photos: { info: PhotoInfo; bytes: Uint8Array }[] = []): Promise<void> {
    const doc = this.docs.get(docId);
    if (!doc) return;
    this.recomputePending(docId);
    const rec = { ...this.syncRec(docId) };
    this.saveState = { kind: 'saving' };
    this.emit();
    try {
      await this.enqueue(async () => {
        const store = this.requireStore();
        const full = this.needsFullSave.has(docId) || (this.changeCounts.get(docId) ?? 0) >= COMPACT_AFTER;
        await store.writeDoc(docId, { saved: full ? doc.save() : undefined, change: full ? undefined : bytes, sync: rec, photos });
        if (full) {
          this.needsFullSave.delete(docId);
          this.changeCounts.set(docId, 0);
        } else if (bytes.length > 0) {
          this.changeCounts.set(docId, (this.changeCounts.get(docId) ?? 0) + 1);
        }
      });
      this.saveState = { kind: 'saved', at: Date.now() };
      this.storeError = null;
    } catch (e) {
      const err = toStoreError(e);
      // The in-memory change was not stored: the next successful write stores the whole document.
      this.needsFullSave.add(docId);
      this.storeError = err;
      this.saveState = { kind: 'error', error: err };
      this.emit();
      throw err;
    }
    this.client?.nudge(docId);
    this.emit();
  }

  // ---- sync host callbacks -------------------------------------------------------

  private async onReady(user: ServerUser, docs: DocAnnouncement[]): Promise<void> {
    if (this.session) {
      this.session = { ...this.session, user };
      const s = this.session;
      void this.enqueue(() => this.requireStore().putMeta('session', s)).catch(() => undefined);
    }
    for (const d of docs) await this.onAnnounce(d, false);
    this.emit();
  }

  private async onAnnounce(d: DocAnnouncement, emit = true): Promise<void> {
    const r = this.syncRec(d.id);
    r.kind = d.kind;
    // The server lists only durably stored heads.
    r.ackedHeads = d.heads;
    if (d.kind === 'catalog' && this.catalogId !== d.id) {
      this.catalogId = d.id;
      const id = d.id;
      await this.enqueue(() => this.requireStore().putMeta('catalogId', id)).catch((e) => this.reportStoreError(e));
    }
    if (this.docs.has(d.id)) this.recomputePending(d.id);
    const rec = { ...r };
    await this.enqueue(() => this.requireStore().putSync(d.id, rec)).catch((e) => this.reportStoreError(e));
    if (emit) this.emit();
  }

  private async applyRemote(id: string, apply: (doc: Doc) => void): Promise<void> {
    const doc = this.docFor(id);
    const r = this.syncRec(id);
    const cleanBefore = (this.pending.get(id) ?? this.recomputePending(id)) === 0;
    const before = doc.heads().join();
    apply(doc);
    if (doc.heads().join() === before) return;
    // Everything we had was on the server and the rest came from the server: all durable.
    if (cleanBefore) r.ackedHeads = doc.heads();
    if (!r.kind) r.kind = doc.kind() ?? '';
    if (r.kind === 'catalog' && !this.catalogId) this.catalogId = id;
    try {
      await this.persist(id, doc.saveIncremental());
    } catch {
      // already reported by persist(); the server still has these changes
    }
  }

  private async onAck(id: string, heads: string[]): Promise<void> {
    const r = this.syncRec(id);
    r.ackedHeads = heads;
    this.recomputePending(id);
    const rec = { ...r };
    this.docErrors.delete(id);
    await this.enqueue(() => this.requireStore().putSync(id, rec)).catch((e) => this.reportStoreError(e));
    this.emit();
    await this.logoutIfAllSent();
  }

  private async logoutIfAllSent(): Promise<void> {
    if (this.logoutWhenSent && this.unsentWork() === 0) await this.logoutNow();
  }

  // ---- photos --------------------------------------------------------------------

  private startUploader(): void {
    this.uploader?.stop();
    this.uploader = new PhotoUploader({
      list: async () => this.photos,
      read: (sha) => this.requireStore().getPhoto(sha),
      uploaded: async (sha) => {
        await this.enqueue(() => this.requireStore().deletePhoto(sha));
        this.photos = this.photos.filter((p) => p.sha !== sha);
        this.emit();
        await this.logoutIfAllSent();
      },
      refused: async (info, refusal) => {
        const next = { ...info, refused: refusal };
        await this.enqueue(() => this.requireStore().putPhotoInfo(next));
        this.photos = this.photos.map((p) => (p.sha === info.sha ? next : p));
        this.emit();
      },
      token: (force) => this.apiToken(force),
      changed: () => this.emit(),
    });
    this.uploader.kick();
  }

  /** Store a photo and reference it from an existing observation or note. */
  async attachPhoto(docId: string, itemId: string, photo: ProcessedPhoto): Promise<void> {
    await this.edit(docId, (d) => d.addPhoto(itemId, `sha256:${photo.sha}`), { photos: [photo] });
  }

  /** Where a photo stands on this device: in the outbox (waiting, uploading, refused) or not (sent). */
  photoState(sha: string): { kind: 'sent' } | { kind: 'waiting' } | { kind: 'uploading' } | { kind: 'refused'; info: PhotoInfo } {
    const p = this.photos.find((x) => x.sha === sha);
    if (!p) return { kind: 'sent' };
    if (p.refused) return { kind: 'refused', info: p };
    return this.uploader?.current === sha ? { kind: 'uploading' } : { kind: 'waiting' };
  }

  /** The user asks to send a refused photo again. */
  async retryPhoto(sha: string): Promise<void> {
    const p = this.photos.find((x) => x.sha === sha);
    if (!p) return;
    const next = { ...p, refused: null };
    await this.enqueue(() => this.requireStore().putPhotoInfo(next)).catch((e) => this.reportStoreError(e));
    this.photos = this.photos.map((x) => (x.sha === sha ? next : x));
    this.emit();
    this.uploader?.kick();
  }

  /** The user gives up on a refused photo: it leaves the outbox (the reference in the document stays). */
  async discardPhoto(sha: string): Promise<void> {
    await this.enqueue(() => this.requireStore().deletePhoto(sha)).catch((e) => this.reportStoreError(e));
    this.photos = this.photos.filter((x) => x.sha !== sha);
    this.emit();
    await this.logoutIfAllSent();
  }

  /** The bytes of a photo still in the outbox (for showing it offline), or null. */
  async localPhoto(sha: string): Promise<Uint8Array | null> {
    if (!this.store || !this.photos.some((p) => p.sha === sha)) return null;
    return this.store.getPhoto(sha).catch(() => null);
  }


  private reportStoreError(e: unknown): void {
    this.storeError = toStoreError(e);
    this.emit();
  }

  private requireStore(): LocalStore {
    if (!this.store) throw new StoreError('unavailable', 'store not open');
    return this.store;
  }

  private requireUser(): ServerUser {
    const u = this.session?.user;
    if (!u) throw new Error('not logged in');
    return u;
  }
}

function deviceName(): string {
  const ua = navigator.userAgent;
  if (/Android/i.test(ua)) return 'Android';
  if (/iPhone|iPad/i.test(ua)) return 'iOS';
  return 'Browser';
}

export const app = new App();
