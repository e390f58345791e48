// Seeds a real `wijklog serve` over the sync protocol, fast: documents built
// with the wasm document model in node (the same typed edits the app makes,
// with explicit times, so walks can lie weeks in the past) and sent on one
// sync socket of a boa, all at once; resolves when the server has acked every
// document's heads (so it is committed and projected, listed by the REST API).

import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { PASSWORD } from './helpers.mjs';
import { WijkDoc, SyncState } from '../node/wasm.mjs';

const WebSocket = createRequire(new URL('../node/package.json', import.meta.url))('ws');

const CATEGORIES = ['jeugdoverlast', 'vervuiling', 'vernieling', 'verkeer', 'openbare_ruimte'];
const SEVERITIES = ['informatief', 'aandacht', 'zorgelijk'];
const DAY = 86_400_000;

/** @param {string} id */
function uuidBytes(id) {
  return Buffer.from(id.replaceAll('-', ''), 'hex');
}

/**
 * @typedef {object} WalkPlan
 * @property {string} title
 * @property {number} at        planned and started at (ms)
 * @property {number} observations
 * @property {boolean} [running] started, not ended (else ended two hours after `at`)
 * @property {boolean} [feedbackEvery] every observation needs feedback
 * @property {boolean} [planned] planned at `at`, not started (no observations)
 * @property {{ lat: number, lon: number }[]} [locations] the observations' positions, in order (else spread over Huizen)
 */

/**
 * Walks of `username` (a boa of `team`), each with its observations, sent on
 * one socket; returns `{ ids, items }` (document ids in plan order, observation count).
 * @param {{ origin: string, port: number }} server
 * @param {string} username
 * @param {string} team
 * @param {WalkPlan[]} plans
 */
export async function seedWalks(server, username, team, plans) {
  const res = await fetch(`${server.origin}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD, device_name: 'seed' }),
  });
  if (!res.ok) throw new Error(`seed login ${username}: HTTP ${res.status}`);
  const { access_token: token, user } = await res.json();
  const catalog = WijkDoc.newCatalog(randomUUID());
  /** @type {Map<string, { doc: any, state: any, heads: string }>} */
  const docs = new Map();
  const ids = [];
  let items = 0;
  for (const [w, plan] of plans.entries()) {
    const id = randomUUID();
    const doc = WijkDoc.newWalk(id, catalog, user.id, { title: plan.title, wijk: 'oostermeent', team, planned_at: plan.at }, plan.at - DAY);
    if (!plan.planned) doc.startWalk({ at: plan.at });
    for (let i = 0; i < plan.observations; i++, items++) {
      doc.addObservation(
        catalog,
        {
          category: CATEGORIES[(w + i) % CATEGORIES.length],
          severity: SEVERITIES[items % SEVERITIES.length],
          text: `${plan.title}: waarneming ${i + 1}`,
          location: plan.locations?.[i]
            ? { ...plan.locations[i], accuracy_m: 10 }
            : { lat: 52.28 + ((items * 37) % 400) / 10000, lon: 5.22 + ((items * 53) % 500) / 10000, accuracy_m: 10 },
          feedback_needed: plan.feedbackEvery === true,
        },
        { at: plan.at + (i + 1) * 60_000 },
      );
    }
    if (!plan.running && !plan.planned) doc.endWalk({ at: plan.at + 2 * 3_600_000 });
    docs.set(id, { doc, state: new SyncState(), heads: [...doc.heads()].sort().join() });
    ids.push(id);
  }

  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/v1/sync`);
  /** @type {{ bin?: Buffer, json?: any }[]} */
  const inbox = [];
  let wake = () => {};
  ws.on('message', (/** @type {Buffer} */ data, /** @type {boolean} */ isBinary) => {
    inbox.push(isBinary ? { bin: Buffer.from(data) } : { json: JSON.parse(data.toString()) });
    wake();
  });
  await new Promise((r) => ws.on('open', r));
  const next = async () => {
    const deadline = Date.now() + 60_000;
    while (inbox.length === 0) {
      if (Date.now() > deadline) throw new Error('seed: the server went silent');
      await new Promise((r) => ((wake = () => r(undefined)), setTimeout(r, 200)));
    }
    return /** @type {{ bin?: Buffer, json?: any }} */ (inbox.shift());
  };
  /** @param {string} id */
  const send = (id) => {
    const d = /** @type {{ doc: any, state: any }} */ (docs.get(id));
    for (;;) {
      const msg = d.doc.generateSyncMessage(d.state);
      if (!msg) break;
      ws.send(Buffer.concat([uuidBytes(id), Buffer.from(msg)]));
    }
  };
  ws.send(JSON.stringify({ type: 'auth', token }));
  if ((await next()).json?.type !== 'ready') throw new Error('seed: no ready');
  for (const id of ids) send(id);
  const waiting = new Set(ids);
  while (waiting.size > 0) {
    const m = await next();
    if (m.bin) {
      const id = [...docs.keys()].find((k) => uuidBytes(k).equals(/** @type {Buffer} */ (m.bin).subarray(0, 16)));
      if (!id) continue;
      const d = /** @type {{ doc: any, state: any }} */ (docs.get(id));
      d.doc.receiveSyncMessage(d.state, new Uint8Array(/** @type {Buffer} */ (m.bin).subarray(16)));
      send(id);
    } else if (m.json?.type === 'ack') {
      const d = docs.get(m.json.doc);
      if (d && [...m.json.heads].sort().join() === d.heads) waiting.delete(m.json.doc);
    } else if (m.json?.type === 'error') {
      throw new Error(`seed: server error ${m.json.code} (${m.json.message})`);
    }
  }
  ws.close();
  for (const d of docs.values()) d.doc.free();
  catalog.free();
  return { ids, items };
}

/**
 * The ids of the documents in the app's IndexedDB (a document record, a
 * change record or a sync record), read by script in the page.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<string[]>}
 */
export async function storedDocIds(page) {
  return page.evaluate(async () => {
    /** @type {IDBDatabase} */
    const db = await new Promise((res, rej) => {
      const r = indexedDB.open('wijklog');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    /** @param {string} store @param {'keys' | 'values'} what */
    const all = (store, what) =>
      new Promise((res, rej) => {
        const tx = db.transaction(store, 'readonly');
        const r = what === 'keys' ? tx.objectStore(store).getAllKeys() : tx.objectStore(store).getAll();
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
    const ids = new Set();
    for (const k of /** @type {IDBValidKey[]} */ (await all('docs', 'keys'))) ids.add(String(k));
    for (const k of /** @type {IDBValidKey[]} */ (await all('sync', 'keys'))) ids.add(String(k));
    for (const c of /** @type {{ docId: string }[]} */ (await all('changes', 'values'))) ids.add(c.docId);
    db.close();
    return [...ids].sort();
  });
}
