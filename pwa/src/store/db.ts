// Local store of the field app: what is kept where.
//
// One IndexedDB database, "wijklog" (version 2), with seven object stores:
//
//   keys     "main" -> CryptoKey (AES-GCM 256, extractable=false). The only
//            value that is not encrypted (it cannot be: it is the key).
//   docs     docId -> { id, rec }   rec = encrypted automerge save() bytes of the
//            document (walk, spreekuur or catalog) at the last compaction.
//   changes  auto-increment -> { docId, rec }   rec = encrypted output of one
//            saveIncremental() after an edit or after applying received sync
//            messages; index "byDoc" on docId. Loading a document = load(saved)
//            + loadIncremental(each change in key order). Compaction writes a
//            fresh save() and deletes that document's change records in ONE
//            transaction, so a crash leaves either the old or the new state.
//            A local user action is ONE transaction (writeDoc): its change
//            record (or the compaction), the document's sync record and the
//            photos it references — all committed, or none.
//   sync     docId -> rec: encrypted { ackedHeads: hex[], pendingSince: ms|null,
//            kind, actor } — the heads the server confirmed as durably stored
//            (from `ready`, `doc` and `ack` frames). SyncState itself is never
//            stored: a fresh one starts with every connection.
//   meta     "session" -> rec: encrypted { access/refresh token, user, device };
//            "catalogId" -> rec: encrypted catalog document id;
//            "evicted" -> rec: encrypted ids of documents that left the device
//            (the last 500); "leaving" -> rec: encrypted [docId, 'out' |
//            'back' | 'unsubscribed'][]: documents leaving the sync scope and
//            where each stands (sync/client.ts), restored after a reload;
//            "finished" -> rec: encrypted ids of documents the user said
//            "Klaar" for that are still on the device (app.ts `finish`).
//   photos   sha256 hex -> rec: encrypted bytes of a processed photo (JPEG)
//            waiting for upload: the photo outbox (added in version 2).
//   photoInfo sha256 hex -> rec: encrypted { sha, size, addedAt, refused:
//            {code, message} | null } for the same photo. Both records are
//            written and deleted in one transaction. A photo leaves the outbox
//            only when the server confirmed it (201/200) or the user discards it.
//
// Upgrades: version 1 -> 2 adds photos + photoInfo and keeps everything else;
// opening a version-1 database runs only that step (see upgrade() below).
//
// Every record is AES-GCM encrypted with a random 12-byte IV; the additional
// data binds it to "<store>/<key>" so records cannot be swapped around.
// Every transaction is awaited to completion (`tx.done` settles on complete,
// error and abort), so a promise returned from here resolves only once the
// data is committed, and rejects with a StoreError (code "quota" for a full
// disk) otherwise — callers show that error, they never swallow it.
// wipe() closes the connection and deletes the whole database.

import { openDB, deleteDB, type IDBPDatabase, type DBSchema } from 'idb';
import { decryptBytes, decryptJson, encryptBytes, encryptJson, generateKey, type EncRecord } from './crypto';

export const DB_NAME = 'wijklog';
const DB_VERSION = 2;

interface Schema extends DBSchema {
  keys: { key: string; value: CryptoKey };
  docs: { key: string; value: { id: string; rec: EncRecord } };
  changes: { key: number; value: { docId: string; rec: EncRecord }; indexes: { byDoc: string } };
  sync: { key: string; value: EncRecord };
  meta: { key: string; value: EncRecord };
  photos: { key: string; value: EncRecord };
  photoInfo: { key: string; value: EncRecord };
}

/** A refusal by the server of an uploaded photo (its error body). */
export interface PhotoRefusal {
  code: string;
  message: string;
  status: number;
}

/** What the outbox knows about one photo (without its bytes). */
export interface PhotoInfo {
  /** SHA-256 of the bytes, lowercase hex. */
  sha: string;
  size: number;
  addedAt: number;
  /** Set when the server refused the upload; the photo waits for the user. */
  refused: PhotoRefusal | null;
}

export type StoreErrorCode = 'quota' | 'unavailable' | 'corrupt' | 'aborted' | 'blocked';

/** A storage failure the UI must show. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export function toStoreError(e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  const name = (e as { name?: string } | null)?.name ?? '';
  if (name === 'QuotaExceededError') return new StoreError('quota', 'storage quota exceeded');
  if (name === 'OperationError') return new StoreError('corrupt', 'a stored record could not be decrypted');
  if (name === 'AbortError') return new StoreError('aborted', 'the storage transaction was aborted');
  if (name === 'InvalidStateError' || name === 'UnknownError')
    return new StoreError('unavailable', 'storage is not available');
  return new StoreError('unavailable', `storage failed (${name || 'unknown'})`);
}

export interface SyncRecord {
  kind: string;
  ackedHeads: string[];
  /** When the oldest local change that the server has not acked was made. */
  pendingSince: number | null;
  /** This device's automerge actor id for the document (hex), restored after load. */
  actor?: string;
  /**
   * The epoch of the server's history this copy follows (absent: 0). When the
   * server announces a later one, the copy is replaced (an erasure rewrote it).
   */
  epoch?: number;
}

export interface StoredDoc {
  id: string;
  saved: Uint8Array | null;
  changes: Uint8Array[];
}

export class LocalStore {
  private constructor(
    private db: IDBPDatabase<Schema>,
    private key: CryptoKey,
  ) {}

  /** Open (creating if needed) the database and the device key. */
  static async open(): Promise<LocalStore> {
    let db: IDBPDatabase<Schema>;
    try {
      db = await openDB<Schema>(DB_NAME, DB_VERSION, {
        upgrade(d, oldVersion) {
          if (oldVersion < 1) {
            d.createObjectStore('keys');
            d.createObjectStore('docs', { keyPath: 'id' });
            const ch = d.createObjectStore('changes', { autoIncrement: true });
            ch.createIndex('byDoc', 'docId');
            d.createObjectStore('sync');
            d.createObjectStore('meta');
          }
          if (oldVersion < 2) {
            d.createObjectStore('photos');
            d.createObjectStore('photoInfo');
          }
        },
        blocking() {
          // Another tab wants to upgrade or delete the database: let it.
          db.close();
        },
      });
    } catch (e) {
      throw toStoreError(e);
    }
    let key = await settle(db.get('keys', 'main'));
    if (!key) {
      const fresh = await generateKey();
      const tx = db.transaction('keys', 'readwrite');
      // add() fails if another tab created a key meanwhile; then use theirs.
      const existing = await tx.store.get('main');
      if (!existing) await tx.store.add(fresh, 'main');
      await settle(tx.done);
      key = existing ?? fresh;
    }
    return new LocalStore(db, key);
  }

  /** Whether the database exists (without creating it). */
  static async exists(): Promise<boolean> {
    try {
      if (!indexedDB.databases) return true;
      return (await indexedDB.databases()).some((d) => d.name === DB_NAME);
    } catch {
      return true;
    }
  }

  /** Ask the browser not to evict our data. Returns whether it agreed. */
  static async requestPersistence(): Promise<boolean> {
    try {
      if (!navigator.storage?.persist) return false;
      if (await navigator.storage.persisted()) return true;
      return await navigator.storage.persist();
    } catch {
      return false;
    }
  }

  // ---- documents ---------------------------------------------------------

  async loadAllDocs(): Promise<StoredDoc[]> {
    const tx = this.db.transaction(['docs', 'changes'], 'readonly');
    const docsP = tx.objectStore('docs').getAll();
    const chP = tx.objectStore('changes').getAll();
    const [docs, changes] = await settle(Promise.all([docsP, chP, tx.done]));
    const byId = new Map<string, StoredDoc>();
    for (const d of docs) {
      byId.set(d.id, { id: d.id, saved: await this.dec(d.rec, `docs/${d.id}`), changes: [] });
    }
    // getAll() on the auto-increment store returns records in key (= append) order.
    for (const c of changes) {
      let entry = byId.get(c.docId);
      if (!entry) {
        entry = { id: c.docId, saved: null, changes: [] };
        byId.set(c.docId, entry);
      }
      entry.changes.push(await this.dec(c.rec, `changes/${c.docId}`));
    }
    return [...byId.values()];
  }

  /**
   * The one local write of a user action: the document's new change record
   * (or, with `saved`, the whole document replacing its records), its sync
   * record and any photos it references, in ONE transaction. Resolves once
   * that transaction committed; rejects and leaves everything as it was
   * otherwise. Everything is encrypted before the transaction opens (an
   * IndexedDB transaction commits by itself when it waits on anything else).
   */
  async writeDoc(
    docId: string,
    w: { change?: Uint8Array; saved?: Uint8Array; sync: SyncRecord; photos?: { info: PhotoInfo; bytes: Uint8Array }[] },
  ): Promise<void> {
    const change = w.change && w.change.length > 0 ? await encryptBytes(this.key, w.change, `changes/${docId}`) : null;
    const saved = w.saved ? await encryptBytes(this.key, w.saved, `docs/${docId}`) : null;
    const sync = await encryptJson(this.key, w.sync, `sync/${docId}`);
    const photos = await Promise.all(
      (w.photos ?? []).map(async (p) => ({
        sha: p.info.sha,
        bytes: await encryptBytes(this.key, p.bytes, `photos/${p.info.sha}`),
        info: await encryptJson(this.key, p.info, `photoInfo/${p.info.sha}`),
      })),
    );
    const stores = ['docs', 'changes', 'sync', ...(photos.length > 0 ? ['photos', 'photoInfo'] : [])] as ('docs' | 'changes' | 'sync' | 'photos' | 'photoInfo')[];
    const tx = this.db.transaction(stores, 'readwrite');
    const work = (async () => {
      for (const p of photos) {
        await tx.objectStore('photos').put(p.bytes, p.sha);
        await tx.objectStore('photoInfo').put(p.info, p.sha);
      }
      if (saved) {
        await tx.objectStore('docs').put({ id: docId, rec: saved });
        const idx = tx.objectStore('changes').index('byDoc');
        let cursor = await idx.openKeyCursor(IDBKeyRange.only(docId));
        while (cursor) {
          await tx.objectStore('changes').delete(cursor.primaryKey);
          cursor = await cursor.continue();
        }
      } else if (change) {
        await tx.objectStore('changes').add({ docId, rec: change });
      }
      await tx.objectStore('sync').put(sync, docId);
    })();
    await settle(Promise.all([work, tx.done]));
  }

  /** One document as stored (saved bytes and change records in order), or null. */
  async loadDoc(docId: string): Promise<StoredDoc | null> {
    const tx = this.db.transaction(['docs', 'changes'], 'readonly');
    const docP = tx.objectStore('docs').get(docId);
    const chP = tx.objectStore('changes').index('byDoc').getAll(IDBKeyRange.only(docId));
    const [doc, changes] = await settle(Promise.all([docP, chP, tx.done]));
    if (!doc && changes.length === 0) return null;
    const out: StoredDoc = { id: docId, saved: doc ? await this.dec(doc.rec, `docs/${docId}`) : null, changes: [] };
    // The index returns records in primary-key (= append) order within one doc.
    for (const c of changes) out.changes.push(await this.dec(c.rec, `changes/${docId}`));
    return out;
  }

  /**
   * Remove a document from the device (it left this device's scope, and
   * every change of it was acked): its saved bytes, change records and sync
   * record, in ONE transaction.
   */
  async deleteDoc(docId: string): Promise<void> {
    const tx = this.db.transaction(['docs', 'changes', 'sync'], 'readwrite');
    const work = (async () => {
      await tx.objectStore('docs').delete(docId);
      const idx = tx.objectStore('changes').index('byDoc');
      let cursor = await idx.openKeyCursor(IDBKeyRange.only(docId));
      while (cursor) {
        await tx.objectStore('changes').delete(cursor.primaryKey);
        cursor = await cursor.continue();
      }
      await tx.objectStore('sync').delete(docId);
    })();
    await settle(Promise.all([work, tx.done]));
  }

  async countChanges(docId: string): Promise<number> {
    return settle(this.db.countFromIndex('changes', 'byDoc', IDBKeyRange.only(docId)));
  }

  // ---- sync bookkeeping --------------------------------------------------

  async putSync(docId: string, value: SyncRecord): Promise<void> {
    const rec = await encryptJson(this.key, value, `sync/${docId}`);
    const tx = this.db.transaction('sync', 'readwrite');
    await settle(Promise.all([tx.store.put(rec, docId), tx.done]));
  }

  async loadAllSync(): Promise<Map<string, SyncRecord>> {
    const tx = this.db.transaction('sync', 'readonly');
    const [keys, values] = await settle(Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done]));
    const out = new Map<string, SyncRecord>();
    for (let i = 0; i < keys.length; i++) {
      out.set(keys[i], await decryptJson<SyncRecord>(this.key, values[i], `sync/${keys[i]}`).catch(rethrow));
    }
    return out;
  }

  // ---- meta (session, catalog id) ------------------------------------------

  async putMeta(name: string, value: unknown): Promise<void> {
    const rec = await encryptJson(this.key, value, `meta/${name}`);
    const tx = this.db.transaction('meta', 'readwrite');
    await settle(Promise.all([tx.store.put(rec, name), tx.done]));
  }

  async getMeta<T>(name: string): Promise<T | null> {
    const rec = await settle(this.db.get('meta', name));
    if (!rec) return null;
    return decryptJson<T>(this.key, rec, `meta/${name}`).catch(rethrow);
  }

  async deleteMeta(name: string): Promise<void> {
    const tx = this.db.transaction('meta', 'readwrite');
    await settle(Promise.all([tx.store.delete(name), tx.done]));
  }

  // ---- photo outbox ---------------------------------------------------------

  /** Update a photo's info (e.g. mark it refused); a no-op when the photo is gone. */
  async putPhotoInfo(info: PhotoInfo): Promise<void> {
    const rec = await encryptJson(this.key, info, `photoInfo/${info.sha}`);
    const tx = this.db.transaction(['photos', 'photoInfo'], 'readwrite');
    const work = (async () => {
      if ((await tx.objectStore('photos').count(info.sha)) > 0) await tx.objectStore('photoInfo').put(rec, info.sha);
    })();
    await settle(Promise.all([work, tx.done]));
  }

  async listPhotos(): Promise<PhotoInfo[]> {
    const tx = this.db.transaction('photoInfo', 'readonly');
    const [keys, values] = await settle(Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done]));
    const out: PhotoInfo[] = [];
    for (let i = 0; i < keys.length; i++) {
      out.push(await decryptJson<PhotoInfo>(this.key, values[i], `photoInfo/${keys[i]}`).catch(rethrow));
    }
    return out.sort((a, b) => a.addedAt - b.addedAt);
  }

  /** The bytes of a photo in the outbox, or null when it is not (or no longer) there. */
  async getPhoto(sha: string): Promise<Uint8Array | null> {
    const rec = await settle(this.db.get('photos', sha));
    return rec ? this.dec(rec, `photos/${sha}`) : null;
  }

  /** Remove a photo from the outbox (uploaded, or discarded by the user). */
  async deletePhoto(sha: string): Promise<void> {
    const tx = this.db.transaction(['photos', 'photoInfo'], 'readwrite');
    await settle(Promise.all([tx.objectStore('photos').delete(sha), tx.objectStore('photoInfo').delete(sha), tx.done]));
  }

  // ---- wipe ---------------------------------------------------------------

  /** Close the connection and delete the whole database (documents, photo outbox, key, session). */
  async wipe(): Promise<void> {
    this.db.close();
    await wipeDatabase();
  }

  private async dec(rec: EncRecord, aad: string): Promise<Uint8Array> {
    return decryptBytes(this.key, rec, aad).catch(rethrow);
  }
}

/** Delete the database even when no LocalStore could be opened. */
export async function wipeDatabase(): Promise<void> {
  await settle(
    deleteDB(DB_NAME, {
      blocked() {
        // Another tab still has it open; deletion completes once it closes
        // (our `blocking` handler closes it).
      },
    }),
  );
}

function rethrow(e: unknown): never {
  throw toStoreError(e);
}

/** Await an IndexedDB promise, turning every failure into a StoreError. */
async function settle<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw toStoreError(e);
  }
}
