// The residents' pages (/bewoners/) in Chromium on a 320 px phone against a
// real `wijklog serve`: no serious or critical axe issue on the wijk page,
// the refused form, and the status page; no sideways scrolling; a resident
// hands in a point and reads the receipt code; a coordinator puts it on a
// walk's agenda over REST and the status page follows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, axeSerious, restLogin } from './helpers.mjs';

/** @type {Server} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  server = await Server.start({ env: { WIJKLOG_PUBLIC_FORM_MIN_SECS: '1' } });
  await server.addUser('coord', { roles: ['coordinator'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** @param {import('playwright-core').Page} page */
async function noSidewaysScroll(page) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(wide <= 0, `the page scrolls sideways by ${wide} px`);
}

test('a resident hands in a point on a 320 px phone and follows it with the code', async () => {
  const ctx = await browser.newContext({ viewport: { width: 320, height: 640 }, isMobile: true, hasTouch: true, locale: 'nl-NL' });
  const page = await ctx.newPage();
  /** @type {string[]} */
  const csp = [];
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) csp.push(m.text()); });

  await page.goto(`${server.origin}/bewoners/`);
  assert.deepEqual(await axeSerious(page), []);
  await page.getByRole('link', { name: 'Centrum' }).click();
  await page.getByRole('heading', { name: 'Wijk Centrum' }).waitFor();
  assert.deepEqual(await axeSerious(page), []);
  await noSidewaysScroll(page);

  // A wrong e-mail address: the form comes back with the text still there.
  await page.getByLabel('Wat moeten we bekijken?').fill('Fietsen op de stoep bij de bakker');
  await page.getByLabel('Waar is het? Straat en huisnummer').fill('Markt 3');
  await page.getByLabel('E-mailadres').fill('jan@');
  await page.getByLabel(/u mag mij bellen of mailen/).check();
  await page.waitForTimeout(1100);
  await page.getByRole('button', { name: 'Verstuur' }).click();
  await page.getByText('Dit e-mailadres klopt niet').waitFor();
  assert.equal(await page.getByLabel('Wat moeten we bekijken?').inputValue(), 'Fietsen op de stoep bij de bakker');
  assert.deepEqual(await axeSerious(page), []);
  await noSidewaysScroll(page);

  await page.getByLabel('E-mailadres').fill('jan@example.nl');
  await page.waitForTimeout(1100);
  await page.getByRole('button', { name: 'Verstuur' }).click();
  await page.getByText('We hebben uw punt ontvangen.').first().waitFor();
  const code = (await page.locator('.ontvangen strong.code').textContent()) ?? '';
  assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
  assert.deepEqual(await axeSerious(page), []);
  await noSidewaysScroll(page);
  const body = (await page.textContent('main')) ?? '';
  assert.ok(!body.includes('Fietsen') && !body.includes('Markt'), 'the status page never shows the text');

  // A coordinator marks it looked at over REST; the status page follows.
  const coord = await restLogin(server.origin, 'coord');
  const auth = { authorization: `Bearer ${coord}`, 'content-type': 'application/json' };
  const list = await (await fetch(`${server.origin}/api/v1/resident-points?wijk=centrum`, { headers: auth })).json();
  const point = list.points.find((/** @type {{receipt: string}} */ p) => p.receipt === code);
  assert.ok(point, 'the point is in the coordinator\'s queue');
  const res = await fetch(`${server.origin}/api/v1/resident-points/${point.id}`, {
    method: 'POST', headers: auth, body: JSON.stringify({ action: 'looked_at' }),
  });
  assert.equal(res.status, 200);

  await page.goto(`${server.origin}/bewoners/`);
  await page.getByLabel('Uw ontvangstcode').fill(code.toLowerCase().replaceAll('-', ' '));
  await page.getByRole('button', { name: 'Bekijk' }).click();
  await page.getByText('Uw punt is bekeken tijdens de wandeling.').waitFor();
  assert.deepEqual(await axeSerious(page), []);
  assert.deepEqual(csp, [], 'no CSP violation');
  await ctx.close();
});
