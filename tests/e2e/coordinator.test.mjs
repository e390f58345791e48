// The coordinator area against a real `wijklog serve`: one server,
// one browser, a boa's phone (behind a TCP proxy that can cut its network)
// and a coordinator's laptop (1280x800) that may only reach loopback; the
// server's map tile URL (its client config) points at a loopback port, and
// every tile request (and anything not on loopback) is aborted and counted.
// The tests run in order and share the two contexts:
//   (a) boa logs 3 observations offline, syncs; coordinator filters (category,
//       full text, URL hash survives a reload), assigns a partner, marks
//       feedback given from the work list; the phone shows it after sync;
//   (b) coordinator sets a follow-up while the boa, offline, edits the same
//       observation's text: both survive on both sides and in /api/v1/items;
//   (c) the map shows a vector marker per located observation with tiles blocked;
//   (d) an urgent observation from the phone appears in the open list without
//       a reload and is announced (live region + banner);
//   (e) axe-core on every coordinator screen; screenshots at 1280x800.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  Server, Proxy, PASSWORD, freePort, launchBrowser, newPhone, openApp, login, createWalk, waitAllSent, axeSerious, screenshot, openEditors,
} from './helpers.mjs';

let server;
let browser;
let proxy;
let phoneCtx;
let phone;
let coordCtx;
let coord;
let walkId;
const blocked = [];

const OBS = {
  jeugd: { category: 'jeugdoverlast', text: 'Groep jongeren met scooters bij de Roef', at: [52.3012, 5.2441] },
  afval: { category: 'vervuiling', text: 'Zwerfafval en gedumpte matras achter winkelcentrum Kostmand', at: [52.2978, 5.2399] },
  verkeer: { category: 'verkeer', text: 'Hardrijders op de Oostermeentlaan na schooltijd', at: [52.3031, 5.2502] },
};
const CATEGORY_COLORS = { jeugdoverlast: '#e8590c', vervuiling: '#5c940d', verkeer: '#1971c2', brandjes: '#f76707' };

/** The tile URL the server is configured with (its client config); a loopback port nobody serves. */
let tileOrigin;

before(async () => {
  tileOrigin = `http://127.0.0.1:${await freePort()}`;
  server = await Server.start({ env: { WIJKLOG_MAP_TILE_URL: `${tileOrigin}/tiles/{z}/{x}/{y}.png`, WIJKLOG_MAP_ATTRIBUTION: 'Testkaart' } });
  await server.addUser('boa-bo', { roles: ['boa', 'spreekuur'], team: 'team-oost', name: 'Bo' });
  await server.addUser('coord-cora', { roles: ['coordinator'], team: null, name: 'Cora' });
  await server.addUser('admin-ad', { roles: ['admin'], team: null, name: 'Ad' });
  browser = await launchBrowser();
  proxy = await Proxy.start(server.port);
  phoneCtx = await newPhone(browser, { origin: proxy.origin });
  phone = await phoneCtx.newPage();
  // The laptop: no service worker (so every request passes the route below), loopback only.
  coordCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  await coordCtx.route('**/*', (route) => {
    const url = route.request().url();
    const host = new URL(url).hostname;
    if ((host === '127.0.0.1' || host === 'localhost') && !url.startsWith(tileOrigin)) return route.continue();
    blocked.push(url);
    return route.abort('internetdisconnected');
  });
  coord = await coordCtx.newPage();
});

after(async () => {
  await phoneCtx?.close();
  await coordCtx?.close();
  await proxy?.close();
  await browser?.close();
  await server?.dispose();
});

/** Quick entry with a GPS fix at `at`, optional severity; resolves once committed ("opgeslagen"). */
async function addObs(page, ctx, { category, text, at, severity = null }) {
  await ctx.setGeolocation({ latitude: at[0], longitude: at[1], accuracy: 8 });
  await page.getByTestId('add-observation').click();
  await page.getByRole('heading', { name: 'Nieuwe waarneming' }).waitFor();
  await page.locator(`[data-category="${category}"]`).click();
  if (severity) await page.locator(`[data-severity="${severity}"]`).click();
  await page.getByTestId('entry-text').fill(text);
  await page.locator('[data-testid="gps"].ok').waitFor();
  await page.getByTestId('entry-save').click();
  await page.getByTestId('item-text').filter({ hasText: text }).waitFor();
  await page.getByTestId('save-state').filter({ hasText: 'opgeslagen' }).waitFor();
}

async function goOffline() {
  proxy.cut();
  await phoneCtx.setOffline(true);
}

async function goOnline() {
  proxy.restore();
  await phoneCtx.setOffline(false);
}

/** The coordinator's list for a hash (filters in their canonical order), once loaded for it; returns the row texts. */
async function listFor(hash) {
  await coord.goto(`${server.origin}/#/coord/list${hash}`);
  await coord.locator(`[data-testid="list-count"][data-state="ready"][data-query="${hash.replace(/^\?/, '')}"]`).waitFor();
  return listTexts();
}

async function listTexts() {
  await coord.locator('[data-testid="list-count"][data-state="ready"]').waitFor();
  return coord.getByTestId('row-link').allTextContents();
}

async function waitRows(n) {
  await coord.waitForFunction((n) => {
    /** @type {HTMLElement | null} */
    const c = document.querySelector('[data-testid="list-count"]');
    return c && c.dataset.state === 'ready' && document.querySelectorAll('[data-testid="coord-row"]').length === n;
  }, n);
}

async function tokenFor(username) {
  const res = await fetch(`${server.origin}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).access_token;
}

/** Server-side view of one item through the REST API, as the coordinator. */
async function serverItem(q) {
  const token = await tokenFor('coord-cora');
  const list = await fetch(`${server.origin}/api/v1/items?q=${encodeURIComponent(q)}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(list.status, 200);
  const { items } = await list.json();
  assert.equal(items.length, 1, `one item for "${q}"`);
  return items[0];
}

/** Open an item and its editors: "Bewerken" brings the walk onto the laptop unless it is already there. */
async function openDetail(text) {
  await coord.getByTestId('row-link').filter({ hasText: text }).click();
  await coord.getByTestId('detail-text').filter({ hasText: text }).waitFor();
  await openEditors(coord);
}

async function waitCoordSynced() {
  await coord.locator('[data-testid="doc-pending"][data-pending="0"]').waitFor({ timeout: 30_000 });
}

async function assignPartner(partner, note) {
  await coord.getByTestId('fu-partner').selectOption(partner);
  await coord.getByTestId('fu-note').fill(note);
  await coord.getByTestId('fu-add').click();
  await coord.locator(`[data-testid="fu-entry"][data-partner="${partner}"]`).waitFor();
}

test('(a) offline observations are filtered, followed up and fed back by the coordinator; the phone shows it', async () => {
  await openApp(phone, proxy.origin);
  await login(phone, 'boa-bo');
  walkId = await createWalk(phone, 'Wijkwandeling Oostermeent');
  await goOffline();
  for (const o of Object.values(OBS)) await addObs(phone, phoneCtx, o);
  assert.match(await phone.getByTestId('sync-indicator').textContent(), /wacht/);
  await goOnline();
  await waitAllSent(phone, 60_000);

  await coord.goto(`${server.origin}/`);
  await login(coord, 'coord-cora');
  await coord.getByTestId('nav-coord').click();
  await coord.getByRole('heading', { name: 'Overzicht', level: 1 }).waitFor();
  await coord.locator('[data-testid="total-problems"] .big-num').filter({ hasText: '3' }).waitFor();

  // Filter by category through the form; the filter lands in the URL hash.
  await coord.getByTestId('coord-nav-list').click();
  await waitRows(3);
  await coord.locator('summary', { hasText: 'Categorie' }).click();
  await coord.locator('[data-filter="category:verkeer"]').check();
  await coord.getByTestId('filter-apply').click();
  await waitRows(1);
  assert.match(coord.url(), /#\/coord\/list\?category=verkeer$/);
  assert.deepEqual(await listTexts(), [OBS.verkeer.text]);
  assert.equal(await coord.getByTestId('row-report').getAttribute('href'), `#/coord/report/${walkId}`);
  await coord.getByTestId('coord-row').filter({ hasText: 'door Bo' }).waitFor(); // author's name (GET /api/v1/people)

  // Full text (a word's prefix), then a reload keeps the view.
  await coord.getByTestId('filter-reset').click();
  await waitRows(3);
  await coord.getByTestId('filter-q').fill('gedump');
  await coord.getByTestId('filter-apply').click();
  await waitRows(1);
  await coord.reload();
  assert.deepEqual(await listTexts(), [OBS.afval.text]);
  assert.equal(await coord.getByTestId('filter-q').inputValue(), 'gedump');

  // Detail: assign a partner and flag that the resident must hear back (edits of the document).
  await openDetail(OBS.afval.text);
  await assignPartner('gemeente_openbare_ruimte', 'Matras laten ophalen');
  await coord.getByTestId('fb-needed').check();
  await coord.getByTestId('fb-channel').waitFor();
  await waitCoordSynced();

  // The feedback work list has it; mark it given there.
  await coord.getByTestId('coord-nav-feedback').click();
  const entry = coord.getByTestId('feedback-item').filter({ hasText: OBS.afval.text });
  await entry.waitFor();
  // Feedback is due 10 working days after the observation: not late yet.
  assert.match(await entry.getByTestId('cb-due').textContent(), /^Uiterlijk /);
  assert.equal(await entry.getAttribute('data-overdue'), 'false');
  assert.equal(await entry.getAttribute('data-task'), 'feedback');
  await entry.getByTestId('fb-channel').selectOption('telefoon');
  await entry.getByTestId('fb-give').click();
  await entry.waitFor({ state: 'detached' });
  await coord.locator('[data-testid="feedback-count"][data-count="0"]').waitFor();

  // The server's row has both edits once synced.
  await coord.getByTestId('sync-indicator').filter({ hasText: 'alles verstuurd' }).waitFor({ timeout: 30_000 });
  const row = await serverItem('gedumpte matras');
  assert.equal(row.follow_up.gemeente_openbare_ruimte.status, 'open');
  assert.equal(row.follow_up.gemeente_openbare_ruimte.note, 'Matras laten ophalen');
  assert.equal(row.feedback.needed, true);
  assert.equal(row.feedback.channel, 'telefoon');
  assert.ok(row.feedback.given_at > 0);

  // The boa's phone (online, same walk open) shows the assignment and the feedback.
  await phone.goto(`${proxy.origin}/#/walk/${walkId}`);
  const item = phone.getByTestId('item').filter({ hasText: OBS.afval.text });
  await item.locator('[data-testid="followup-entry"][data-partner="gemeente_openbare_ruimte"][data-status="open"]').waitFor({ timeout: 30_000 });
  await item.locator('[data-testid="followup-feedback"][data-given="true"]').waitFor();
  assert.match(await item.getByTestId('followup-badge').textContent(), /Gemeente openbare ruimte \(open\) — Matras laten ophalen/);
});

test('(b) a follow-up set by the coordinator and an offline text edit on the phone both survive', async () => {
  await goOffline();
  const edited = `${OBS.verkeer.text}, ook 's avonds`;
  const id = await phone.getByTestId('item').filter({ has: phone.getByTestId('item-text').filter({ hasText: OBS.verkeer.text }) }).getAttribute('data-item-id');
  const item = phone.locator(`[data-item-id="${id}"]`);
  await item.getByTestId('edit').click();
  await item.getByTestId('edit-text').fill(edited);
  await item.getByTestId('edit-save').click();
  await phone.getByTestId('item-text').filter({ hasText: edited }).waitFor();

  await listFor('?category=verkeer');
  // One date format per context: the list compact, the detail with the weekday, the history with seconds.
  assert.match(await coord.getByTestId('row-date').first().textContent(), /^\d{1,2} [a-z]{3} \d{4} \d{2}:\d{2}$/);
  await openDetail(OBS.verkeer.text);
  assert.match(await coord.getByTestId('detail-date').textContent(), /^(ma|di|wo|do|vr|za|zo) \d{1,2} [a-z]{3} \d{4} om \d{2}:\d{2}$/);
  assert.equal(await coord.getByRole('link', { name: /Terug naar de lijst/ }).getAttribute('href'), '#/coord/list?category=verkeer');
  await assignPartner('politie', 'Snelheidscontrole aanvragen');
  await coord.getByTestId('fu-entry-status').selectOption('in_behandeling');
  await coord.getByTestId('fu-entry-save').click();
  await coord.locator('[data-testid="fu-entry"][data-partner="politie"][data-status="in_behandeling"]').waitFor();
  // The note is edited in place (one splice of the note text).
  await coord.getByTestId('fu-entry-note').fill('Snelheidscontrole aanvragen bij de wijkagent');
  await coord.getByTestId('fu-entry-save').click();
  await coord.locator('[data-testid="fu-entry-save"][disabled]').waitFor();
  await waitCoordSynced();

  await goOnline();
  await waitAllSent(phone, 60_000);
  // Phone: its own text and the coordinator's follow-up.
  await phone.getByTestId('item-text').filter({ hasText: edited }).waitFor();
  await item.locator('[data-testid="followup-entry"][data-partner="politie"][data-status="in_behandeling"]').waitFor({ timeout: 30_000 });
  // Coordinator: the phone's text arrives live in the open detail.
  await coord.getByTestId('detail-text').filter({ hasText: edited }).waitFor({ timeout: 30_000 });
  await coord.locator('[data-testid="fu-entry"][data-partner="politie"]').waitFor();
  // Server: one row with both.
  const row = await serverItem('Oostermeentlaan');
  assert.equal(row.text, edited);
  assert.equal(row.follow_up.politie.status, 'in_behandeling');
  assert.equal(row.follow_up.politie.note, 'Snelheidscontrole aanvragen bij de wijkagent');
  // The history lists both authors.
  await coord.locator('[data-testid="history-entry"][data-message="set_follow_up"]').first().waitFor({ timeout: 30_000 });
  await coord.locator('[data-testid="history-entry"][data-message="splice_follow_up_note"]').waitFor();
  const history = await coord.getByTestId('history').textContent();
  assert.match(history, /Bo/);
  assert.match(history, /Cora/);
  // Changed fields in words, the partner by its catalog label (never "follow_up.politie.status").
  const fields = await coord.locator('[data-testid="history-entry"][data-message="splice_follow_up_note"] [data-testid="history-fields"]').textContent();
  assert.equal(fields, 'opvolging Politie (wijkagent)');
  assert.doesNotMatch(history, /follow_up|location\.|\.status/);
  const stamps = await coord.getByTestId('history-when').allTextContents();
  assert.ok(stamps.length >= 3, `${stamps.length} history entries`);
  for (const s of stamps) assert.match(s, /^\d{1,2} [a-z]{3} \d{4} \d{2}:\d{2}:\d{2}$/, `history date "${s}"`);
});

test('(c) the map shows a marker per located observation in its category colour while tiles are blocked', async () => {
  const before = blocked.length;
  await coord.goto(`${server.origin}/#/coord/map`);
  await coord.locator('[data-testid="map-count"][data-state="ready"]').waitFor();
  await coord.waitForFunction(() => document.querySelectorAll('path.coord-marker').length === 3);
  const markers = await coord.locator('path.coord-marker').evaluateAll((ps) => ps.map((p) => ({ cat: p.dataset.category, fill: p.getAttribute('fill') })));
  assert.deepEqual(
    markers.map((m) => m.cat).sort(),
    Object.values(OBS).map((o) => o.category).sort(),
  );
  for (const m of markers) assert.equal(m.fill, CATEGORY_COLORS[m.cat]);
  // Tiles were asked for and none could load, and the page says so.
  await coord.getByTestId('tiles-failed').waitFor();
  assert.ok(blocked.length > before, 'tile requests were made (and blocked)');
  assert.ok(blocked.slice(before).every((u) => /^http:\/\/127\.0\.0\.1:\d+\/tiles\/\d+\/\d+\/\d+\.png$/.test(u) && u.startsWith(tileOrigin)), 'tiles come from the URL the server is configured with');
  assert.match(await coord.locator('.leaflet-control-attribution').textContent(), /Testkaart/);
  // Filters apply to the map too.
  await coord.goto(`${server.origin}/#/coord/map?category=verkeer`);
  await coord.waitForFunction(() => document.querySelectorAll('path.coord-marker').length === 1);
  await coord.goto(`${server.origin}/#/coord/map`);
  await coord.waitForFunction(() => document.querySelectorAll('path.coord-marker').length === 3);
  // Every marker is inside the visible map.
  const outside = await coord.evaluate(() => {
    const box = document.querySelector('[data-testid="coord-map"]').getBoundingClientRect();
    return [...document.querySelectorAll('path.coord-marker')].filter((p) => {
      const r = p.getBoundingClientRect();
      return r.left < box.left || r.right > box.right || r.top < box.top || r.bottom > box.bottom;
    }).length;
  });
  assert.equal(outside, 0, 'markers outside the visible map');
  await coord.evaluate(() => window.scrollTo(0, 0));
  await screenshot(coord, 'coordinator-map');
});

test('(d) an urgent observation from a phone appears in the open list and is announced', async (t) => {
  await listFor('');
  await waitRows(3);
  await coord.evaluate(() => {
    window.__sameDocument = true;
  });
  const urgent = { category: 'brandjes', text: 'Brandje in container bij de Roef, brandweer gebeld', at: [52.3007, 5.2431], severity: 'urgent' };
  await addObs(phone, phoneCtx, urgent);
  const saved = performance.now();
  await coord.getByTestId('row-link').filter({ hasText: urgent.text }).waitFor({ timeout: 30_000 });
  // A measurement, not an assertion: stored on the phone -> row in the coordinator's open list.
  t.diagnostic(`live: phone "opgeslagen" -> row in the open coordinator list: ${Math.round(performance.now() - saved)} ms`);
  await waitRows(4);
  assert.equal(await coord.evaluate(() => window.__sameDocument), true, 'no reload');
  await coord.getByTestId('urgent-banner').filter({ hasText: urgent.text }).waitFor();
  assert.match(await coord.getByTestId('urgent-live').textContent(), /Urgent: Brandjes, .*Brandje in container bij de Roef/);
  assert.equal(await coord.getByTestId('urgent-live').getAttribute('aria-live'), 'assertive');
});

test('(h) every list filter, written in the URL, selects the right rows', async () => {
  const afval = await serverItem('gedumpte matras');
  const day = (ms) => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Amsterdam' }).format(new Date(ms));
  const today = day(Date.now());
  const yesterday = day(Date.now() - 86_400_000);
  const urgent = 'Brandje in container bij de Roef, brandweer gebeld';
  const edited = `${OBS.verkeer.text}, ook 's avonds`;
  const all = [OBS.jeugd.text, OBS.afval.text, edited, urgent];
  const cases = [
    [`?wijk=${afval.wijk}`, all],
    ['?wijk=centrum_niet_gebruikt', []],
    ['?category=verkeer,brandjes', [edited, urgent]],
    ['?severity=urgent', [urgent]],
    ['?team=team-oost', all],
    ['?team=team-west', []],
    [`?author=${afval.created_by}`, all],
    ['?status=in_behandeling', [edited]],
    ['?status=open&partner=gemeente_openbare_ruimte', [OBS.afval.text]],
    ['?partner=politie', [edited]],
    ['?feedback=false', all],
    ['?feedback=true', []],
    ['?kind=walk', all],
    ['?kind=spreekuur', []],
    [`?from=${today}&to=${today}`, all],
    [`?to=${yesterday}`, []],
    ['?q=roef', [OBS.jeugd.text, urgent]],
  ];
  for (const [hash, expected] of cases) assert.deepEqual((await listFor(hash)).sort(), [...expected].sort(), String(hash));
  // The author filter in the form lists people by name.
  await listFor('');
  await coord.locator('summary', { hasText: 'Auteur' }).click();
  await coord.locator(`[data-filter="author:${afval.created_by}"]`).check();
  await coord.getByTestId('filter-apply').click();
  await coord.locator(`[data-testid="list-count"][data-state="ready"][data-query="author=${afval.created_by}"]`).waitFor();
  assert.deepEqual((await listTexts()).sort(), [...all].sort());
  assert.match(await coord.locator(`label:has([data-filter="author:${afval.created_by}"])`).textContent(), /^Bo \(team-oost\)$/);
  // Most severe first.
  assert.equal((await listFor('?sort=severity'))[0], urgent);
});

/** Click an export button; the downloaded file's text. */
async function download(testid) {
  const [dl] = await Promise.all([coord.waitForEvent('download'), coord.getByTestId(testid).click()]);
  const file = await dl.path();
  return readFile(file, 'utf8');
}

/** Click an export button; the downloaded file's bytes and the name the browser was given. */
async function downloadRaw(testid) {
  const [dl] = await Promise.all([coord.waitForEvent('download'), coord.getByTestId(testid).click()]);
  return { bytes: await readFile(await dl.path()), name: dl.suggestedFilename() };
}

test('(f) the filtered list exports as Excel, CSV and GeoJSON; resident contact only with a reason, audited', async () => {
  await listFor('?category=vervuiling');
  await waitRows(1);
  // For people: a workbook and a semicolon CSV, both with a dated file name.
  const xlsx = await downloadRaw('export-xlsx');
  assert.equal(xlsx.bytes.subarray(0, 2).toString('latin1'), 'PK', 'an xlsx (zip) file');
  assert.match(xlsx.name, /^wijklog-meldingen-\d{4}-\d{2}-\d{2}\.xlsx$/);
  const excel = await downloadRaw('export-excel-csv');
  assert.match(excel.name, /^wijklog-meldingen-\d{4}-\d{2}-\d{2}\.csv$/);
  const excelLines = excel.bytes.toString('utf8').slice(1).trim().split('\r\n');
  assert.match(excelLines[0], /^Soort;Wandeling of spreekuur;Wijk;/);
  assert.match(excelLines[1], /^waarneming;.*Vervuiling \/ zwerfafval;.*gedumpte matras/);
  const csv = await download('export-csv');
  assert.ok(csv.startsWith('\uFEFF'), 'CSV starts with a byte order mark');
  const lines = csv.slice(1).trim().split('\r\n');
  assert.equal(lines.length, 2, 'header + the one filtered row');
  assert.match(lines[0], /^kind,doc_id,item_id,/);
  assert.doesNotMatch(lines[0], /resident_name/);
  assert.match(lines[1], /gedumpte matras/);

  // Contact details: the box needs a reason before CSV can be exported.
  await coord.getByTestId('export-personal').check();
  assert.equal(await coord.getByTestId('export-csv').isDisabled(), true);
  const reason = 'Bewoners terugbellen voor het wijkoverleg';
  await coord.getByTestId('export-reason').fill(reason);
  const personal = await download('export-csv');
  assert.match(personal.split('\r\n')[0], /resident_name/);

  const geo = JSON.parse(await download('export-geojson'));
  assert.equal(geo.type, 'FeatureCollection');
  assert.equal(geo.features.length, 1);
  assert.deepEqual(geo.features[0].geometry.coordinates, [OBS.afval.at[1], OBS.afval.at[0]]);

  // Every export is in the audit log, the reason with the personal one.
  const res = await fetch(`${server.origin}/api/v1/admin/audit?action=export*`, { headers: { Authorization: `Bearer ${await tokenFor('admin-ad')}` } });
  const { entries } = await res.json();
  const actions = entries.map((e) => e.action).sort();
  assert.deepEqual(actions, ['export.csv', 'export.csv', 'export.csv', 'export.geojson', 'export.xlsx']);
  assert.ok(entries.some((e) => e.action === 'export.csv' && JSON.stringify(e.detail).includes(reason)), 'reason audited');
});

test('(g) a spreekuur note: kind filter, the session as context, resident contact shown and its read audited', async () => {
  await phone.goto(`${proxy.origin}/#/`);
  await phone.getByRole('link', { name: 'Nieuw spreekuur' }).click();
  await phone.getByLabel('Locatie (buurthuis)').fill('Buurthuis de Roef');
  await phone.getByLabel('Wijk').selectOption({ index: 1 });
  await phone.getByRole('button', { name: 'Aanmaken' }).click();
  await phone.getByRole('heading', { name: /Spreekuur: Buurthuis de Roef/ }).waitFor();
  await phone.getByTestId('consent').check();
  await phone.getByLabel('Telefoon').fill('0612345678');
  await phone.locator('[data-category="woonoverlast"]').click();
  const text = 'Bewoner meldt geluidsoverlast van de bovenburen';
  await phone.getByTestId('note-text').fill(text);
  await phone.getByLabel('Bewoner wil teruggebeld worden').check();
  await phone.getByTestId('note-save').click();
  await phone.getByTestId('item-text').filter({ hasText: text }).waitFor();
  await waitAllSent(phone, 60_000);

  assert.deepEqual(await listFor('?kind=spreekuur'), [text]);
  assert.match(await coord.getByTestId('coord-row').textContent(), /Spreekuur: Buurthuis de Roef.*contactgegevens bewoner/);
  await openDetail(text);
  await coord.getByTestId('detail-context').filter({ hasText: 'Buurthuis de Roef' }).waitFor();
  assert.match(await coord.getByTestId('detail-resident').textContent(), /0612345678/);
  const v = await axeSerious(coord);
  assert.deepEqual(v, [], `spreekuur detail: ${JSON.stringify(v, null, 1)}`);

  const res = await fetch(`${server.origin}/api/v1/admin/audit?action=item.read_personal`, { headers: { Authorization: `Bearer ${await tokenFor('admin-ad')}` } });
  const { entries } = await res.json();
  const [, , , doc, item] = new URL(coord.url()).hash.split('/');
  assert.ok(entries.some((e) => e.subject === `${doc}/${item}`), 'the read of the contact details is audited');
});

test('(e) every coordinator screen passes axe-core (no serious/critical) and is photographed at 1280x800', async () => {
  const check = async (name) => {
    const v = await axeSerious(coord);
    assert.deepEqual(v, [], `${name}: serious/critical axe violations: ${JSON.stringify(v, null, 1)}`);
  };
  await coord.goto(`${server.origin}/#/coord/overview`);
  await coord.getByTestId('by-wijk').waitFor();
  await check('overview');
  await screenshot(coord, 'coordinator-overview');

  await listFor('');
  await waitRows(5);
  await coord.getByTestId('urgent-dismiss').click();
  await check('list');
  await screenshot(coord, 'coordinator-list');

  // Cursor paging ("Meer laden") in pages of 2: the same rows in the same order, none twice.
  const all = await listTexts();
  await listFor('?n=2');
  await waitRows(2);
  for (const n of [4, 5]) {
    await coord.getByTestId('load-more').click();
    await waitRows(n);
  }
  assert.equal(await coord.getByTestId('load-more').count(), 0);
  assert.deepEqual(await listTexts(), all);

  await coord.goto(`${server.origin}/#/coord/map`);
  await coord.waitForFunction(() => document.querySelectorAll('path.coord-marker').length === 4);
  await check('map');

  await listFor('?q=gedumpte');
  await openDetail(OBS.afval.text);
  await coord.getByTestId('history-entry').first().waitFor();
  await check('detail');
  await screenshot(coord, 'coordinator-detail');

  // One more item needing feedback, so the work list is not empty in the picture.
  await listFor('?q=scooters');
  await openDetail(OBS.jeugd.text);
  await coord.getByTestId('fb-needed').check();
  await waitCoordSynced();
  await coord.goto(`${server.origin}/#/coord/feedback`);
  await coord.getByTestId('feedback-item').filter({ hasText: OBS.jeugd.text }).getByTestId('fb-give').waitFor();
  await check('feedback');
  await screenshot(coord, 'coordinator-feedback');

  // Tablet (768 px): the page itself never scrolls sideways (wide tables scroll inside their box).
  await coord.setViewportSize({ width: 768, height: 1024 });
  try {
    for (const hash of ['overview', 'list', 'map', 'feedback']) {
      await coord.goto(`${server.origin}/#/coord/${hash}`);
      await coord.locator('.coord h1').waitFor();
      await coord.waitForLoadState('networkidle');
      const over = await coord.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(over <= 0, `${hash} at 768 px scrolls sideways by ${over}px`);
    }
  } finally {
    await coord.setViewportSize({ width: 1280, height: 800 });
  }
});
