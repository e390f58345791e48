// A resident's point from the residents' page to the walk and back, in
// Chromium against a real `wijklog serve`: a resident hands in a point on a
// 320 px phone and gets a receipt; a coordinator plans a walk and, in the
// queue screen, puts the point on its agenda in their own words; the boa's
// phone (360 px) gets the walk with "Bewoners vroegen:", goes offline, makes
// an observation from the point (marked "bekeken", linked); back online the
// resident's status page shows each step, and the queue shows "Bekeken".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, axeSerious, loggedInPhone, waitAllSent, screenshot } from './helpers.mjs';

/** @type {Server} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;

const POINT_TEXT = 'Lantaarnpaal bij de speeltuin is al een week kapot';
const AGENDA_TEXT = 'Lantaarnpaal kapot bij de speeltuin';

before(async () => {
  server = await Server.start({ env: { WIJKLOG_PUBLIC_FORM_MIN_SECS: '1' } });
  await server.addUser('coord', { roles: ['coordinator'], team: 'team-oost', name: 'Carla' });
  await server.addUser('boa', { roles: ['boa'], team: 'team-oost', name: 'Bas' });
  browser = await launchBrowser();
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

/**
 * The status page of `code`, read again until it says `sentence` (the
 * server follows the walk document after the phone's changes are stored).
 * @param {import('playwright-core').Page} page
 * @param {string} code
 * @param {string} sentence
 */
async function statusSays(page, code, sentence) {
  for (let i = 0; i < 60; i++) {
    await page.goto(`${server.origin}/bewoners/status/${code}`);
    if (((await page.textContent('main')) ?? '').includes(sentence)) return;
    await page.waitForTimeout(500);
  }
  assert.fail(`the status page never said "${sentence}": ${await page.textContent('main')}`);
}

test('a point goes from the residents\' page onto a walk\'s agenda and, looked at offline, back to the status page', async () => {
  // 1. The resident, on a 320 px phone.
  const resident = await browser.newContext({ viewport: { width: 320, height: 640 }, isMobile: true, hasTouch: true, locale: 'nl-NL' });
  const rp = await resident.newPage();
  await rp.goto(`${server.origin}/bewoners/centrum`);
  await rp.getByLabel('Wat moeten we bekijken?').fill(POINT_TEXT);
  await rp.getByLabel('Waar is het? Straat en huisnummer').fill('Kostmand 12');
  await rp.getByLabel('E-mailadres').fill('bewoner@example.nl');
  await rp.getByLabel(/u mag mij bellen of mailen/).check();
  await rp.waitForTimeout(1100);
  await rp.getByRole('button', { name: 'Verstuur' }).click();
  await rp.getByText('We hebben uw punt ontvangen.').first().waitFor();
  const code = ((await rp.locator('.ontvangen strong.code').textContent()) ?? '').trim();
  assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
  await noSidewaysScroll(rp);

  // 2. The coordinator plans a walk in Centrum for the team and puts the point on its agenda.
  const { ctx: cctx, page: coord } = await loggedInPhone(browser, server.origin, 'coord', { geolocation: false });
  await coord.setViewportSize({ width: 1100, height: 900 });
  await coord.goto(`${server.origin}/#/coord/plan`);
  const form = coord.getByTestId('plan-form');
  await form.getByLabel('Titel').fill('Avondronde Centrum');
  await form.getByLabel('Wijk').selectOption({ label: 'Centrum' });
  await coord.getByTestId('plan-create').click();
  await coord.getByTestId('plan-msg').filter({ hasText: 'Gepland voor' }).waitFor();
  const planned = coord.getByTestId('plan-item').filter({ hasText: 'Avondronde Centrum' });
  await planned.waitFor();
  const walkId = ((await planned.locator('a').getAttribute('href')) ?? '').split('/walk/')[1];
  assert.ok(walkId, 'the planned walk has an id');
  await waitAllSent(coord);

  await coord.goto(`${server.origin}/#/coord/points`);
  await coord.getByRole('heading', { name: 'Punten van bewoners', level: 1 }).waitFor();
  await coord.getByTestId('points-wijk').selectOption({ label: 'Centrum' });
  const card = coord.getByTestId('point').filter({ hasText: POINT_TEXT });
  await card.waitFor();
  assert.match((await card.textContent()) ?? '', new RegExp(`Code ${code}`));
  assert.match((await card.textContent()) ?? '', /Bewoner wil contact/);
  await card.getByTestId('point-agenda').click();
  // The one planned walk of the wijk is chosen; the coordinator shortens the wording.
  assert.equal(await card.getByTestId('point-walk').inputValue(), walkId);
  await card.getByTestId('point-text').fill(AGENDA_TEXT);
  assert.deepEqual(await axeSerious(coord), []);
  await card.getByTestId('point-agenda-save').click();
  await coord.getByTestId('points-notice').filter({ hasText: 'Opgeslagen.' }).waitFor();
  await coord.locator('[data-testid="point"][data-status="op_agenda"]').filter({ hasText: POINT_TEXT }).waitFor();
  await screenshot(coord, 'coordinator-points');
  await statusSays(rp, code, 'Uw punt staat op de agenda van de wandeling van');

  // 3. The boa's phone gets the walk with the agenda, without the resident's contact details.
  const { ctx: bctx, page: boa } = await loggedInPhone(browser, server.origin, 'boa');
  await boa.goto(`${server.origin}/#/walk/${walkId}`);
  const point = boa.getByTestId('agenda-point');
  await point.filter({ hasText: AGENDA_TEXT }).waitFor({ timeout: 30_000 });
  await boa.getByRole('heading', { name: 'Bewoners vroegen:' }).waitFor();
  assert.match((await point.textContent()) ?? '', /Kostmand 12/);
  assert.ok(!((await boa.textContent('body')) ?? '').includes('bewoner@example.nl'), 'no contact details on the phone');
  assert.equal(await point.getByTestId('agenda-looked').getAttribute('aria-pressed'), 'false');
  await noSidewaysScroll(boa);
  assert.deepEqual(await axeSerious(boa), []);

  // 4. Offline: an observation from the point; it is marked looked at and linked.
  await bctx.setOffline(true);
  await point.getByTestId('agenda-observe').click();
  await boa.getByTestId('entry-from-point').filter({ hasText: AGENDA_TEXT }).waitFor();
  assert.equal(await boa.getByTestId('entry-text').inputValue(), AGENDA_TEXT, 'the text starts from the point');
  assert.equal(await boa.getByLabel('Plaats (straat, herkenningspunt)').inputValue(), 'Kostmand 12');
  // The resident chose no subject: the boa picks the category.
  await boa.locator('[data-category="openbare_ruimte"]').click();
  await boa.getByTestId('entry-text').fill('Lantaarnpaal kapot, melding gedaan bij de gemeente');
  await boa.getByTestId('entry-save').click();
  await boa.getByTestId('agenda-observation').waitFor();
  assert.equal(await point.getByTestId('agenda-looked').getAttribute('aria-pressed'), 'true');
  await boa.getByTestId('sync-indicator').filter({ hasText: /wacht/ }).waitFor();
  await screenshot(boa, 'walk-agenda-offline');
  // Still offline: the status page has not moved.
  await statusSays(rp, code, 'Uw punt staat op de agenda van de wandeling van');

  // 5. Back online: the mark reaches the server, the point follows it.
  await bctx.setOffline(false);
  await waitAllSent(boa, 60_000);
  await statusSays(rp, code, 'Uw punt is bekeken tijdens de wandeling.');
  const body = (await rp.textContent('main')) ?? '';
  assert.ok(!body.includes('Lantaarnpaal'), 'the status page never shows the text');
  await noSidewaysScroll(rp);
  assert.deepEqual(await axeSerious(rp), []);

  await coord.reload();
  await coord.getByTestId('points-wijk').selectOption({ label: 'Centrum' });
  const seen = coord.locator('[data-testid="point"][data-status="bekeken"]').filter({ hasText: POINT_TEXT });
  await seen.waitFor();
  assert.match((await seen.getByTestId('point-status').textContent()) ?? '', /Bekeken/);

  await resident.close();
  await bctx.close();
  await cctx.close();
});
