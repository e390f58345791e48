// The document repository with the real wasm model and the real encrypted
// local store (IndexedDB from fake-indexeddb): what an edit promises ("saved"
// means stored), what a refused edit or a failed write leaves behind, and what
// sync reports do to the counts of unsent changes.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { COMPACT_AFTER, DocRepository, type RepositoryHost } from './repository';
import { Doc, DocError } from './doc';
import { LocalStore, StoreError } from '../store/db';
import { WriteQueue } from '../store/queue';
import { loadWasmForTests, newCatalog, syncDocs } from '../testing/wasm';
import type { ServerUser } from '../sync/frames';

const USER: ServerUser = { id: 'boa-1', name: 'Boa Een', roles: ['boa'], team: 'team-oost' };
const CATALOG_ID = '00000000-0000-4000-8000-00000000ca7a';
const g = globalThis as { __wijklogFailEdit?: string };

beforeAll(loadWasmForTests);
beforeEach(() => {
  // A fresh, empty IndexedDB for every test.
  globalThis.indexedDB = new IDBFactory();
});
afterEach(() => {
  delete g.__wijklogFailEdit;
});

interface Harness {
  repo: DocRepository;
  store: LocalStore;
  stored: string[];
  /** The next write finds no open store. */
  failNextWrite(): void;
}

async function harness(store?: LocalStore): Promise<Harness> {
  const s = store ?? (await LocalStore.open());
  const stored: string[] = [];
  let fail = false;
  const host: RepositoryHost = {
    store: () => {
      if (fail) {
        fail = false;
        throw new StoreError('unavailable', 'store not open');
      }
      return s;
    },
    queue: new WriteQueue(),
    user: () => USER,
    changed: () => undefined,
    stored: (id) => stored.push(id),
  };
  return { repo: new DocRepository(host), store: s, stored, failNextWrite: () => (fail = true) };
}

/** The catalog arrives the way it does in the app: announced by the server, then synced in. */
async function receiveCatalog(repo: DocRepository): Promise<void> {
  const server = newCatalog(CATALOG_ID, 'admin-1');
  await repo.announced({ id: CATALOG_ID, kind: 'catalog', heads: server.heads(), epoch: 0 });
  await repo.applyRemote(CATALOG_ID, (doc) => syncDocs(server, doc));
  server.free();
}

/** A second repository over what the first one stored. */
async function reopen(): Promise<DocRepository> {
  const store = await LocalStore.open();
  const { repo } = await harness(store);
  repo.load(await store.loadAllDocs(), await store.loadAllSync(), await store.getMeta<string>('catalogId'));
  return repo;
}

function observe(repo: DocRepository, walk: string, text: string): Promise<string> {
  return repo.edit(walk, (d) => d.addObservation(repo.catalog()!, { category: 'jeugdoverlast', severity: 'aandacht', text }));
}

describe('DocRepository', () => {
  it('an edit resolves after it is stored: a repository over the same store shows it, with the same count of unsent changes', async () => {
    const { repo, stored } = await harness();
    await receiveCatalog(repo);
    expect(repo.catalog()?.catalog().categories.length).toBeGreaterThan(0);
    expect(repo.pending.get(CATALOG_ID)).toBe(0);

    const walk = await repo.newWalk({ title: 'Avondronde', wijk: 'centrum' });
    const item = await observe(repo, walk, 'Groep bij de Roef');
    expect(stored).toContain(walk);
    expect(repo.saveState.kind).toBe('saved');
    expect(repo.totalPending()).toBeGreaterThan(0);
    expect(repo.pendingSince()).not.toBeNull();

    const again = await reopen();
    expect(again.catalogId).toBe(CATALOG_ID);
    expect(again.docs.get(walk)!.walk()).toMatchObject({ title: 'Avondronde', wijk: 'centrum', team: 'team-oost', created_by: USER.id });
    expect(again.docs.get(walk)!.rows().map((r) => [r.item_id, r.text])).toEqual([[item, 'Groep bij de Roef']]);
    expect(again.pending.get(walk)).toBe(repo.pending.get(walk));
  });

  it('a refused edit applies nothing and writes nothing', async () => {
    const { repo, store } = await harness();
    await receiveCatalog(repo);
    const walk = await repo.newWalk({ title: 'Ronde', wijk: 'centrum' });
    const item = await observe(repo, walk, 'eerst');
    const heads = repo.docs.get(walk)!.heads();
    const changes = await store.countChanges(walk);

    g.__wijklogFailEdit = 'setPlace';
    const err = await repo.edit(walk, (d) => {
      d.setText(item, 'eerst', 'anders');
      d.setPlace(item, 'de Roef');
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DocError);
    expect(repo.docs.get(walk)!.heads()).toEqual(heads);
    expect(repo.docs.get(walk)!.rows()[0].text).toBe('eerst');
    expect(await store.countChanges(walk)).toBe(changes);
  });

  it('a write that fails puts back what is stored and says why; the next write stores again', async () => {
    const h = await harness();
    const { repo } = h;
    await receiveCatalog(repo);
    const walk = await repo.newWalk({ title: 'Ronde', wijk: 'centrum' });
    await observe(repo, walk, 'opgeslagen');

    h.failNextWrite();
    const err = await observe(repo, walk, 'niet opgeslagen').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(repo.saveState).toMatchObject({ kind: 'error', error: { code: 'unavailable' } });
    expect(repo.storeError?.code).toBe('unavailable');
    // The screen shows what is stored, not the lost action.
    expect(repo.docs.get(walk)!.rows().map((r) => r.text)).toEqual(['opgeslagen']);

    await observe(repo, walk, 'weer goed');
    expect(repo.storeError).toBeNull();
    const again = await reopen();
    expect(again.docs.get(walk)!.rows().map((r) => r.text).sort()).toEqual(['opgeslagen', 'weer goed']);
    expect(again.pending.get(walk)).toBe(repo.pending.get(walk));
  });

  it(`compacts a document after ${COMPACT_AFTER} change records, keeping every edit`, async () => {
    const { repo, store } = await harness();
    await receiveCatalog(repo);
    const walk = await repo.newWalk({ title: 'Ronde', wijk: 'centrum' });
    expect(await store.countChanges(walk)).toBe(0);
    for (let i = 0; i < COMPACT_AFTER; i++) await observe(repo, walk, `waarneming ${i}`);
    expect(await store.countChanges(walk)).toBe(COMPACT_AFTER);
    await observe(repo, walk, 'de volgende');
    expect(await store.countChanges(walk)).toBe(0);
    expect((await reopen()).docs.get(walk)!.rows()).toHaveLength(COMPACT_AFTER + 1);
  });

  it('an ack of the heads clears the unsent count, also after a reload', async () => {
    const { repo } = await harness();
    await receiveCatalog(repo);
    const walk = await repo.newWalk({ title: 'Ronde', wijk: 'centrum' });
    await observe(repo, walk, 'een');
    expect(repo.pending.get(walk)).toBeGreaterThan(0);

    await repo.acked(walk, repo.docs.get(walk)!.heads());
    expect(repo.pending.get(walk)).toBe(0);
    expect(repo.pendingSince()).toBeNull();
    expect((await reopen()).totalPending()).toBe(0);

    await observe(repo, walk, 'twee');
    expect(repo.pending.get(walk)).toBe(1);
  });

  it("applies another device's changes from the server, stores them, and counts none of them as unsent", async () => {
    const { repo } = await harness();
    await receiveCatalog(repo);
    const walk = await repo.newWalk({ title: 'Ronde', wijk: 'centrum' });
    await repo.acked(walk, repo.docs.get(walk)!.heads());

    // Another phone edits the same walk.
    const other = Doc.load(walk, repo.docs.get(walk)!.save(), [], 'boa-2');
    other.addObservation(repo.catalog()!, { category: 'jeugdoverlast', severity: 'urgent', text: 'van de ander' });
    await repo.applyRemote(walk, (doc) => syncDocs(other, doc));
    other.free();

    expect(repo.docs.get(walk)!.rows().map((r) => [r.text, r.created_by])).toEqual([['van de ander', 'boa-2']]);
    expect(repo.pending.get(walk)).toBe(0);
    expect((await reopen()).docs.get(walk)!.rows()).toHaveLength(1);
  });

  it('a document whose stored bytes cannot be read is listed with its error code; the others load', async () => {
    const { repo, store } = await harness();
    await receiveCatalog(repo);
    const walk = await repo.newWalk({ title: 'Ronde', wijk: 'centrum' });
    const broken = crypto.randomUUID();
    await store.writeDoc(broken, { saved: new Uint8Array([1, 2, 3, 4]), sync: { kind: 'walk', ackedHeads: [], pendingSince: null } });
    const again = await reopen();
    expect(again.docs.has(walk)).toBe(true);
    expect(again.docs.has(broken)).toBe(false);
    expect(again.docErrors.get(broken)).toMatch(/./);
  });

  it('a later epoch pauses a held document until its copy is replaced; the replacement is stored whole, with the epoch', async () => {
    const { repo, store } = await harness();
    await receiveCatalog(repo);
    const walk = await repo.newWalk({ title: 'Ronde', wijk: 'centrum' });
    await observe(repo, walk, 'gestuurd');
    const acked = repo.docs.get(walk)!.heads();
    await repo.acked(walk, acked);
    // The server's copy (here: the acked history plus a colleague's change).
    const server = Doc.load(walk, repo.docs.get(walk)!.save(), [], 'boa-2');
    server.addObservation(repo.catalog()!, { category: 'jeugdoverlast', severity: 'urgent', text: 'van de server' });
    // Unsent on this device.
    await observe(repo, walk, 'nog niet gestuurd');
    await observe(repo, walk, 'ook niet');
    expect(await store.countChanges(walk)).toBeGreaterThan(0);

    await repo.announced({ id: walk, kind: 'walk', heads: server.heads(), epoch: 1 });
    expect(repo.rewritten.get(walk)).toBe(1);
    // The old copy's acked heads stay: the announced ones belong to the new history.
    expect(repo.sync.get(walk)!.ackedHeads).toEqual(acked);
    // A refusal for the old history is not shown as an error: the copy is replaced.
    repo.serverError(walk, 'document_rewritten');
    expect(repo.docErrors.has(walk)).toBe(false);

    // Bytes that are no document change nothing.
    const before = repo.docs.get(walk)!.heads();
    await expect(repo.replaceCopy(walk, new Uint8Array([1, 2, 3]), 1)).rejects.toBeInstanceOf(DocError);
    expect(repo.docs.get(walk)!.heads()).toEqual(before);
    expect(repo.rewritten.has(walk)).toBe(true);

    await repo.replaceCopy(walk, server.save(), 1);
    expect(repo.rewritten.has(walk)).toBe(false);
    expect(
      repo.docs
        .get(walk)!
        .rows()
        .map((r) => r.text)
        .sort(),
    ).toEqual(['gestuurd', 'nog niet gestuurd', 'ook niet', 'van de server']);
    // What the server sent counts as stored; the two unsent changes do not.
    expect(repo.sync.get(walk)!.ackedHeads).toEqual(server.heads());
    expect(repo.pending.get(walk)).toBe(2);
    // Stored whole: one saved document, no change record of the old copy left.
    expect(await store.countChanges(walk)).toBe(0);
    const again = await reopen();
    expect(again.sync.get(walk)!.epoch).toBe(1);
    expect(again.docs.get(walk)!.rows()).toHaveLength(4);
    expect(again.pending.get(walk)).toBe(2);
    // Announcing the same epoch again changes nothing.
    await again.announced({ id: walk, kind: 'walk', heads: server.heads(), epoch: 1 });
    expect(again.rewritten.has(walk)).toBe(false);
    server.free();
  });

  it('evict refuses a document with unacked changes; after their ack it removes it from memory and from the store, and nothing else', async () => {
    const { repo, store } = await harness();
    await receiveCatalog(repo);
    const walk = await repo.newWalk({ title: 'Oude ronde', wijk: 'centrum' });
    await observe(repo, walk, 'offline getypt');
    const other = await repo.newWalk({ title: 'Andere ronde', wijk: 'centrum' });
    expect(repo.pendingOf(walk)).toBeGreaterThan(0);
    expect(repo.knownToServer(walk)).toBe(false);

    expect(await repo.evict(walk)).toBe(false);
    expect(repo.docs.get(walk)!.rows().map((r) => r.text)).toEqual(['offline getypt']);
    expect((await store.loadDoc(walk))?.changes.length ?? 0).toBeGreaterThan(0);

    await repo.acked(walk, repo.docs.get(walk)!.heads());
    expect(repo.pendingOf(walk)).toBe(0);
    expect(repo.knownToServer(walk)).toBe(true);
    expect(await repo.evict(walk)).toBe(true);
    expect(repo.docs.has(walk)).toBe(false);
    expect(repo.sync.has(walk)).toBe(false);
    expect(await store.loadDoc(walk)).toBeNull();
    expect((await store.loadAllSync()).has(walk)).toBe(false);

    const again = await reopen();
    expect(again.docs.has(walk)).toBe(false);
    expect(again.docs.get(other)!.walk().title).toBe('Andere ronde');
    expect(again.catalog()).not.toBeNull();
  });

  it('an edit made while an eviction waits in the write queue keeps the document and the edit', async () => {
    const { repo, store } = await harness();
    await receiveCatalog(repo);
    const walk = await repo.newWalk({ title: 'Ronde', wijk: 'centrum' });
    await repo.acked(walk, repo.docs.get(walk)!.heads());
    const evicting = repo.evict(walk);
    const typed = observe(repo, walk, 'net op tijd');
    expect(await evicting).toBe(false);
    await typed;
    expect(repo.pendingOf(walk)).toBeGreaterThan(0);
    const again = await reopen();
    expect(again.docs.get(walk)!.rows().map((r) => r.text)).toEqual(['net op tijd']);
    expect(await store.loadDoc(walk)).not.toBeNull();
  });

  it('refuses to create a walk before the catalog has arrived', async () => {
    const { repo } = await harness();
    expect(() => repo.newWalk({ title: 'Ronde', wijk: 'centrum' })).toThrow('catalog not loaded');
  });
});
