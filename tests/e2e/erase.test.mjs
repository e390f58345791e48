// Erasure reaches the phone. A spreekuur worker notes a resident's name,
// phone and story; the phone syncs, loses its network, and the worker keeps
// working: a new note, and a correction of the resident's story. Meanwhile a
// coordinator erases that note (POST /api/v1/items/{doc}/{id}/erase). When
// the network is back the app learns the new epoch, fetches the rewritten
// history, carries its unsent work over and replaces its stored copy. Read
// back through the app's own encrypted store (decrypted with the device key,
// as the app reads it) and loaded with @automerge/automerge, the phone's
// document and its full history hold none of the erased values; the new note
// is kept and reaches the server; the screen says that the correction of the
// erased note was not kept. A positive control finds every marker in the same
// place before the erasure.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Proxy, launchBrowser, loggedInPhone, waitAllSent, restLogin } from './helpers.mjs';
import { deviceCopy, historyOf } from './device-copy.mjs';

/** @type {Server} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;

const NAME = 'Markeernaam Qwzx';
const PHONE = '06 9182 7364';
const TEXT = 'Markeertekst Plokj over de buren';
const CORRECTION = 'Correctiezin Mnbv';
const NEW_NOTE = 'Nieuwenotitie Lkjh';
const MARKERS = [NAME, PHONE, 'Plokj', 'Mnbv'];

before(async () => {
  server = await Server.start();
  await server.addUser('oov-sara', { roles: ['spreekuur'], team: 'team-oost', name: 'Sara' });
  await server.addUser('coord-cor', { roles: ['coordinator'], team: 'team-oost', name: 'Cor' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/**
 * @param {import('playwright-core').Page} page
 * @param {string} location
 */
async function newSession(page, location) {
  await page.getByRole('link', { name: 'Nieuw spreekuur' }).click();
  await page.getByLabel('Locatie (buurthuis)').fill(location);
  await page.getByLabel('Wijk').selectOption({ index: 1 });
  await page.getByRole('button', { name: 'Aanmaken' }).click();
  await page.getByRole('heading', { name: new RegExp(location) }).waitFor();
  return page.url().split('/session/')[1];
}

/**
 * @param {import('playwright-core').Page} page
 * @param {{ text: string, name?: string, phone?: string }} note
 */
async function addNote(page, { text, name = '', phone = '' }) {
  const form = page.locator('form.card-form');
  await form.locator('[data-category="woonoverlast"]').click();
  await page.getByTestId('note-text').fill(text);
  if (name || phone) {
    await page.getByTestId('consent').check();
    await page.getByLabel('Naam bewoner').fill(name);
    await page.getByLabel('Telefoon').fill(phone);
  }
  const before = await page.getByTestId('save-state').getAttribute('data-at');
  await page.getByTestId('note-save').click();
  await page.locator(`[data-testid="save-state"][data-state="saved"]:not([data-at="${before}"])`).waitFor();
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
async function noteId(page, text) {
  const el = page.getByTestId('item').filter({ has: page.getByTestId('item-text').filter({ hasText: text }) });
  await el.waitFor({ timeout: 15_000 });
  return /** @type {string} */ (await el.getAttribute('data-item-id'));
}

/** @param {string} text */
const markersIn = (text) => MARKERS.filter((m) => text.includes(m));

test('after an erasure the phone holds none of the erased values and keeps what was typed offline', async () => {
  const proxy = await Proxy.start(server.port);
  const { ctx, page } = await loggedInPhone(browser, proxy.origin, 'oov-sara');
  try {
    const docId = await newSession(page, 'Buurthuis de Wisselaar');
    await addNote(page, { text: TEXT, name: NAME, phone: PHONE });
    const erased = await noteId(page, TEXT);
    await waitAllSent(page);

    // Offline: a new note, and a correction of the note's story.
    proxy.cut();
    await ctx.setOffline(true);
    await page.locator('[data-testid="conn"]:not([data-conn="online"])').waitFor({ timeout: 15_000 });
    await addNote(page, { text: NEW_NOTE });
    const item = page.locator(`[data-item-id="${erased}"]`);
    await item.getByTestId('edit').click();
    await item.getByTestId('edit-text').fill(`${CORRECTION} ${TEXT}`);
    const before = await page.getByTestId('save-state').getAttribute('data-at');
    await item.getByTestId('edit-save').click();
    await page.locator(`[data-testid="save-state"][data-state="saved"]:not([data-at="${before}"])`).waitFor();
    const fresh = await noteId(page, NEW_NOTE);

    // Positive control: every marker is in the phone's decrypted copy.
    const old = await deviceCopy(page, docId);
    assert.deepEqual(markersIn(historyOf(old)).sort(), MARKERS.slice().sort());
    assert.equal(old.sync.epoch ?? 0, 0);

    // The coordinator erases the note.
    const token = await restLogin(server.origin, 'coord-cor');
    const res = await fetch(`${server.origin}/api/v1/items/${docId}/${erased}/erase`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ what: 'item', reason: 'Verzoek bewoner per brief' }),
    });
    assert.equal(res.status, 200, await res.text());

    // Back online: the copy is replaced and the offline note is sent.
    proxy.restore();
    await ctx.setOffline(false);
    await page.getByTestId('erased-dropped').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('erased-dropped').getAttribute('data-items'), erased);
    // The notice comes after the replaced copy is stored: one saved document, no change record left.
    const replaced = await deviceCopy(page, docId);
    assert.equal(replaced.sync.epoch, 1, 'the new epoch is stored');
    assert.equal(replaced.changes.length, 0, 'no change record of the old copy is left');
    await waitAllSent(page);

    const now = await deviceCopy(page, docId);
    const history = historyOf(now);
    assert.deepEqual(markersIn(history), [], 'no erased value in the phone\'s document or its history');
    assert.deepEqual(markersIn(JSON.stringify(now.sync)), []);
    assert.ok(history.includes(NEW_NOTE), 'the note typed offline is kept');

    // On screen: the new note; the erased note without its story or contact.
    assert.equal(await page.locator(`[data-item-id="${fresh}"]`).getByTestId('item-text').textContent(), NEW_NOTE);
    assert.doesNotMatch(await item.textContent() ?? '', /Plokj|Mnbv|Qwzx|9182/);
    await page.getByTestId('erased-dropped-dismiss').click();
    await page.getByTestId('erased-dropped').waitFor({ state: 'detached' });

    // On the server: the offline note arrived.
    let row = null;
    for (let i = 0; i < 300 && !row; i++) {
      const r = await fetch(`${server.origin}/api/v1/items/${docId}/${fresh}`, { headers: { Authorization: `Bearer ${token}` } });
      if (r.ok) row = (await r.json()).item;
      else await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(row?.text, NEW_NOTE);

    // After a reload the phone loads the replaced copy from its store.
    await page.reload();
    await noteId(page, NEW_NOTE);
    assert.doesNotMatch(await page.getByTestId('items').textContent() ?? '', /Plokj|Mnbv|Qwzx|9182/);
  } finally {
    await ctx.close();
    await proxy.close();
  }
});
