// The photo outbox over the real encrypted local store (fake-indexeddb): the
// photos an edit stored leave it only when the server has them; a refusal is
// kept with its reason until the user retries or discards the photo. The
// server is a small in-test handler for PUT /api/v1/blobs/{sha}.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it } from 'vitest';
import { PhotoOutbox, type OutboxHost } from './outbox';
import { LocalStore } from '../store/db';
import { WriteQueue } from '../store/queue';
import type { ProcessedPhoto } from './process';

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
});

function photo(n: number): ProcessedPhoto {
  const bytes = new Uint8Array([0xff, 0xd8, n, n, 0xff, 0xd9]);
  return { sha: n.toString(16).padStart(64, '0'), bytes } as ProcessedPhoto;
}

/** What the server answers to each PUT, by sha; absent: 201. */
type Answers = Map<string, { status: number; body: unknown }>;

async function harness(answers: Answers = new Map()) {
  const store = await LocalStore.open();
  const queue = new WriteQueue();
  const received = new Map<string, Uint8Array>();
  const tokens: string[] = [];
  let left = 0;
  const host: OutboxHost = {
    store: () => store,
    queue,
    token: async () => 'tok',
    changed: () => undefined,
    left: async () => void left++,
    storeError: (e) => {
      throw e;
    },
  };
  const server: typeof fetch = async (url, init) => {
    const sha = String(url).split('/').pop()!;
    tokens.push(new Headers(init?.headers).get('authorization') ?? '');
    const a = answers.get(sha) ?? { status: 201, body: { sha } };
    if (a.status < 300) received.set(sha, new Uint8Array(await (init!.body as Blob).arrayBuffer()));
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'content-type': 'application/json' } });
  };
  const outbox = new PhotoOutbox(host, { fetch: server, random: () => 0, setTimer: () => 0, clearTimer: () => undefined });
  /** Store photos the way an edit does (in the document's transaction), then hand them to the outbox. */
  const add = async (...ps: ProcessedPhoto[]) => {
    const writes = ps.map((p, i) => PhotoOutbox.write(p, 1000 + i));
    await queue.run(() => store.writeDoc('doc', { sync: { kind: 'walk', ackedHeads: [], pendingSince: null }, photos: writes }));
    outbox.added(writes);
  };
  return { store, outbox, received, tokens, add, left: () => left };
}

describe('PhotoOutbox', () => {
  it('sends the stored photos oldest first; each leaves the outbox and the store only once the server has it', async () => {
    const h = await harness();
    const [a, b] = [photo(1), photo(2)];
    await h.add(a, b);
    expect(h.outbox.state(a.sha)).toEqual({ kind: 'waiting' });
    expect(await h.outbox.local(a.sha)).toEqual(a.bytes);

    h.outbox.start();
    await h.outbox.uploader!.settled();
    expect([...h.received.keys()]).toEqual([a.sha, b.sha]);
    expect(h.received.get(b.sha)).toEqual(b.bytes);
    expect(h.tokens).toEqual(['Bearer tok', 'Bearer tok']);
    expect(h.outbox.photos).toEqual([]);
    expect(await h.store.listPhotos()).toEqual([]);
    expect(h.outbox.state(a.sha)).toEqual({ kind: 'sent' });
    expect(await h.outbox.local(a.sha)).toBeNull();
    expect(h.left()).toBe(2);
  });

  it("keeps a refused photo with the server's reason, also after a restart, until the user retries it", async () => {
    const answers: Answers = new Map();
    const h = await harness(answers);
    const p = photo(3);
    answers.set(p.sha, { status: 413, body: { code: 'too_large', message: 'the photo is too large' } });
    await h.add(p);
    h.outbox.start();
    await h.outbox.uploader!.settled();

    const refused = { code: 'too_large', message: 'the photo is too large', status: 413 };
    expect(h.outbox.state(p.sha)).toEqual({ kind: 'refused', info: expect.objectContaining({ sha: p.sha, refused }) });
    const stored = await h.store.listPhotos();
    expect(stored).toEqual([expect.objectContaining({ sha: p.sha, refused })]);

    // After a restart the refusal is still there and nothing is sent by itself.
    const again = new PhotoOutbox({ store: () => h.store, queue: new WriteQueue(), token: async () => 'tok', changed: () => undefined, left: async () => undefined, storeError: () => undefined });
    again.restore(stored);
    expect(again.state(p.sha).kind).toBe('refused');

    answers.delete(p.sha);
    await h.outbox.retry(p.sha);
    await h.outbox.uploader!.settled();
    expect(h.received.has(p.sha)).toBe(true);
    expect(await h.store.listPhotos()).toEqual([]);
  });

  it('a discarded photo leaves the outbox and the store without being sent', async () => {
    const answers: Answers = new Map();
    const h = await harness(answers);
    const p = photo(4);
    answers.set(p.sha, { status: 415, body: { code: 'unsupported_type', message: 'not a photo' } });
    await h.add(p);
    h.outbox.start();
    await h.outbox.uploader!.settled();
    await h.outbox.discard(p.sha);
    expect(h.outbox.photos).toEqual([]);
    expect(await h.store.listPhotos()).toEqual([]);
    expect(await h.store.getPhoto(p.sha)).toBeNull();
    expect(h.received.size).toBe(0);
    expect(h.left()).toBe(1);
  });

  it('clear() forgets the outbox and stops sending', async () => {
    const h = await harness();
    await h.add(photo(5));
    h.outbox.start();
    h.outbox.clear();
    expect(h.outbox.photos).toEqual([]);
    expect(h.outbox.uploader).toBeNull();
  });
});
