// Every screen passes axe-core without serious or critical violations, works
// at phone width, and is photographed at 360x740 for review
// (tests/output/screenshots/{home,walk,quick-entry,spreekuur}.png).
// Also: two spreekuur staff online together see each other's notes live, and
// resident contact fields exist only behind the consent toggle.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, launchBrowser, loggedInPhone, newPhone, openApp, login, createWalk, addObservation, waitAllSent, axeSerious, screenshot,
} from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await Server.start();
  await server.addUser('boa-sanne', { roles: ['boa', 'spreekuur'], team: 'team-oost', name: 'Sanne' });
  await server.addUser('oov-omar', { roles: ['spreekuur'], team: 'team-oost', name: 'Omar' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

async function assertAccessible(page, screen) {
  const v = await axeSerious(page);
  assert.deepEqual(v, [], `${screen}: serious/critical axe violations: ${JSON.stringify(v, null, 1)}`);
}

/** Every visible button, link and form field is at least 48x48 CSS px (checkboxes: their label row). */
async function assertTouchTargets(page, screen) {
  const small = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('button, a[href], input:not([type="checkbox"]), select, textarea, label.check')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.height < 47.5 || r.width < 47.5) out.push(`${el.tagName} "${(el.textContent || el.id).trim().slice(0, 30)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
    return out;
  });
  assert.deepEqual(small, [], `${screen}: touch targets under 48 px`);
}

/** Nothing sticks out sideways at this width. */
async function assertNoHorizontalScroll(page, screen) {
  const [over, wide] = await page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > w + 0.5 || (e.scrollWidth > e.clientWidth + 0.5 && getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0))
      .slice(-5)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className} "${(e.textContent || '').trim().slice(0, 20)}"`);
    return [document.documentElement.scrollWidth - w, wide];
  });
  assert.ok(over <= 0, `${screen}: page scrolls sideways by ${over}px (${wide.join('; ')})`);
}

async function check(page, screen) {
  await assertAccessible(page, screen);
  await assertTouchTargets(page, screen);
  await assertNoHorizontalScroll(page, screen);
}

test('every screen is accessible, usable at 320 and 360 px, and photographed', async () => {
  const ctx = await newPhone(browser, { origin: server.origin });
  const page = await ctx.newPage();
  await openApp(page, server.origin);
  await page.getByRole('heading', { name: 'Inloggen' }).waitFor();
  await check(page, 'login');
  await screenshot(page, 'login');

  await login(page, 'boa-sanne');
  await check(page, 'home (empty)');

  await page.getByRole('link', { name: 'Nieuwe wandeling' }).click();
  await page.getByRole('heading', { name: 'Nieuwe wandeling' }).waitFor();
  await check(page, 'new walk');
  await page.goto(`${server.origin}/#/`);

  await createWalk(page, 'Wijkschouw Oostermeent');
  await page.getByTestId('walk-start').click();
  await page.getByTestId('walk-state').filter({ hasText: 'Gestart' }).waitFor();
  await addObservation(page, { text: 'Bewoners ruimen samen het pleintje op', category: 'positief_signaal' });
  await addObservation(page, { text: 'Hangjongeren bij de Roef, harde muziek' });
  await check(page, 'walk');
  await screenshot(page, 'walk');

  await page.getByTestId('add-observation').click();
  await page.getByRole('heading', { name: 'Nieuwe waarneming' }).waitFor();
  await page.locator('[data-category]').first().click();
  await page.getByTestId('gps').filter({ hasText: /GPS ±\d+ m/ }).waitFor();
  await check(page, 'quick entry');
  await screenshot(page, 'quick-entry');
  // Large GPS error: the warning shows.
  await ctx.setGeolocation({ latitude: 52.3, longitude: 5.24, accuracy: 120 });
  await page.getByTestId('gps').filter({ hasText: 'onnauwkeurig' }).waitFor();
  await page.getByRole('link', { name: 'Annuleren' }).click();

  // Edit + delete with undo.
  const item = page.getByTestId('item').filter({ hasText: 'Hangjongeren' });
  await item.getByTestId('delete').click();
  await page.getByTestId('undo').waitFor();
  assert.equal(await page.getByTestId('item').filter({ hasText: 'Hangjongeren' }).count(), 0);
  await check(page, 'walk with undo toast');
  await page.getByTestId('undo').click();
  await page.getByTestId('item').filter({ hasText: 'Hangjongeren' }).waitFor();
  await page.getByTestId('walk-end').click();
  await page.getByTestId('confirm-dialog').waitFor();
  await check(page, 'walk end confirmation');
  await page.getByTestId('confirm-yes').click();
  await page.getByTestId('walk-state').filter({ hasText: 'Beëindigd' }).waitFor();
  assert.match(await page.getByTestId('closing-counts').textContent(), /^2 waarnemingen, waarvan 0 urgent en 1 positief/);

  await page.goto(`${server.origin}/#/`);
  await page.getByRole('heading', { name: 'Overzicht', level: 1 }).waitFor();
  await check(page, 'home');
  await screenshot(page, 'home');

  await page.getByRole('link', { name: 'Nieuw spreekuur' }).click();
  await page.getByRole('heading', { name: 'Nieuw spreekuur' }).waitFor();
  await check(page, 'new session');
  await page.getByLabel('Locatie (buurthuis)').fill('Buurthuis de Roef');
  await page.getByLabel('Wijk').selectOption({ index: 1 });
  await page.getByRole('button', { name: 'Aanmaken' }).click();
  await page.getByRole('heading', { name: /Spreekuur: Buurthuis de Roef/ }).waitFor();
  // Contact fields only behind the consent toggle.
  assert.equal(await page.getByLabel('Telefoon').count(), 0);
  await page.getByTestId('consent').check();
  await page.getByLabel('Telefoon').waitFor();
  await page.getByLabel('Telefoon').fill('0612345678');
  await page.locator('[data-category]').first().click();
  await page.getByTestId('note-text').fill('Bewoner meldt overlast van drugsdealers in portiek');
  await page.getByLabel('Bewoner wil teruggebeld worden').check();
  await page.getByTestId('note-save').click();
  await page.getByTestId('item-text').filter({ hasText: 'portiek' }).waitFor();
  assert.equal(await page.getByLabel('Telefoon').count(), 0, 'consent resets after saving');
  await page.getByTestId('item').filter({ hasText: 'Terugbellen gevraagd' }).waitFor();
  await check(page, 'spreekuur');
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'spreekuur');

  // English is one tap away and changes every label.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: /Consultation hour: Buurthuis de Roef/ }).waitFor();
  await page.getByRole('button', { name: 'Nederlands' }).click();

  // 320 px wide still works without sideways scrolling.
  await page.setViewportSize({ width: 320, height: 640 });
  await assertNoHorizontalScroll(page, 'spreekuur @320');
  await page.goto(`${server.origin}/#/`);
  await assertNoHorizontalScroll(page, 'home @320');
  await ctx.close();
});

/** Sticky and fixed bars (header, save bar) together, as a share of the viewport height. */
async function stickyShare(page) {
  return page.evaluate(() => {
    let h = 0;
    const parts = [];
    for (const el of document.querySelectorAll('body *')) {
      const pos = getComputedStyle(el).position;
      if (pos !== 'sticky' && pos !== 'fixed') continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      h += Math.min(r.height, window.innerHeight);
      parts.push(`${el.className} ${Math.round(r.height)}px`);
    }
    return [h / window.innerHeight, parts.join(', ')];
  });
}

/** The header's parts (name, sync state, buttons) do not overlap each other or leave the screen. */
async function assertHeaderFits(page, screen) {
  const bad = await page.evaluate(() => {
    const parts = [...document.querySelectorAll('.top > *, .top-actions > *')].filter((e) => !e.classList.contains('top-actions'));
    /** @type {[string, DOMRect][]} */
    const rects = parts.map((e) => [e.className || e.tagName, e.getBoundingClientRect()]);
    const out = [];
    for (const [n, r] of rects) if (r.right > window.innerWidth + 0.5 || r.left < -0.5) out.push(`${n} outside the screen`);
    for (let i = 0; i < rects.length; i++)
      for (let j = i + 1; j < rects.length; j++) {
        const [a, ra] = rects[i];
        const [b, rb] = rects[j];
        const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
        const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
        if (w > 0.5 && h > 0.5) out.push(`${a} overlaps ${b}`);
      }
    return out;
  });
  assert.deepEqual(bad, [], `${screen}: header`);
}

/**
 * No category button's label sticks out of (or is clipped by) its button, and
 * no word of it is broken over two lines ("Jeugdoverla / st").
 */
async function assertCategoryLabelsFit(page, screen) {
  const over = await page.evaluate(() => {
    const out = [];
    for (const b of document.querySelectorAll('[data-category]')) {
      const br = b.getBoundingClientRect();
      const span = b.querySelector('span') ?? b;
      const tr = span.getBoundingClientRect();
      if (b.scrollWidth > b.clientWidth + 0.5 || tr.right > br.right + 0.5 || tr.left < br.left - 0.5) {
        out.push(`${b.textContent.trim()}: ${b.scrollWidth} > ${b.clientWidth}`);
        continue;
      }
      const node = /** @type {Text | null} */ (span.firstChild);
      if (!node || node.nodeType !== Node.TEXT_NODE) continue;
      const re = /\S+/g;
      let m;
      while ((m = re.exec(node.data))) {
        const r = document.createRange();
        r.setStart(node, m.index);
        r.setEnd(node, m.index + m[0].length);
        const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
        if (tops.size > 1) out.push(`${b.textContent.trim()}: "${m[0]}" broken over ${tops.size} lines`);
      }
    }
    return out;
  });
  assert.deepEqual(over, [], `${screen}: category labels overflow their buttons`);
}

test('320x640 at 100 % and 200 % text: no sideways scroll, header fits, category labels fit, sticky bars at most 25 %', async () => {
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'boa-sanne');
  try {
    await createWalk(page, 'Ronde tekstgrootte');
    const walkUrl = page.url();
    await page.setViewportSize({ width: 360, height: 740 });
    await page.getByTestId('add-observation').click();
    await page.getByRole('heading', { name: 'Nieuwe waarneming' }).waitFor();
    await assertCategoryLabelsFit(page, 'quick entry @360');
    for (const [label, size] of [['100 %', ''], ['200 %', '36px']]) {
      await page.setViewportSize({ width: 320, height: 640 });
      // 200 % text: the root font size doubled (every size in the CSS is rem/em).
      await page.evaluate((s) => { document.documentElement.style.fontSize = s; }, size);
      for (const [screen, url] of [['home', `${server.origin}/#/`], ['walk', walkUrl]]) {
        await page.goto(url);
        await page.evaluate((s) => { document.documentElement.style.fontSize = s; }, size);
        await page.locator('h1').first().waitFor();
        await assertNoHorizontalScroll(page, `${screen} @320 ${label}`);
        await assertHeaderFits(page, `${screen} @320 ${label}`);
      }
      await page.getByTestId('add-observation').click();
      await page.getByRole('heading', { name: 'Nieuwe waarneming' }).waitFor();
      await assertNoHorizontalScroll(page, `quick entry @320 ${label}`);
      await assertHeaderFits(page, `quick entry @320 ${label}`);
      await assertCategoryLabelsFit(page, `quick entry @320 ${label}`);
      await assertTouchTargets(page, `quick entry @320 ${label}`);
      const [share, parts] = await stickyShare(page);
      assert.ok(share <= 0.25, `quick entry @320x640 ${label}: sticky bars take ${Math.round(share * 100)} % of the screen (${parts})`);
      await page.evaluate(() => { document.documentElement.style.fontSize = ''; });
    }
  } finally {
    await ctx.close();
  }
});

test('two spreekuur staff online together see each other\'s notes appear live', async () => {
  const ctxS = await newPhone(browser, { origin: server.origin });
  const ctxO = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  try {
    const s = await ctxS.newPage();
    const o = await ctxO.newPage();
    await openApp(s, server.origin);
    await openApp(o, server.origin);
    await login(s, 'boa-sanne');
    await s.getByRole('link', { name: 'Nieuw spreekuur' }).click();
    await s.getByLabel('Locatie (buurthuis)').fill('Buurthuis Kostmand');
    await s.getByLabel('Wijk').selectOption({ index: 1 });
    await s.getByRole('button', { name: 'Aanmaken' }).click();
    await s.getByRole('heading', { name: /Buurthuis Kostmand/ }).waitFor();
    await waitAllSent(s);
    const sessionUrl = s.url().split('#')[1];

    await login(o, 'oov-omar');
    await o.goto(`${server.origin}/#${sessionUrl}`);
    await o.getByRole('heading', { name: /Buurthuis Kostmand/ }).waitFor({ timeout: 30_000 });

    await s.locator('[data-category]').first().click();
    await s.getByTestId('note-text').fill('Sanne: bewoner vraagt om extra verlichting');
    await s.getByTestId('note-save').click();
    await o.getByTestId('item-text').filter({ hasText: 'Sanne: bewoner vraagt' }).waitFor({ timeout: 15_000 });

    await o.locator('[data-category]').nth(1).click();
    await o.getByTestId('note-text').fill('Omar: melding over hondenpoep in park');
    await o.getByTestId('note-save').click();
    await s.getByTestId('item-text').filter({ hasText: 'Omar: melding' }).waitFor({ timeout: 15_000 });
    await waitAllSent(s);
    await waitAllSent(o);
  } finally {
    await ctxS.close();
    await ctxO.close();
  }
});

/** PNG width and height from the IHDR chunk. */
function pngSize(buf) {
  assert.equal(buf.subarray(1, 4).toString('latin1'), 'PNG', 'not a PNG');
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

test('the app installs: one manifest link, an id, a description, PNG and maskable icons, screenshots', async () => {
  const html = await (await fetch(`${server.origin}/`)).text();
  const manifestLinks = html.match(/<link[^>]*rel="manifest"[^>]*>/g) ?? [];
  assert.equal(manifestLinks.length, 1, `manifest linked ${manifestLinks.length} times`);
  const touch = html.match(/<link[^>]*rel="apple-touch-icon"[^>]*href="([^"]+)"/);
  assert.ok(touch, 'no apple-touch-icon link');
  const [tw, th] = pngSize(Buffer.from(await (await fetch(`${server.origin}${touch[1]}`)).arrayBuffer()));
  assert.deepEqual([tw, th], [180, 180]);

  const manifest = await (await fetch(`${server.origin}/manifest.webmanifest`)).json();
  assert.equal(manifest.id, '/');
  assert.ok(manifest.description.length > 20, 'description missing');
  const pngIcon = async (icon) => {
    const res = await fetch(new URL(icon.src, `${server.origin}/`));
    assert.equal(res.status, 200, `${icon.src}: ${res.status}`);
    const [w, h] = pngSize(Buffer.from(await res.arrayBuffer()));
    assert.equal(`${w}x${h}`, icon.sizes, `${icon.src} is ${w}x${h}, manifest says ${icon.sizes}`);
  };
  const pngs = manifest.icons.filter((i) => i.type === 'image/png');
  for (const size of ['192x192', '512x512']) {
    assert.ok(pngs.some((i) => i.sizes === size && (i.purpose ?? 'any').includes('any')), `no ${size} PNG icon`);
  }
  assert.ok(pngs.some((i) => i.purpose === 'maskable'), 'no maskable icon');
  for (const icon of pngs) await pngIcon(icon);
  assert.ok(manifest.screenshots.length >= 1, 'no screenshots');
  for (const shot of manifest.screenshots) {
    assert.ok(shot.label, `${shot.src} has no label`);
    await pngIcon(shot);
  }
});
