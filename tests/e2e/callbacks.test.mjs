// Call backs as a work list against a real `wijklog serve`, in
// headless Chromium: a spreekuur worker's phone (behind a TCP proxy that can
// cut its network) and a coordinator's laptop.
//   1. Offline, the worker saves two notes with "Bewoner wil teruggebeld
//      worden" and contact details; "Mijn terugbelverzoeken" on the phone lists
//      them from the device (tel: link), still offline.
//   2. Back online the notes reach the server. The coordinator's "Terugbellen
//      en terugkoppeling" list shows both with their contact; a due date moved
//      to the past puts that call back first, highlighted as late, and the
//      overview counts it.
//   3. The coordinator logs an attempt and closes it; the server's row has
//      both; the phone shows it closed and no longer lists it as its own.
//   4. The coordinator downloads the call-back list for Excel (laptop, Dutch):
//      only the open call back, with name and phone and none of the note's
//      other words; without a reason there is no download; the audit log has
//      the export with its reason and the item, never the name.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  Server, Proxy, PASSWORD, launchBrowser, newPhone, openApp, login, waitAllSent, axeSerious, screenshot,
} from './helpers.mjs';

let server;
let browser;
let proxy;
let phoneCtx;
let phone;
let coordCtx;
let coord;

const NOTE_A = { text: 'Bewoner meldt geluidsoverlast van de bovenburen', name: 'Jan Jansen', phone: '06 1234 5678 (na 17u)', category: 'woonoverlast' };
const NOTE_B = { text: 'Lantaarnpaal bij het speeltuintje is al weken kapot', name: 'Fatima El Amrani', phone: '035-525 12 34', category: 'openbare_ruimte' };

before(async () => {
  server = await Server.start();
  await server.addUser('sp-sanne', { roles: ['spreekuur'], team: 'team-oost', name: 'Sanne' });
  await server.addUser('coord-cora', { roles: ['coordinator'], team: null, name: 'Cora' });
  await server.addUser('admin-ad', { roles: ['admin'], team: null, name: 'Ad' });
  browser = await launchBrowser();
  proxy = await Proxy.start(server.port);
  phoneCtx = await newPhone(browser, { origin: proxy.origin });
  phone = await phoneCtx.newPage();
  coordCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block', acceptDownloads: true });
  coord = await coordCtx.newPage();
});

after(async () => {
  await phoneCtx?.close();
  await coordCtx?.close();
  await proxy?.close();
  await browser?.close();
  await server?.dispose();
});

async function token(username) {
  const res = await fetch(`${server.origin}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).access_token;
}

/** The server's work list as the coordinator (REST), without contacts. */
async function serverWorkList() {
  const res = await fetch(`${server.origin}/api/v1/callbacks?contacts=false`, { headers: { Authorization: `Bearer ${await token('coord-cora')}` } });
  assert.equal(res.status, 200);
  return (await res.json()).items;
}

async function addNote(note) {
  await phone.locator(`[data-category="${note.category}"]`).click();
  await phone.getByTestId('note-text').fill(note.text);
  await phone.getByTestId('consent').check();
  await phone.getByLabel('Naam').fill(note.name);
  await phone.getByLabel('Telefoon').fill(note.phone);
  await phone.getByLabel('Bewoner wil teruggebeld worden').check();
  await phone.getByTestId('note-save').click();
  await phone.getByTestId('item-text').filter({ hasText: note.text }).waitFor();
  await phone.getByTestId('save-state').filter({ hasText: 'opgeslagen' }).waitFor();
}

test('a call back requested offline reaches the coordinator, late first; attempt and close reach the phone', async () => {
  // The worker's phone: log in, create a session (online), then lose the network.
  await openApp(phone, proxy.origin);
  await login(phone, 'sp-sanne');
  await phone.getByRole('link', { name: 'Nieuw spreekuur' }).click();
  await phone.getByLabel('Locatie (buurthuis)').fill('Buurthuis de Kostmand');
  await phone.getByLabel('Wijk').selectOption({ index: 1 });
  await phone.getByRole('button', { name: 'Aanmaken' }).click();
  await phone.getByRole('heading', { name: /Spreekuur: Buurthuis de Kostmand/ }).waitFor();
  await waitAllSent(phone, 60_000);
  const sessionUrl = phone.url();

  proxy.cut();
  await phoneCtx.setOffline(true);
  await addNote(NOTE_A);
  await addNote(NOTE_B);
  await phone.getByTestId('sync-indicator').filter({ hasText: /wijzigingen wachten sinds/ }).waitFor();

  // Offline, from the documents on the device: the worker's own call backs.
  await phone.goto(`${proxy.origin}/#/`);
  const mine = phone.getByTestId('my-callbacks');
  await mine.locator('[data-testid="my-callback"]').nth(1).waitFor();
  assert.equal(await mine.getAttribute('data-count'), '2');
  const a = mine.getByTestId('my-callback').filter({ hasText: NOTE_A.text });
  assert.equal(await a.getByTestId('cb-tel').getAttribute('href'), 'tel:+31612345678');
  assert.equal(await a.getByTestId('cb-due').getAttribute('data-overdue'), 'false');
  const v = await axeSerious(phone);
  assert.deepEqual(v, [], `my call backs: ${JSON.stringify(v, null, 1)}`);
  await screenshot(phone, 'callbacks-phone-mine');

  // Back online: both notes reach the server.
  proxy.restore();
  await phoneCtx.setOffline(false);
  await waitAllSent(phone, 60_000);
  const onServer = await serverWorkList();
  assert.deepEqual(onServer.map((e) => e.task).sort(), ['callback', 'callback']);

  // The coordinator's list: both, with their contact.
  await coord.goto(`${server.origin}/`);
  await login(coord, 'coord-cora');
  await coord.goto(`${server.origin}/#/coord/feedback`);
  const list = coord.getByTestId('feedback-list');
  const entryA = list.getByTestId('feedback-item').filter({ hasText: NOTE_A.text });
  const entryB = list.getByTestId('feedback-item').filter({ hasText: NOTE_B.text });
  await entryA.getByTestId('cb-task').waitFor({ timeout: 30_000 });
  await entryB.getByTestId('cb-task').waitFor({ timeout: 30_000 });
  assert.equal(await entryB.getByTestId('cb-tel').getAttribute('href'), 'tel:+31355251234');
  assert.match(await entryB.getByTestId('cb-contact').textContent(), /Fatima El Amrani/);

  // B becomes late (its due date moved to yesterday): it leads, highlighted.
  const yesterday = new Date(Date.now() - 86_400_000);
  const day = `${yesterday.getFullYear()}-${String(yesterday.getMonth() + 1).padStart(2, '0')}-${String(yesterday.getDate()).padStart(2, '0')}`;
  // The forms need the session on the laptop: "Bewerken" brings it (the list itself is read from the server).
  assert.equal(await entryB.getByTestId('cb-task').getAttribute('data-editable'), 'false');
  await entryB.getByTestId('open-edit').click();
  await entryB.locator('[data-testid="cb-task"][data-editable="true"]').waitFor({ timeout: 30_000 });
  await entryB.getByTestId('cb-due-input').fill(day);
  await entryB.getByTestId('cb-due-save').click();
  await entryB.getByTestId('cb-msg').filter({ hasText: 'Opgeslagen.' }).waitFor();
  await coord.getByTestId('sync-indicator').filter({ hasText: 'alles verstuurd' }).waitFor({ timeout: 30_000 });
  await coord.waitForFunction(() => {
    const first = document.querySelector('[data-testid="feedback-item"]');
    return first && first.getAttribute('data-overdue') === 'true';
  }, null, { timeout: 30_000 });
  const first = list.getByTestId('feedback-item').first();
  assert.match(await first.textContent(), new RegExp(NOTE_B.text));
  assert.equal(await first.getByTestId('cb-due').getAttribute('data-overdue'), 'true');
  assert.match(await first.getByTestId('cb-due').textContent(), /Te laat/);
  assert.equal(await coord.getByTestId('feedback-count').getAttribute('data-late'), '1');
  const va = await axeSerious(coord);
  assert.deepEqual(va, [], `work list: ${JSON.stringify(va, null, 1)}`);
  await screenshot(coord, 'callbacks-coordinator-list');

  // The overview counts it.
  await coord.goto(`${server.origin}/#/coord/overview`);
  const link = coord.getByTestId('overview-worklist');
  await link.waitFor();
  assert.match(await link.textContent(), /Terugbellen: 2 open, 1 te laat/);

  // Log an attempt, then close with an outcome.
  await coord.goto(`${server.origin}/#/coord/feedback`);
  const b = coord.getByTestId('feedback-list').getByTestId('feedback-item').filter({ hasText: NOTE_B.text });
  await b.locator('[data-testid="cb-task"][data-editable="true"]').waitFor({ timeout: 30_000 });
  await b.getByTestId('cb-attempt-outcome').selectOption('voicemail');
  await b.getByTestId('cb-attempt-note').fill('Ingesproken, belt terug na vijven');
  await b.getByTestId('cb-attempt-save').click();
  await b.getByTestId('cb-msg').filter({ hasText: 'Poging opgeslagen.' }).waitFor();
  await b.locator('[data-testid="cb-attempt"][data-outcome="voicemail"]').waitFor();
  await b.getByTestId('cb-close-outcome').selectOption('gesproken');
  await b.getByTestId('cb-close-save').click();
  await b.waitFor({ state: 'detached' });
  await coord.locator('[data-testid="feedback-count"][data-count="1"]').waitFor();
  await coord.getByTestId('sync-indicator').filter({ hasText: 'alles verstuurd' }).waitFor({ timeout: 30_000 });

  // The server has the attempt and the outcome; the list has only A left.
  const res = await fetch(`${server.origin}/api/v1/items?q=${encodeURIComponent('Lantaarnpaal')}`, { headers: { Authorization: `Bearer ${await token('coord-cora')}` } });
  const [row] = (await res.json()).items;
  assert.equal(row.callback.outcome, 'gesproken');
  assert.ok(row.callback.done_at > 0);
  const attempts = Object.values(row.callback.attempts);
  assert.equal(attempts.length, 1);
  assert.equal(attempts[0].outcome, 'voicemail');
  assert.equal(attempts[0].note, 'Ingesproken, belt terug na vijven');
  assert.deepEqual((await serverWorkList()).map((e) => e.item.text), [NOTE_A.text]);

  // The phone (online) shows B closed, and only A as its own.
  await phone.goto(`${proxy.origin}/#/`);
  await phone.locator('[data-testid="my-callbacks"][data-count="1"]').waitFor({ timeout: 30_000 });
  assert.match(await phone.getByTestId('my-callback').textContent(), new RegExp(NOTE_A.text));
  await phone.goto(sessionUrl);
  const itemB = phone.getByTestId('item').filter({ hasText: NOTE_B.text });
  await itemB.getByText('Teruggebeld').waitFor({ timeout: 30_000 });
});

test('the call-back list for Excel holds the open call back with name and phone only, needs a reason and is audited', async () => {
  // After the first test: A is open, B closed.
  await coord.goto(`${server.origin}/#/coord/feedback`);
  await coord.locator('[data-testid="feedback-count"][data-count="1"]').waitFor({ timeout: 30_000 });
  const panel = coord.getByTestId('callback-export');
  await panel.waitFor();
  // No reason, no download.
  assert.equal(await coord.getByTestId('callback-export-excel').isDisabled(), true);
  await coord.getByTestId('callback-export-reason').fill('Belronde dinsdagochtend');
  const [download] = await Promise.all([coord.waitForEvent('download'), coord.getByTestId('callback-export-excel').click()]);
  assert.match(download.suggestedFilename(), /^wijklog-terugbellen-\d{4}-\d{2}-\d{2}\.csv$/);
  const file = await download.path();
  assert.ok(file, 'the download is saved');
  const text = await readFile(file, 'utf8');
  assert.ok(text.startsWith('\ufeff'), 'a byte order mark, so Excel reads the accents');
  const lines = text.slice(1).split('\r\n').filter(Boolean);
  assert.equal(lines[0], 'Terugbellen vóór;Te laat;Toegewezen aan;Wijk;Team;Spreekuur;Categorie;Naam bewoner;Telefoon bewoner;Pogingen;Document;Item');
  assert.equal(lines.length, 2, lines.join('\n'));
  const cells = lines[1].split(';');
  assert.equal(cells[2], 'team');
  assert.equal(cells[5], 'Buurthuis de Kostmand');
  assert.equal(cells[6], 'Woonoverlast');
  assert.equal(cells[7], NOTE_A.name);
  assert.equal(cells[8], NOTE_A.phone);
  assert.match(cells[0], /^\d{2}-\d{2}-\d{4} \d{2}:\d{2}$/, 'local date and time');
  for (const absent of [NOTE_A.text, NOTE_B.name, NOTE_B.text]) assert.ok(!text.includes(absent), `${absent} is not in the list`);
  await coord.getByTestId('callback-export-status').filter({ hasText: 'Export klaar' }).waitFor();
  const v = await axeSerious(coord);
  assert.deepEqual(v, [], `call-back export: ${JSON.stringify(v, null, 1)}`);

  // The audit log: who, why, which item; not the name or the number.
  const res = await fetch(`${server.origin}/api/v1/admin/audit?action=export.callbacks`, { headers: { Authorization: `Bearer ${await token('admin-ad')}` } });
  assert.equal(res.status, 200);
  const entries = (await res.json()).entries;
  assert.equal(entries.length, 1);
  assert.equal(entries[0].detail.reason, 'Belronde dinsdagochtend');
  assert.equal(entries[0].detail.count, 1);
  assert.equal(entries[0].detail.personal_items.length, 1);
  assert.ok(entries[0].detail.personal_items[0].endsWith(`/${cells[11]}`));
  const audit = JSON.stringify(entries[0]);
  assert.ok(!audit.includes('Jansen') && !audit.includes('1234'), 'no personal data in the audit log');
});
