// What a device keeps of one document, read back the way the app reads it:
// the encrypted IndexedDB records decrypted with the device key, and the
// whole automerge history of the copy loaded with @automerge/automerge.
// Used by the erasure tests to show that erased values are gone from a
// device (and, as a positive control, that they were there before).

import * as A from '@automerge/automerge';

/**
 * What the phone keeps of one document, decrypted the way the app decrypts
 * it (AES-GCM with the device key from the `keys` store, "<store>/<key>" as
 * additional data): the saved document, its change records and its sync record.
 * @param {import('playwright-core').Page} page
 * @param {string} docId
 */
export async function deviceCopy(page, docId) {
  return page.evaluate(async (docId) => {
    /** @type {IDBDatabase} */
    const db = await new Promise((res, rej) => {
      const r = indexedDB.open('wijklog');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    /** @param {IDBRequest} r @returns {Promise<any>} */
    const done = (r) =>
      new Promise((res, rej) => {
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
    const tx = db.transaction(['keys', 'docs', 'changes', 'sync'], 'readonly');
    const key = await done(tx.objectStore('keys').get('main'));
    const doc = await done(tx.objectStore('docs').get(docId));
    const changes = await done(tx.objectStore('changes').index('byDoc').getAll(IDBKeyRange.only(docId)));
    const sync = await done(tx.objectStore('sync').get(docId));
    db.close();
    /** @param {{ iv: Uint8Array<ArrayBuffer>, ct: ArrayBuffer }} rec @param {string} aad */
    const dec = async (rec, aad) =>
      Array.from(new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: rec.iv, additionalData: new TextEncoder().encode(aad) }, key, rec.ct)));
    return {
      saved: doc ? await dec(doc.rec, `docs/${docId}`) : null,
      changes: await Promise.all(changes.map((/** @type {any} */ c) => dec(c.rec, `changes/${docId}`))),
      sync: sync ? JSON.parse(new TextDecoder().decode(new Uint8Array(await dec(sync, `sync/${docId}`)))) : null,
    };
  }, docId);
}

/**
 * The whole history of the phone's copy, loaded with @automerge/automerge as
 * the app loads it (saved bytes, then each change record): every change
 * decoded, and the document as it was after each change.
 * @param {{ saved: number[] | null, changes: number[][] }} copy
 */
export function historyOf(copy) {
  let doc = copy.saved ? A.load(new Uint8Array(copy.saved)) : A.init();
  for (const c of copy.changes) doc = A.loadIncremental(doc, new Uint8Array(c));
  let out = '';
  for (const c of A.getAllChanges(doc)) {
    const change = A.decodeChange(c);
    out += `${JSON.stringify(change)}\n${JSON.stringify(A.view(doc, [change.hash]))}\n`;
  }
  return out;
}
