// The sync scope on the phone (docs/pwa.md "Sync scope on the device"). A
// boa's walk leaves the phone's scope while the phone is offline with an
// observation typed and not sent: the server comes back with windows of 0
// days (`sync.scope_past_days`, `sync.subscription_ttl_days`), so its `ready`
// no longer lists the walk. The phone keeps the walk — with the typed
// observation — for as long as the server has not acked it: its frames of
// that walk are held back (a WebSocket route in front of the page) while the
// test checks the screen, the settings and IndexedDB. Let through, the
// observation is stored and acked, and only then does the walk leave
// IndexedDB. Opened again ("Online openen"), the walk comes from the server
// with both observations: nothing typed is lost.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, newPhone, openApp, login, createWalk, addObservation, waitAllSent, itemTexts, axeSerious } from './helpers.mjs';

/** @type {Server} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;

const FIRST = 'Eerste waarneming Vlpq, verstuurd';
const TYPED = 'Offline getypt Zwkj bij de speeltuin';

before(async () => {
  server = await Server.start();
  await server.addUser('boa-bram', { roles: ['boa'], team: 'team-oost', name: 'Bram' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/**
 * Where a document is in the app's IndexedDB: its saved record, its sync
 * record and its change records (the keys and the `docId` field are not
 * encrypted; the contents are).
 * @param {import('playwright-core').Page} page
 * @param {string} id
 */
async function stored(page, id) {
  return page.evaluate(async (docId) => {
    /** @type {IDBDatabase} */
    const db = await new Promise((res, rej) => {
      const r = indexedDB.open('wijklog');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    /** @param {IDBRequest} r */
    const get = (r) => new Promise((res, rej) => {
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const tx = db.transaction(['docs', 'sync', 'changes'], 'readonly');
    const doc = await get(tx.objectStore('docs').count(docId));
    const sync = await get(tx.objectStore('sync').count(docId));
    const changes = await get(tx.objectStore('changes').index('byDoc').count(docId));
    db.close();
    return { doc, sync, changes };
  }, id);
}

test('a walk that leaves the scope while offline with an unsent observation stays on the phone until the ack, then leaves IndexedDB; nothing typed is lost', async () => {
  const ctx = await newPhone(browser, { origin: server.origin });
  const page = await ctx.newPage();
  // Frames from the page to the server whose first 16 bytes are this id (hex) are dropped.
  let hold = '';
  /** @type {any} */
  let route = null;
  await page.routeWebSocket(/\/api\/v1\/sync$/, (ws) => {
    route = ws;
    const upstream = ws.connectToServer();
    ws.onMessage((m) => {
      if (hold && typeof m !== 'string' && Buffer.from(m).subarray(0, 16).toString('hex') === hold) return;
      upstream.send(m);
    });
    upstream.onMessage((m) => ws.send(m));
  });

  try {
    await openApp(page, server.origin);
    await login(page, 'boa-bram');
    const walk = await createWalk(page, 'Ronde van vorige week');
    await addObservation(page, { text: FIRST });
    await waitAllSent(page);

    // Offline, the boa types one more observation.
    await ctx.setOffline(true);
    await page.locator('[data-testid="conn"][data-conn="offline"]').waitFor();
    await server.stop();
    await addObservation(page, { text: TYPED });
    await page.getByTestId('sync-indicator').filter({ hasText: /1 wijziging wacht sinds/ }).waitFor();

    // Meanwhile the walk's window passes: the server comes back with windows of 0 days.
    server.env = { ...server.env, WIJKLOG_SYNC_SCOPE_PAST_DAYS: '0', WIJKLOG_SYNC_SUBSCRIPTION_TTL_DAYS: '0', WIJKLOG_SYNC_SCOPE_CHECK_SECS: '1' };
    await server.boot();
    hold = walk.replace(/-/g, '');
    await ctx.setOffline(false);
    await page.locator('[data-testid="conn"][data-conn="online"]').waitFor({ timeout: 30_000 });

    // `ready` did not list the walk: it is leaving, and kept (on screen, with the typed observation unsent).
    await page.getByTestId('leaving').waitFor({ timeout: 30_000 });
    assert.deepEqual(await itemTexts(page), [TYPED, FIRST]);
    assert.match((await page.getByTestId('sync-indicator').textContent()) ?? '', /1 wijziging wacht sinds/);

    // Off the screen it still stays: its change is not acked.
    await page.getByTestId('nav-settings').click();
    await page.getByRole('heading', { name: 'Instellingen', level: 1 }).waitFor();
    await page.locator('[data-testid="held-docs"][data-walks="1"]').waitFor();
    assert.equal(await page.getByTestId('held-unsent').textContent(), 'Nog niet verstuurd: 1 wijziging.');
    await page.getByTestId('storage-used').filter({ hasText: /Wijklog gebruikt .+ van de .+ die de browser toestaat\./ }).waitFor();
    assert.deepEqual(await axeSerious(page), [], 'settings screen: no serious or critical axe violation');
    const kept = await stored(page, walk);
    assert.equal(kept.doc + kept.changes > 0, true, `walk still stored: ${JSON.stringify(kept)}`);
    assert.equal(kept.sync, 1);

    // Let the walk's frames through (a new socket: the client reconnects and sends the observation).
    hold = '';
    route.close({ code: 4000, reason: 'test: let the frames through' });
    await waitAllSent(page, 60_000);
    // Acked, unsubscribed, unscoped: gone from the phone.
    await page.locator('[data-testid="held-docs"][data-walks="0"]').waitFor({ timeout: 30_000 });
    assert.deepEqual(await stored(page, walk), { doc: 0, sync: 0, changes: 0 });
    await page.locator('.shell[data-catalog="ready"]').waitFor();
    await page.goto(`${server.origin}/#/`);
    await page.getByRole('heading', { name: 'Overzicht', level: 1 }).waitFor();
    assert.equal(await page.getByTestId('doc-link').filter({ hasText: 'Ronde van vorige week' }).count(), 0);

    // The walk's link now says where it went, and opens it from the server.
    await page.goto(`${server.origin}/#/walk/${walk}`);
    const gone = page.locator('[data-testid="not-on-device"][data-evicted="yes"]');
    await gone.waitFor();
    assert.equal(await gone.textContent(), 'Niet meer op dit toestel; online te openen.');
    assert.deepEqual(await axeSerious(page), [], 'not-on-device screen: no serious or critical axe violation');
    await page.getByTestId('open-online').click();
    await page.getByRole('heading', { name: 'Ronde van vorige week', level: 1 }).waitFor({ timeout: 30_000 });
    await page.getByTestId('items').waitFor();
    assert.deepEqual(await itemTexts(page), [TYPED, FIRST]);
  } finally {
    await ctx.close();
  }
});

test('a link to a document the server does not have: fetched once when online, then "Dit bestaat niet op de server."', async () => {
  if (!server.proc) await server.boot();
  const ctx = await newPhone(browser, { origin: server.origin });
  const page = await ctx.newPage();
  try {
    await openApp(page, server.origin);
    await login(page, 'boa-bram');
    await page.locator('[data-testid="conn"][data-conn="online"]').waitFor({ timeout: 30_000 });
    const missing = '5d7c9e1a-2b3c-4d5e-8f6a-7b8c9d0e1f2a';
    await page.goto(`${server.origin}/#/walk/${missing}`);
    const error = page.getByTestId('open-online-error');
    await error.waitFor({ timeout: 30_000 });
    assert.equal(await error.getAttribute('data-code'), 'not_found');
    assert.equal(await error.textContent(), 'Dit bestaat niet op de server.');
    assert.equal(await page.getByTestId('not-on-device').getAttribute('data-evicted'), 'no');
    // Nothing was created on the device for it.
    assert.deepEqual(await stored(page, missing), { doc: 0, sync: 0, changes: 0 });
  } finally {
    await ctx.close();
  }
});
