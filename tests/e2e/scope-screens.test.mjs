// The screens on top of the sync scope (docs/sync-protocol.md §2), against a
// real `wijklog serve` seeded with 500 observations in 50 walks of weeks ago
// plus one running walk, all by one boa:
//   (a) a coordinator's laptop reviews the list, the map, the overview, the
//       work list and item details (all REST), and edits the follow-up of 3
//       items in 3 walks: IndexedDB then holds exactly those 3 documents and
//       the catalog, and everything typed is on the server;
//   (b) a colleague's phone holds none of the team's older walks: "meer
//       laden" pages through them, opening one brings that one onto the phone;
//   (c) "meedoen" on the running walk brings it onto the phone and adds the
//       user as a participant; an observation made there reaches the server.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, newPhone, openApp, login, addObservation, waitAllSent, restLogin } from './helpers.mjs';
import { seedWalks, storedDocIds } from './seed-sync.mjs';

const DAY = 86_400_000;
const WALKS = 50;
const PER_WALK = 10;

let server;
let browser;
/** @type {string[]} */
let olderIds = [];
let runningId = '';

before(async () => {
  server = await Server.start();
  await server.addUser('boa-seed', { roles: ['boa'], team: 'team-oost', name: 'Seed' });
  await server.addUser('boa-sam', { roles: ['boa'], team: 'team-oost', name: 'Sam' });
  await server.addUser('coord-cora', { roles: ['coordinator'], team: null, name: 'Cora' });
  // Weeks ago (outside every scope window), newest first: walk 1 is 30 days ago, walk 50 is 79 days ago.
  const plans = Array.from({ length: WALKS }, (_, i) => ({
    title: `Oude ronde ${String(i + 1).padStart(2, '0')}`,
    at: Date.now() - (30 + i) * DAY,
    observations: PER_WALK,
    feedbackEvery: i < 3,
  }));
  const seeded = await seedWalks(server, 'boa-seed', 'team-oost', [...plans, { title: 'Avondronde nu', at: Date.now() - 3_600_000, observations: 2, running: true }]);
  assert.equal(seeded.items, WALKS * PER_WALK + 2);
  olderIds = seeded.ids.slice(0, WALKS);
  runningId = seeded.ids[WALKS];
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** Wait until the app has stored document `id` in IndexedDB (its write follows the screen by a moment). */
async function waitStored(page, id) {
  const deadline = Date.now() + 30_000;
  while (!(await storedDocIds(page)).includes(id)) {
    if (Date.now() > deadline) throw new Error(`${id} never stored`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** GET as `username` over REST (JSON). */
async function restGet(username, path) {
  const token = await restLogin(server.origin, username);
  const res = await fetch(`${server.origin}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  return res.json();
}

test('(a) a coordinator reviews 500 items and edits the follow-up of 3: the laptop holds those 3 documents and the catalog', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  await ctx.route('**/*', (r) => (['127.0.0.1', 'localhost'].includes(new URL(r.request().url()).hostname) ? r.continue() : r.abort()));
  const coord = await ctx.newPage();
  try {
    await coord.goto(`${server.origin}/`);
    await login(coord, 'coord-cora');

    // Review: every screen reads the server; nothing is fetched onto the laptop.
    await coord.goto(`${server.origin}/#/coord/overview?from=2020-01-01&to=2099-12-31`);
    await coord.locator('[data-testid="total-problems"] .big-num').first().waitFor();
    await coord.goto(`${server.origin}/#/coord/map`);
    await coord.locator('[data-testid="map-count"][data-state="ready"]').waitFor({ timeout: 60_000 });
    assert.equal(await coord.getByTestId('map-count').getAttribute('data-count'), String(WALKS * PER_WALK + 2));
    await coord.goto(`${server.origin}/#/coord/feedback`);
    // The 30 observations that need feedback are listed with their due dates, read from the server.
    await coord.locator('[data-testid="feedback-count"][data-count="30"]').waitFor({ timeout: 30_000 });
    assert.equal(await coord.locator('[data-testid="feedback-item"] [data-testid="open-edit"]').count(), 30);
    await coord.goto(`${server.origin}/#/coord/list`);
    await coord.locator('[data-testid="list-count"][data-state="ready"][data-count="50"]').waitFor();
    await coord.getByTestId('load-more').click();
    await coord.locator('[data-testid="list-count"][data-state="ready"][data-count="100"]').waitFor();

    // Read two items' details without editing: REST only.
    for (const n of [0, 1]) {
      await coord.getByTestId('row-link').nth(n).click();
      await coord.getByTestId('detail-text').waitFor();
      await coord.getByTestId('history-entry').first().waitFor();
      await coord.getByTestId('open-edit').waitFor();
      await coord.goBack();
      await coord.locator('[data-testid="list-count"][data-state="ready"]').waitFor();
    }

    // Edit the follow-up of one item in each of three walks (3, 17 and 42 of the seeded ones).
    /** @type {{ doc: string, text: string, note: string }[]} */
    const edited = [];
    for (const [i, w] of [3, 17, 42].entries()) {
      const title = `Oude ronde ${String(w).padStart(2, '0')}`;
      const text = `${title}: waarneming ${i + 2}`;
      await coord.goto(`${server.origin}/#/coord/list?q=${encodeURIComponent(text)}`);
      await coord.locator('[data-testid="list-count"][data-state="ready"]').waitFor();
      await coord.getByTestId('row-link').filter({ hasText: new RegExp(`^${text}$`) }).click();
      await coord.getByTestId('detail-text').filter({ hasText: text }).waitFor();
      await coord.getByTestId('open-edit').click();
      await coord.getByTestId('followup-editor').waitFor({ timeout: 30_000 });
      const note = `Melding ${w} doorgezet naar de wijkagent, ’s avonds extra controle — ${'é'.repeat(3)}`;
      await coord.getByTestId('fu-partner').selectOption('politie');
      await coord.getByTestId('fu-note').fill(note);
      await coord.getByTestId('fu-add').click();
      await coord.locator('[data-testid="fu-entry"][data-partner="politie"]').waitFor();
      edited.push({ doc: coord.url().split('/coord/item/')[1].split('/')[0], text, note });
    }
    await coord.getByTestId('sync-indicator').filter({ hasText: 'alles verstuurd' }).waitFor({ timeout: 30_000 });

    // Nothing typed is lost: the server has each note.
    for (const e of edited) {
      const { items } = await restGet('coord-cora', `/api/v1/items?q=${encodeURIComponent(e.text)}`);
      const row = items.find((r) => r.text === e.text);
      assert.ok(row, e.text);
      assert.equal(row.follow_up.politie.note, e.note);
      assert.equal(row.follow_up.politie.status, 'open');
    }

    // The laptop holds exactly the three edited documents and the catalog.
    const stored = await storedDocIds(coord);
    const docs = new Set(edited.map((e) => e.doc));
    assert.equal(docs.size, 3, 'three different walks');
    assert.ok([...docs].every((d) => olderIds.includes(d)));
    assert.equal(stored.length, 4, `stored: ${stored.join(', ')}`);
    for (const d of docs) assert.ok(stored.includes(d), `${d} stored`);
    const others = stored.filter((d) => !docs.has(d));
    assert.ok(!olderIds.includes(others[0]) && others[0] !== runningId, 'the fourth is the catalog');
    assert.equal(await coord.evaluate(() => document.querySelector('.shell')?.getAttribute('data-catalog')), 'ready');
  } finally {
    await ctx.close();
  }
});

test('(b) a phone holds none of the team\'s older walks; "meer laden" pages through them, opening one brings only that one', async () => {
  const ctx = await newPhone(browser, { origin: server.origin });
  try {
    const phone = await ctx.newPage();
    await openApp(phone, server.origin);
    await login(phone, 'boa-sam');
    const older = phone.locator('[data-testid="older"][data-kind="walk"]');
    await older.locator('[data-testid="older-link"]').first().waitFor();
    const titles = async () => older.locator('[data-testid="older-link"] .card-title').allTextContents();
    assert.deepEqual(await titles(), Array.from({ length: 10 }, (_, i) => `Oude ronde ${String(i + 1).padStart(2, '0')}`));
    await older.getByTestId('older-more').click();
    await older.locator('[data-testid="older-link"]').nth(19).waitFor();
    assert.deepEqual(await titles(), Array.from({ length: 20 }, (_, i) => `Oude ronde ${String(i + 1).padStart(2, '0')}`));
    // None of them is on the phone.
    assert.deepEqual((await storedDocIds(phone)).filter((d) => olderIds.includes(d) || d === runningId), []);

    await older.getByTestId('older-link').filter({ hasText: 'Oude ronde 12' }).click();
    await phone.getByRole('heading', { name: 'Oude ronde 12', level: 1 }).waitFor({ timeout: 30_000 });
    await phone.getByTestId('item-text').filter({ hasText: 'Oude ronde 12: waarneming 10' }).waitFor();
    await waitStored(phone, olderIds[11]);
    assert.deepEqual((await storedDocIds(phone)).filter((d) => olderIds.includes(d) || d === runningId), [olderIds[11]]);
  } finally {
    await ctx.close();
  }
});

test('(c) "meedoen" on a colleague\'s running walk brings it onto the phone, adds the user, and work done there is sent', async () => {
  const ctx = await newPhone(browser, { origin: server.origin });
  try {
    const phone = await ctx.newPage();
    await openApp(phone, server.origin);
    await login(phone, 'boa-sam');
    const card = phone.locator(`[data-testid="running-walk"][data-id="${runningId}"]`);
    await card.waitFor();
    assert.match(await card.textContent(), /Avondronde nu/);
    assert.ok(!(await storedDocIds(phone)).includes(runningId), 'not on the phone before joining');
    await card.getByTestId('join-walk').click();
    await phone.getByRole('heading', { name: 'Avondronde nu', level: 1 }).waitFor({ timeout: 30_000 });
    await phone.locator('li').filter({ hasText: /^Sam$/ }).waitFor();
    await addObservation(phone, { text: 'Fietswrak bij de bushalte, meegenomen in de ronde' });
    await waitAllSent(phone);
    await waitStored(phone, runningId);
    assert.deepEqual((await storedDocIds(phone)).filter((d) => olderIds.includes(d)), []);

    // On the server: Sam is a participant, the observation is there.
    const running = await restGet('boa-seed', '/api/v1/documents?kind=walk&state=running');
    const walk = running.documents.find((d) => d.id === runningId);
    assert.deepEqual(walk.context.participants.map((p) => p.name), ['Sam']);
    assert.equal(walk.context.observation_count, 3);
    // Joining again (another visit of the home screen) does not list it: it is on the phone now.
    await phone.goto(`${server.origin}/#/`);
    await phone.getByRole('heading', { name: 'Overzicht', level: 1 }).waitFor();
    await phone.locator('[data-testid="older"][data-kind="walk"][data-state="ready"]').waitFor();
    assert.equal(await phone.locator(`[data-testid="running-walk"][data-id="${runningId}"]`).count(), 0);
  } finally {
    await ctx.close();
  }
});
