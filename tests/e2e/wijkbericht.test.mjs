// The wijkbericht ("u meldde, wij deden") in Chromium against a real
// `wijklog serve`: a coordinator on a laptop (1280x800) makes a draft for
// Oostermeent from a boa's walk (seeded over the sync protocol) and a
// resident's point, edits it, loses nothing when someone else saved in
// between, copies it as plain text, prints it, and publishes it; the wijk
// page on a 320 px phone shows it (axe: no serious or critical issue, no
// sideways scrolling) and showed nothing while it was a draft. Every free
// text the server holds carries a marker that must appear on none of these
// screens, in the clipboard or on paper. The overview's charts and the walk
// report (walkers, Dutch plurals, GPS in words) are checked on the same data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, login, axeSerious, restLogin, screenshot } from './helpers.mjs';
import { seedWalks } from './seed-sync.mjs';

const DAY = 86_400_000;
const MARKERS = ['MRKWALK', 'MRKPOINT', 'mrk@example.nl', 'MRKNAME'];

/** @type {Server} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;
/** The seeded walk's document id. */
let walkId = '';

/** yyyy-mm-dd of `ms` in Amsterdam. */
function day(ms) {
  return new Date(ms).toLocaleDateString('sv-SE', { timeZone: 'Europe/Amsterdam' });
}

/** @param {string} what @param {string} text */
function noMarkers(what, text) {
  for (const m of MARKERS) assert.ok(!text.includes(m), `${m} in ${what}: ${text}`);
}

before(async () => {
  server = await Server.start({ env: { WIJKLOG_PUBLIC_FORM_MIN_SECS: '1' } });
  await server.addUser('boa-bo', { roles: ['boa'], team: 'team-oost', name: 'Bo' });
  await server.addUser('coord', { roles: ['coordinator'], team: null, name: 'Cora' });
  browser = await launchBrowser();
  ({ ids: [walkId] } = await seedWalks(server, 'boa-bo', 'team-oost', [{ title: 'MRKWALK Avondronde', at: Date.now() - 3 * DAY, observations: 4 }]));
  // A resident's point with contact details, handed in on the public endpoint.
  const { token } = await (await fetch(`${server.origin}/api/v1/public/form-token`)).json();
  await new Promise((r) => setTimeout(r, 1100));
  const res = await fetch(`${server.origin}/api/v1/public/points`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ wijk: 'oostermeent', text: 'Kapotte lamp MRKPOINT', token, contact: { name: 'MRKNAME', email: 'mrk@example.nl', consent: true } }),
  });
  assert.equal(res.status, 201, await res.text());
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** @param {import('playwright-core').Page} page */
async function noSidewaysScroll(page) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(wide <= 0, `the page scrolls sideways by ${wide} px`);
}

/** The wijk page on a 320 px phone; returns its main text. */
async function wijkPage() {
  const ctx = await browser.newContext({ viewport: { width: 320, height: 640 }, isMobile: true, hasTouch: true, locale: 'nl-NL' });
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/bewoners/oostermeent`);
  await page.getByRole('heading', { name: 'Wijk Oostermeent' }).waitFor();
  assert.deepEqual(await axeSerious(page), []);
  await noSidewaysScroll(page);
  const text = (await page.textContent('main')) ?? '';
  noMarkers('the wijk page', await page.content());
  if (text.includes('u meldde, wij deden')) await screenshot(page, 'wijkbericht-bewoners-320');
  await ctx.close();
  return text;
}

test('a coordinator makes, edits, copies, prints and publishes a wijkbericht; residents see only the published text', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/`);
  await login(page, 'coord');
  await page.goto(`${server.origin}/#/coord/berichten`);
  await page.getByRole('heading', { name: 'Wijkberichten', level: 1 }).waitFor();
  assert.deepEqual(await axeSerious(page), []);

  await page.getByLabel('Wijk', { exact: true }).selectOption({ label: 'Oostermeent' });
  await page.getByLabel('Van', { exact: true }).fill(day(Date.now() - 10 * DAY));
  await page.getByLabel('Tot en met', { exact: true }).fill(day(Date.now()));
  await page.getByRole('button', { name: 'Concept maken' }).click();
  await page.getByRole('heading', { name: 'Wijkbericht Oostermeent', level: 1 }).waitFor();
  const box = page.getByLabel('Tekst van het wijkbericht');
  const draft = await box.inputValue();
  assert.match(draft, /Tijdens 1 wandeling noteerden we 4 punten\./);
  assert.match(draft, /Via de bewonerspagina gaven bewoners 1 punt door\. We bekijken het zo snel mogelijk\./);
  noMarkers('the draft', draft);
  noMarkers('the coordinator screen', (await page.textContent('main')) ?? '');
  assert.deepEqual(await axeSerious(page), []);
  await screenshot(page, 'wijkbericht-coordinator');

  // A draft is not on the residents' page.
  assert.ok(!(await wijkPage()).includes('u meldde, wij deden'), 'a draft is not public');

  // Edit; meanwhile a colleague saves another version: nothing typed is lost.
  const mine = `${draft}\n\nDank aan alle buurtbewoners die iets doorgaven.`;
  await box.fill(mine);
  const id = new URL(page.url()).hash.split('/').pop();
  const token = await restLogin(server.origin, 'coord');
  const res = await fetch(`${server.origin}/api/v1/wijkberichten/${id}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text: `${draft}\n\nVersie van een collega.`, version: 1 }),
  });
  assert.equal(res.status, 200, await res.text());
  await page.getByRole('button', { name: 'Opslaan', exact: true }).click();
  await page.getByTestId('bericht-error').filter({ hasText: 'Iemand anders heeft dit wijkbericht intussen veranderd' }).waitFor();
  assert.equal(await box.inputValue(), mine, 'the typed text is still in the box');
  await page.getByRole('button', { name: 'Mijn tekst toch opslaan' }).click();
  await page.getByTestId('bericht-note').filter({ hasText: 'Opgeslagen.' }).waitFor();
  assert.equal(await box.inputValue(), mine);

  // Copied as plain text, exactly the text.
  await page.getByRole('button', { name: 'Kopiëren als tekst' }).click();
  await page.getByTestId('bericht-note').filter({ hasText: 'Gekopieerd' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), mine);

  // Printed: the text as residents see it, without the editor and the app's chrome.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await box.isVisible(), false, 'the editor does not print');
  assert.equal(await page.getByRole('button', { name: 'Publiceren' }).isVisible(), false);
  const printed = await page.locator('main').innerText();
  assert.match(printed, /Wijkbericht Oostermeent/);
  assert.match(printed, /Dank aan alle buurtbewoners die iets doorgaven\./);
  assert.match(printed, /Wat deden we\?/);
  noMarkers('the print', printed);
  await page.emulateMedia({ media: 'screen' });

  // A phone number typed in: warned, and publishing waits until it is gone.
  await box.fill(`${mine}\nBel 06 1234 5678.`);
  await page.getByTestId('bericht-personal').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Publiceren' }).isDisabled(), true);
  await box.fill(mine);

  await page.getByRole('button', { name: 'Publiceren' }).click();
  await page.getByTestId('bericht-status').filter({ hasText: 'Gepubliceerd op' }).waitFor();
  assert.deepEqual(await axeSerious(page), []);

  const pub = await wijkPage();
  assert.match(pub, /Wijkbericht: u meldde, wij deden/);
  assert.match(pub, /Dank aan alle buurtbewoners die iets doorgaven\./);
  assert.ok(!pub.includes('Versie van een collega'), 'only the approved text');
  await ctx.close();
});

test('the overview charts show this period beside the previous one, with names, numbers and a table, and pass axe', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/`);
  await login(page, 'coord');
  await page.goto(`${server.origin}/#/coord/overview`);
  const byCategory = page.getByRole('img', { name: 'Per categorie, deze en vorige periode' });
  await byCategory.waitFor();
  // The seeded walk: one observation in each of four categories, three days ago.
  for (const id of ['jeugdoverlast', 'vervuiling', 'vernieling', 'verkeer']) {
    const bar = page.locator(`[data-testid="chart-category"] g[data-id="${id}"]`);
    assert.equal(await bar.getAttribute('data-current'), '1', id);
    assert.equal(await bar.getAttribute('data-previous'), '0', id);
    // The number is written beside the bar, and the previous period is hatched, not only another colour.
    assert.deepEqual(await bar.locator('text.chart-value').allTextContents(), ['1', '0']);
    assert.match((await bar.locator('rect').nth(1).getAttribute('fill')) ?? '', /^url\(#/);
  }
  const desc = await page.locator('[data-testid="chart-category"] desc').textContent();
  assert.match(desc ?? '', /Jeugdoverlast: 1, vorige periode 0/);
  const wijk = page.locator('[data-testid="chart-wijk"] g[data-id="oostermeent"]');
  assert.equal(await wijk.getAttribute('data-current'), '4');
  const time = page.getByRole('img', { name: 'Problemen over tijd' });
  await time.waitFor();
  const perStep = await page.locator('[data-testid="chart-problems-time"] g[data-current]').evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-current'))));
  assert.equal(perStep.length, 30, 'thirty days, a step each');
  assert.equal(perStep.reduce((a, b) => a + b, 0), 4);
  // Over time for one wijk and one category: the same chart, counted for those only.
  const sum = async () =>
    (await page.locator('[data-testid="chart-problems-time"] g[data-current]').evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-current'))))).reduce((a, b) => a + b, 0);
  await page.getByTestId('series-filter').getByLabel('Wijk').selectOption({ label: 'Centrum' });
  await page.getByRole('img', { name: 'Problemen over tijd: Centrum' }).waitFor();
  assert.equal(await sum(), 0);
  await page.getByTestId('series-filter').getByLabel('Wijk').selectOption({ label: 'Oostermeent' });
  await page.getByTestId('series-filter').getByLabel('Categorie').selectOption({ label: 'Jeugdoverlast' });
  await page.getByRole('img', { name: 'Problemen over tijd: Oostermeent, Jeugdoverlast' }).waitFor();
  assert.equal(await sum(), 1);
  assert.equal(await page.locator('[data-testid="chart-category"] g[data-id="vervuiling"]').getAttribute('data-current'), '1', 'the bars stay of every item');
  await page.locator('[data-testid="chart-problems-time"] summary').click();
  const rows = await page.getByTestId('chart-problems-time-table').locator('tbody tr').count();
  assert.equal(rows, 30);
  assert.deepEqual(await axeSerious(page), []);
  await screenshot(page, 'overview-charts');
  await ctx.close();
});

test('the walk report lists who logged, says counts with Dutch plurals and positions in words', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/`);
  await login(page, 'coord');
  await page.goto(`${server.origin}/#/coord/report/${walkId}`);
  const report = page.getByTestId('walk-report');
  await report.getByRole('heading', { name: 'Verslag: MRKWALK Avondronde' }).waitFor();
  assert.deepEqual(await page.getByTestId('report-walker').allTextContents(), ['Bo (legde 4 waarnemingen vast)']);
  assert.ok(!((await page.getByTestId('report-participants').textContent()) ?? '').includes('Geen.'), 'a walk somebody logged has participants');
  const heads = await page.locator('[data-testid="report-category"] h3').allTextContents();
  assert.deepEqual(heads.sort(), ['Jeugdoverlast (1 waarneming)', 'Verkeer (1 waarneming)', 'Vernieling (1 waarneming)', 'Vervuiling / zwerfafval (1 waarneming)']);
  const place = (await page.getByTestId('report-item').first().locator('td').nth(3).textContent()) ?? '';
  assert.match(place, /^GPS 52,\d{5}° NB, 5,\d{5}° OL \(op 10 m nauwkeurig\)$/);
  assert.deepEqual(await axeSerious(page), []);
  await ctx.close();
});
