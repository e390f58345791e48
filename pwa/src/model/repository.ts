// The documents on this device: loaded from the local store at boot, created
// (walks, spreekuur sessions), edited by user actions and by sync, and each
// change committed to the local store before anyone is told it is saved.
//
// `edit()` is the only way a screen changes a document: it applies the edits
// of one user action (all or none, model/doc.ts `action`) and resolves only
// after the change is committed (then the UI may say "opgeslagen"). The sync
// client reaches documents through `docFor`, `applyRemote`, `announced` and
// `acked`; `pending` counts what the server has not confirmed yet.
//
// Rewritten documents: when the server announces a later epoch of a document
// this device holds (an erasure rewrote its history) or refuses its changes
// with `document_rewritten`, the document is listed in `rewritten` and is not
// synced until `replaceCopy` has replaced the local copy (memory and store)
// with the server's history and this device's unsent changes carried over.

import { Doc, type NewSpreekuur, type NewWalk, type DocKind } from './doc';
import { StoreError, toStoreError, type LocalStore, type PhotoInfo, type StoredDoc, type SyncRecord } from '../store/db';
import type { WriteQueue } from '../store/queue';
import type { DocAnnouncement, ServerUser } from '../sync/frames';

/** Compact a document (save() + drop change records) after this many change records. */
export const COMPACT_AFTER = 50;

export type SaveState = { kind: 'idle' } | { kind: 'saving' } | { kind: 'saved'; at: number } | { kind: 'error'; error: StoreError };

/** A processed photo to store in the same transaction as the edit that references it. */
export interface PhotoWrite {
  info: PhotoInfo;
  bytes: Uint8Array;
}

export interface RepositoryHost {
  /** The open local store (throws StoreError 'unavailable' when there is none). */
  store(): LocalStore;
  /** The queue every write of the app goes through. */
  readonly queue: WriteQueue;
  /** The logged-in user (who makes the edits), or null. */
  user(): ServerUser | null;
  /** Something the screens show changed. */
  changed(): void;
  /** A document changed and is stored: send it. */
  stored(docId: string): void;
}

export class DocRepository {
  docs = new Map<string, Doc>();
  sync = new Map<string, SyncRecord>();
  /** Per document: local changes the server has not confirmed. */
  pending = new Map<string, number>();
  catalogId: string | null = null;
  saveState: SaveState = { kind: 'idle' };
  storeError: StoreError | null = null;
  /** Per document: the code of an error (unreadable local copy, refused by the server). */
  docErrors = new Map<string, string>();
  /**
   * Documents whose history the server rewrote (an erasure): the epoch it
   * announced (null: not known yet, from a `document_rewritten` error). Not
   * synced until `replaceCopy` has run.
   */
  rewritten = new Map<string, number | null>();
  /** Per document: items whose offline edits were dropped because their data was erased (shown once). */
  droppedEdits = new Map<string, string[]>();
  private changeCounts = new Map<string, number>();
  private needsFullSave = new Set<string>();

  constructor(private readonly host: RepositoryHost) {}

  /** Take what the local store holds (at boot); a document that cannot be read is listed in docErrors. */
  load(stored: StoredDoc[], sync: Map<string, SyncRecord>, catalogId: string | null): void {
    this.sync = sync;
    this.catalogId = catalogId;
    const user = this.host.user()?.id;
    for (const sd of stored) {
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
    for (const id of this.docs.keys()) this.recomputePending(id);
  }

  /** Forget everything (the local data is being wiped). */
  clear(): void {
    for (const d of this.docs.values()) d.free();
    this.docs.clear();
    this.sync.clear();
    this.pending.clear();
    this.changeCounts.clear();
    this.needsFullSave.clear();
    this.docErrors.clear();
    this.rewritten.clear();
    this.droppedEdits.clear();
    this.catalogId = null;
  }

  /** Edits are made by this user from now on. */
  setUser(userId: string): void {
    for (const d of this.docs.values()) d.setUser(userId);
  }

  /** The catalog document, once it has arrived (it comes with the first sync). */
  catalog(): Doc | null {
    const d = this.catalogId ? this.docs.get(this.catalogId) : undefined;
    return d && d.kind() === 'catalog' ? d : null;
  }

  kindOf(id: string): DocKind | null {
    return this.docs.get(id)?.kind() ?? ((this.sync.get(id)?.kind as DocKind) || null);
  }

  /** The document, or an empty local replica to receive it into. */
  docFor(id: string): Doc {
    let d = this.docs.get(id);
    if (!d) {
      d = Doc.empty(id, this.host.user()?.id);
      this.docs.set(id, d);
      this.syncRec(id).actor = d.actorId();
    }
    return d;
  }

  /** This document's local changes the server has not acked (0 when it is not held). */
  pendingOf(id: string): number {
    if (!this.docs.has(id)) return 0;
    return this.pending.get(id) ?? this.recomputePending(id);
  }

  /** Whether the server ever confirmed this document (announced or acked heads). */
  knownToServer(id: string): boolean {
    return (this.sync.get(id)?.ackedHeads.length ?? 0) > 0;
  }

  /**
   * Remove a document from the device (it left this device's scope): from
   * memory and from the store, in the write queue's order, so every write
   * queued before it lands first. Refuses (false, nothing removed) when the
   * document has changes the server has not acked at that moment: unsynced
   * work is never evicted.
   */
  async evict(id: string): Promise<boolean> {
    return this.host.queue.run(async () => {
      if (this.pendingOf(id) > 0) return false;
      const doc = this.docs.get(id);
      this.docs.delete(id);
      doc?.free();
      this.sync.delete(id);
      this.pending.delete(id);
      this.changeCounts.delete(id);
      this.needsFullSave.delete(id);
      this.docErrors.delete(id);
      this.rewritten.delete(id);
      this.droppedEdits.delete(id);
      try {
        await this.host.store().deleteDoc(id);
      } catch (e) {
        // Gone from memory; the stored copy comes back at the next start and leaves again.
        this.reportStoreError(e);
      }
      this.host.changed();
      return true;
    });
  }

  totalPending(): number {
    let n = 0;
    for (const v of this.pending.values()) n += v;
    return n;
  }

  /** When the oldest change the server has not confirmed was made, or null. */
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
  newSession(init: Omit<NewSpreekuur, 'team'> & { team?: string }, setup?: (doc: Doc) => void): Promise<string> {
    const u = this.requireUser();
    const id = crypto.randomUUID();
    const doc = Doc.newSpreekuur(id, this.requireCatalog(), u.id, { ...init, team: init.team ?? u.team ?? '' });
    setup?.(doc);
    return this.adopt(id, doc, 'spreekuur');
  }

  /**
   * One user action: apply the edits `f` makes, all or none, and commit them
   * to the local store in one transaction (with `photos`, the processed
   * photos the edits reference, in the same transaction). Resolves after that
   * commit and rejects:
   * - with a DocError when an edit was refused by the model: nothing was
   *   applied, nothing written;
   * - with a StoreError when the device could not store it: the document is
   *   reloaded from what IS stored, so the action is not applied in memory
   *   either (shown in the header's banner, never swallowed).
   */
  async edit<T>(docId: string, f: (doc: Doc) => T, photos: PhotoWrite[] = []): Promise<T> {
    const doc = this.docs.get(docId);
    if (!doc) throw new Error('unknown document');
    const result = doc.action(f);
    try {
      await this.persist(docId, doc.saveIncremental(), photos);
    } catch (e) {
      await this.revert(docId);
      throw e;
    }
    return result;
  }

  // ---- what the sync client reports -------------------------------------------

  /** The server lists a document with its durably stored heads (`ready` or `doc` frame). */
  async announced(d: DocAnnouncement): Promise<void> {
    const r = this.syncRec(d.id);
    r.kind = d.kind;
    if (this.docs.has(d.id) && (r.epoch ?? 0) < d.epoch) {
      // Our copy holds the old history: it is replaced before it syncs again.
      // Its heads are not the server's, so nothing counts as acked meanwhile.
      this.rewritten.set(d.id, d.epoch);
      return;
    }
    r.epoch = d.epoch;
    r.ackedHeads = d.heads;
    if (d.kind === 'catalog' && this.catalogId !== d.id) {
      this.catalogId = d.id;
      const id = d.id;
      await this.host.queue.run(() => this.host.store().putMeta('catalogId', id)).catch((e) => this.reportStoreError(e));
    }
    if (this.docs.has(d.id)) this.recomputePending(d.id);
    const rec = { ...r };
    await this.host.queue.run(() => this.host.store().putSync(d.id, rec)).catch((e) => this.reportStoreError(e));
  }

  /** Apply what the server sent (`apply` receives sync messages into the document) and store it. */
  async applyRemote(id: string, apply: (doc: Doc) => void): Promise<void> {
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

  /** The server stored our changes up to `heads`. */
  async acked(id: string, heads: string[]): Promise<void> {
    const r = this.syncRec(id);
    r.ackedHeads = heads;
    this.recomputePending(id);
    const rec = { ...r };
    this.docErrors.delete(id);
    await this.host.queue.run(() => this.host.store().putSync(id, rec)).catch((e) => this.reportStoreError(e));
  }

  /** The server refused a document (or the whole connection when `doc` is null). */
  serverError(doc: string | null, code: string): void {
    if (doc && code === 'document_rewritten' && this.docs.has(doc)) {
      // Our copy predates an erasure the server made: replace it.
      if (!this.rewritten.has(doc)) this.rewritten.set(doc, null);
      return;
    }
    this.docErrors.set(doc ?? '', code);
  }

  /**
   * Replace the local copy of a rewritten document by the server's history
   * (`bytes`, the `save()` of its committed state at `epoch`): this device's
   * unsent changes are carried over (edits of erased fields dropped, listed
   * in `droppedEdits`), and the new copy replaces the old one in the store in
   * one transaction (saved bytes written, every change record deleted), so
   * the erased values are gone from the device. Rejects (changing nothing)
   * when the bytes do not continue this document or the store fails.
   */
  async replaceCopy(id: string, bytes: Uint8Array, epoch: number): Promise<void> {
    const doc = this.docs.get(id);
    if (!doc) return;
    const fetched = Doc.load(id, bytes, []);
    const heads = fetched.heads();
    fetched.free();
    const done = doc.replaceHistory(bytes);
    const r = this.syncRec(id);
    r.epoch = epoch;
    // Everything in the server's bytes is stored there.
    r.ackedHeads = heads;
    this.needsFullSave.add(id);
    await this.persist(id, new Uint8Array(0));
    // A later epoch announced meanwhile stays listed: replaced again.
    const wanted = this.rewritten.get(id);
    if (wanted === undefined || wanted === null || wanted <= epoch) this.rewritten.delete(id);
    this.docErrors.delete(id);
    if (done.droppedOn.length > 0) this.droppedEdits.set(id, [...(this.droppedEdits.get(id) ?? []), ...done.droppedOn]);
    this.host.changed();
  }

  /** A write outside an edit failed: shown in the header's banner. */
  reportStoreError(e: unknown): void {
    this.storeError = toStoreError(e);
    this.host.changed();
  }

  // ---- internals ------------------------------------------------------------------

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
   * After a failed write: replace the in-memory document by what the store
   * holds, so that what the screen shows is what is stored. If even that
   * cannot be read, the in-memory document stays and the next successful
   * write stores it whole.
   */
  private async revert(docId: string): Promise<void> {
    try {
      const sd = await this.host.queue.run(() => this.host.store().loadDoc(docId));
      const old = this.docs.get(docId);
      if (!sd || !old) return;
      const doc = Doc.load(docId, sd.saved, sd.changes, this.host.user()?.id);
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
    this.host.changed();
  }

  private async persist(docId: string, bytes: Uint8Array, photos: PhotoWrite[] = []): Promise<void> {
    const doc = this.docs.get(docId);
    if (!doc) return;
    this.recomputePending(docId);
    const rec = { ...this.syncRec(docId) };
    this.saveState = { kind: 'saving' };
    this.host.changed();
    try {
      await this.host.queue.run(async () => {
        const store = this.host.store();
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
      this.host.changed();
      throw err;
    }
    this.host.stored(docId);
    this.host.changed();
  }

  private requireCatalog(): Doc {
    const c = this.catalog();
    if (!c) throw new Error('catalog not loaded');
    return c;
  }

  private requireUser(): ServerUser {
    const u = this.host.user();
    if (!u) throw new Error('not logged in');
    return u;
  }
}
