// Photos for the people who decide, against a real server and headless
// Chromium: a boa logs a walk with photos on a phone (360x740); a
// coordinator (laptop, 1280x800)
// - sees a thumbnail column in the list (the first photo and "+1");
// - opens the item's gallery and a photo at full size: the viewer shows the
//   photo large (it showed a 1200x1600 photo at 96x127: the thumbnail style
//   applied inside the viewer), and the full-size read is audited;
// - sees the photos in the walk report, which prints them into the PDF and
//   applies its own stylesheet without a Content-Security-Policy violation;
//   the report names the boa who logged the walk.
// The phone's own viewer is checked at 360 px too.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  Server, Proxy, launchBrowser, loggedInPhone, login, createWalk, waitAllSent, axeSerious, restLogin, screenshot, OUTPUT,
} from './helpers.mjs';
import { makeTestJpegInPage } from './photo-fixtures.mjs';

let server;
let browser;
let proxy;
let phoneCtx;
let phone;
let coordCtx;
let coord;
let walkId;
const shas = [];
const cspViolations = [];

before(async () => {
  server = await Server.start();
  await server.addUser('boa-anna', { roles: ['boa'], team: 'team-oost', name: 'Anna de Boer' });
  await server.addUser('coord-carla', { roles: ['coordinator'], team: null, name: 'Carla' });
  await server.addUser('admin-ad', { roles: ['admin'], team: null, name: 'Ad' });
  browser = await launchBrowser();
  proxy = await Proxy.start(server.port);
  ({ ctx: phoneCtx, page: phone } = await loggedInPhone(browser, proxy.origin, 'boa-anna'));
  walkId = await createWalk(phone, 'Ronde met foto’s');

  // One observation with two photos (portrait 1200x1600 and landscape 1600x1200), one without.
  await phone.getByTestId('add-observation').click();
  await phone.getByRole('heading', { name: 'Nieuwe waarneming' }).waitFor();
  await phone.locator('[data-category="vervuiling"]').click();
  await phone.getByTestId('entry-text').fill('Afval naast de container');
  for (const [i, [width, height]] of [[1200, 1600], [1600, 1200]].entries()) {
    const jpeg = Buffer.from(await phone.evaluate(makeTestJpegInPage, { width, height, seed: 3 + i, block: 40, quality: 0.85 }), 'base64');
    await phone.getByTestId('photo-input-pick').setInputFiles({ name: `IMG_${i}.jpg`, mimeType: 'image/jpeg', buffer: jpeg });
    await phone.getByTestId('redactor').waitFor();
    await phone.getByTestId('redact-save').click();
    await phone.locator('[data-testid="new-photo"]').nth(i).waitFor();
  }
  for (const el of await phone.getByTestId('new-photo').all()) shas.push(await el.getAttribute('data-sha'));
  await phone.getByTestId('entry-save').click();
  await phone.getByTestId('save-state').filter({ hasText: 'opgeslagen' }).waitFor();
  await phone.getByTestId('add-observation').click();
  await phone.locator('[data-category="jeugdoverlast"]').click();
  await phone.getByTestId('entry-text').fill('Groep bij het bankje');
  await phone.getByTestId('entry-save').click();
  await phone.getByTestId('save-state').filter({ hasText: 'opgeslagen' }).waitFor();
  await waitAllSent(phone, 60_000);

  coordCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  coord = await coordCtx.newPage();
  coord.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  await coord.goto(`${server.origin}/`);
  await login(coord, 'coord-carla');
});

after(async () => {
  await coordCtx?.close();
  await phoneCtx?.close();
  await proxy?.close();
  await browser?.close();
  await server?.dispose();
});

/** Rendered and natural size of the full-size viewer's image, once it has loaded. */
async function viewerImage(page) {
  await page.waitForFunction(() => {
    /** @type {HTMLImageElement | null} */
    const img = document.querySelector('[data-testid="photo-full"]');
    return img && img.complete && img.naturalWidth > 0;
  });
  return page.getByTestId('photo-full').evaluate((img) => {
    const r = img.getBoundingClientRect();
    return { w: r.width, h: r.height, nw: img.naturalWidth, nh: img.naturalHeight };
  });
}

async function blobReads() {
  const token = await restLogin(server.origin, 'admin-ad');
  const r = await fetch(`${server.origin}/api/v1/admin/audit?action=blob.read`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  return (await r.json()).entries;
}

test('the list has a thumbnail column: the first photo, and +1 for the second', async () => {
  await coord.goto(`${server.origin}/#/coord/list`);
  await coord.locator('[data-testid="list-count"][data-state="ready"][data-count="2"]').waitFor({ timeout: 30_000 });
  const withPhotos = coord.getByTestId('coord-row').filter({ hasText: 'Afval naast de container' });
  const cell = withPhotos.getByTestId('row-photo');
  assert.equal(await cell.getAttribute('data-count'), '2');
  assert.match(await cell.textContent(), /\+1/);
  await coord.waitForFunction(() => {
    /** @type {HTMLImageElement | null} */
    const img = document.querySelector('[data-testid="row-photo"] img');
    return img && img.complete && img.naturalWidth > 0;
  });
  assert.equal(await cell.locator('img').getAttribute('alt'), "2 foto's");
  const thumb = await cell.locator('img').evaluate((img) => ({ w: img.getBoundingClientRect().width, nw: img.naturalWidth, nh: img.naturalHeight }));
  assert.equal(thumb.w, 56, 'shown as a 56 px thumbnail');
  // The server's thumbnail (longest side 320), not the full photo.
  assert.deepEqual([thumb.nw, thumb.nh], [240, 320]);
  const without = coord.getByTestId('coord-row').filter({ hasText: 'Groep bij het bankje' });
  assert.equal(await without.getByTestId('row-photo').count(), 0);
  assert.deepEqual(await blobReads(), [], 'thumbnails are not full-size reads');
  assert.deepEqual(await axeSerious(coord), []);
  await screenshot(coord, 'coord-list-photos');
});

test('the item detail has a gallery; a photo opens full size (not 96 px) and the read is audited', async () => {
  await coord.getByTestId('row-photo').first().click();
  const gallery = coord.getByTestId('detail-gallery');
  await gallery.waitFor();
  assert.match(await gallery.getByRole('heading').textContent(), /Foto’s \(2\)/);
  const photos = gallery.getByTestId('photo');
  assert.deepEqual(await photos.evaluateAll((els) => els.map((e) => e.dataset.sha)), shas);
  await coord.waitForFunction(() => [...document.querySelectorAll('[data-testid="detail-gallery"] img')].map((i) => /** @type {HTMLImageElement} */ (i)).every((i) => i.complete && i.naturalWidth > 0));
  assert.equal(await gallery.locator('img').first().evaluate((i) => i.getBoundingClientRect().width), 160);

  const full = coord.waitForResponse((r) => r.url().endsWith(`/api/v1/blobs/${shas[0]}`) && r.request().method() === 'GET');
  await photos.first().getByTestId('photo-open').click();
  assert.equal((await full).status(), 200);
  const img = await viewerImage(coord);
  assert.deepEqual([img.nw, img.nh], [1200, 1600], 'the full photo, not the thumbnail');
  // 800 px high window: the viewer is capped at 75 % of the height (600 px), so 450x600.
  assert.ok(Math.abs(img.h - 600) <= 1, `rendered height ${img.h}`);
  assert.ok(Math.abs(img.w / img.h - 0.75) < 0.01, `aspect ratio kept: ${img.w}x${img.h}`);
  assert.deepEqual(await axeSerious(coord), []);
  await screenshot(coord, 'coord-photo-viewer');
  await coord.keyboard.press('Escape');
  await coord.getByTestId('photo-viewer').waitFor({ state: 'detached' });

  const reads = await blobReads();
  assert.equal(reads.length, 1);
  assert.equal(reads[0].subject, shas[0]);
  assert.equal(reads[0].detail.items.length, 1);
});

test('on the phone the viewer fills the width', async () => {
  const photo = phone.locator(`[data-testid="photo"][data-sha="${shas[0]}"]`);
  await photo.getByTestId('photo-open').click();
  const img = await viewerImage(phone);
  assert.deepEqual([img.nw, img.nh], [1200, 1600]);
  const dialog = await phone.getByTestId('photo-viewer').evaluate((d) => d.clientWidth - parseFloat(getComputedStyle(d).paddingLeft) - parseFloat(getComputedStyle(d).paddingRight));
  assert.ok(Math.abs(img.w - dialog) <= 1, `photo ${img.w} px wide in a ${dialog} px dialog`);
  assert.ok(img.w > 250, `photo ${img.w} px wide`);
  const scroll = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(scroll, 0, 'no sideways scrolling');
  await screenshot(phone, 'phone-photo-viewer');
  await phone.getByTestId('photo-viewer').getByRole('button', { name: 'Sluiten' }).click();
});

test('the walk report shows the photos and prints them into the PDF', async () => {
  await coord.goto(`${server.origin}/#/coord/report/${walkId}`);
  const strip = coord.getByTestId('report-photos');
  await strip.waitFor();
  assert.equal(await strip.getByTestId('photo').count(), 2);
  // The boa who logged the walk is named (it once said "Deelnemers: Geen.").
  assert.deepEqual(await coord.getByTestId('report-walker').allTextContents(), ['Anna de Boer (legde 2 waarnemingen vast)']);
  assert.doesNotMatch(String(await coord.getByTestId('report-participants').textContent()), /Geen\./);
  await coord.waitForFunction(() => [...document.querySelectorAll('[data-testid="report-photos"] img')].map((i) => /** @type {HTMLImageElement} */ (i)).every((i) => i.complete && i.naturalWidth > 0));
  // The report's own stylesheet applies (an inline <style> is refused by the CSP).
  assert.equal(await coord.locator('.report table').first().evaluate((t) => getComputedStyle(t).borderCollapse), 'collapse');
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(await axeSerious(coord), []);
  await screenshot(coord, 'walk-report-photos');

  await coord.emulateMedia({ media: 'print' });
  assert.equal(await coord.locator('header.top').isVisible(), false);
  assert.equal(await strip.isVisible(), true);
  const printed = await strip.locator('img').first().evaluate((i) => i.getBoundingClientRect().width);
  assert.ok(Math.abs(printed - (30 / 25.4) * 96) < 1, `thumbnail printed 30 mm wide (${printed} px)`);
  const pdf = await coord.pdf({ format: 'A4' });
  await mkdir(OUTPUT, { recursive: true });
  await writeFile(path.join(OUTPUT, 'walk-report-photos.pdf'), pdf);
  const images = pdf.toString('latin1').match(/\/Subtype\s*\/Image/g) ?? [];
  assert.ok(images.length >= 2, `the PDF embeds the photos (${images.length} images)`);
  await coord.emulateMedia({ media: 'screen' });
});
