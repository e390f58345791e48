// Words and states a user reads, at phone width (360x740), in Dutch:
// - a walk with one observation says "1 waarneming" (not "1 waarnemingen");
// - the header stops saying "verbonden" when the network goes, and
//   "opgeslagen" fades instead of staying forever;
// - a spreekuur note's severity resets for the next note;
// - ending a walk asks first (a dialog), and an ended walk can be reopened by
//   a boa of the team and by a coordinator, which the walk then shows.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, loggedInPhone, newPhone, openApp, login, createWalk, addObservation, waitAllSent, restLogin } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await Server.start();
  await server.addUser('boa-wim', { roles: ['boa', 'spreekuur'], team: 'team-oost', name: 'Wim' });
  await server.addUser('coord-cor', { roles: ['coordinator'], team: 'team-oost', name: 'Cor' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

test('a walk with one observation says "1 waarneming" at 360 px', async () => {
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'boa-wim');
  try {
    await createWalk(page, 'Ronde Haven');
    await page.getByTestId('walk-start').click();
    await page.getByTestId('walk-state').filter({ hasText: 'Gestart' }).waitFor();
    await addObservation(page, { text: 'Losliggende stoeptegel bij de haven' });
    assert.match(await page.getByTestId('closing-counts').textContent(), /^1 waarneming, waarvan 0 urgent/);
    await page.goto(`${server.origin}/#/`);
    const card = page.getByTestId('doc-link').filter({ hasText: 'Ronde Haven' });
    await card.waitFor();
    const text = await card.textContent();
    assert.match(text, /\b1 waarneming\b/);
    assert.doesNotMatch(text, /1 waarnemingen/);
  } finally {
    await ctx.close();
  }
});

test('offline: the header stops saying "verbonden"; "opgeslagen" fades', async () => {
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'boa-wim');
  try {
    const conn = page.getByTestId('conn');
    await page.locator('[data-testid="conn"][data-conn="online"]').waitFor({ timeout: 30_000 });
    assert.equal(await conn.textContent(), 'verbonden');

    await createWalk(page, 'Ronde Markt');
    await addObservation(page, { text: 'Fietswrak bij de markt' });
    await waitAllSent(page);
    // "opgeslagen" is shown after the save, then goes (a few seconds).
    await page.waitForFunction(() => document.querySelector('[data-testid="save-state"]').textContent === '', null, { timeout: 10_000, polling: 100 });
    assert.equal(await page.getByTestId('save-state').getAttribute('data-state'), 'saved');

    await ctx.setOffline(true);
    // The client's response timeout is 15 s; the offline event is immediate.
    await page.locator('[data-testid="conn"]:not([data-conn="online"])').waitFor({ timeout: 15_000 });
    assert.notEqual(await conn.textContent(), 'verbonden');
    assert.equal(await conn.textContent(), 'geen verbinding');
    // It stays so while offline (no flapping back to "verbinden…" or "verbonden").
    await page.waitForTimeout(1500);
    assert.equal(await conn.textContent(), 'geen verbinding');

    await ctx.setOffline(false);
    await page.locator('[data-testid="conn"][data-conn="online"]').waitFor({ timeout: 30_000 });
  } finally {
    await ctx.close();
  }
});

test('spreekuur: severity resets to the default for the next note', async () => {
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'boa-wim');
  try {
    await page.getByRole('link', { name: 'Nieuw spreekuur' }).click();
    await page.getByLabel('Locatie (buurthuis)').fill('Buurthuis de Kemper');
    await page.getByLabel('Wijk').selectOption({ index: 1 });
    await page.getByRole('button', { name: 'Aanmaken' }).click();
    await page.getByRole('heading', { name: /Buurthuis de Kemper/ }).waitFor();

    const first = await page.locator('[data-severity]').first().getAttribute('data-severity');
    const urgent = page.locator('[data-severity="urgent"]');
    assert.equal(await urgent.count(), 1, 'the catalog has an urgent severity');
    assert.notEqual(first, 'urgent');
    assert.equal(await page.locator(`[data-severity="${first}"]`).getAttribute('aria-pressed'), 'true');

    await page.locator('[data-category]').first().click();
    await urgent.click();
    assert.equal(await urgent.getAttribute('aria-pressed'), 'true');
    await page.getByTestId('note-text').fill('Urgent: gaslucht in portiek');
    await page.getByTestId('note-save').click();
    await page.getByTestId('item-text').filter({ hasText: 'gaslucht' }).waitFor();

    // The next note starts at the default again.
    assert.equal(await urgent.getAttribute('aria-pressed'), 'false');
    assert.equal(await page.locator(`[data-severity="${first}"]`).getAttribute('aria-pressed'), 'true');
    await page.locator('[data-category]').first().click();
    await page.getByTestId('note-text').fill('Vraag over afvalinzameling');
    await page.getByTestId('note-save').click();
    await page.getByTestId('item-text').filter({ hasText: 'afvalinzameling' }).waitFor();
    const severityOf = (text) => page.getByTestId('item').filter({ hasText: text }).getAttribute('data-item-severity');
    assert.equal(await severityOf('gaslucht'), 'urgent');
    assert.equal(await severityOf('afvalinzameling'), first, 'the second note has the default severity');
  } finally {
    await ctx.close();
  }
});

test('ending a walk asks first; an ended walk is reopened by a coordinator and shows who reopened it', async () => {
  const ctx = await newPhone(browser, { origin: server.origin });
  const ctxC = await newPhone(browser, { origin: server.origin });
  try {
    const page = await ctx.newPage();
    await openApp(page, server.origin);
    await login(page, 'boa-wim');
    const walkId = await createWalk(page, 'Ronde Stadhuisplein');
    await page.getByTestId('walk-start').click();
    await page.getByTestId('walk-state').filter({ hasText: 'Gestart' }).waitFor();

    // One tap does not end the walk: a dialog asks, "Nee" keeps it going.
    await page.getByTestId('walk-end').click();
    const dialog = page.getByRole('alertdialog', { name: 'Wandeling beëindigen?' });
    await dialog.waitFor();
    assert.match(await page.getByTestId('walk-state').textContent(), /^Gestart/);
    await page.getByTestId('confirm-no').click();
    assert.equal(await dialog.count(), 0);
    assert.match(await page.getByTestId('walk-state').textContent(), /^Gestart/);
    await page.getByTestId('add-observation').waitFor();

    await page.getByTestId('walk-end').click();
    await page.getByTestId('confirm-yes').click();
    await page.getByTestId('walk-state').filter({ hasText: 'Beëindigd' }).waitFor();
    assert.equal(await page.getByTestId('add-observation').count(), 0);
    await waitAllSent(page);

    // The server's walk report (its read of the stored document) says ended.
    const token = await restLogin(server.origin, 'coord-cor');
    const report = async () => {
      const r = await fetch(`${server.origin}/api/v1/walks/${walkId}/report`, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200);
      return r.json();
    };
    assert.equal(typeof (await report()).ended_at, 'number');

    // A coordinator reopens it on another phone; the boa sees it open again.
    const c = await ctxC.newPage();
    await openApp(c, server.origin);
    await login(c, 'coord-cor');
    await c.goto(`${server.origin}/#/walk/${walkId}`);
    await c.getByTestId('walk-state').filter({ hasText: 'Beëindigd' }).waitFor({ timeout: 30_000 });
    await c.getByTestId('walk-reopen').click();
    await c.getByRole('alertdialog', { name: 'Wandeling heropenen?' }).waitFor();
    await c.getByTestId('confirm-yes').click();
    await c.getByTestId('walk-state').filter({ hasText: 'Gestart' }).waitFor();
    assert.match(await c.getByTestId('walk-reopened').textContent(), /^Heropend op (ma|di|wo|do|vr|za|zo) \d{1,2} [a-z]{3} \d{4} om \d{2}:\d{2} door Cor\.$/);
    await waitAllSent(c);
    assert.equal((await report()).ended_at, null, 'the server reads the walk as open again');

    await page.getByTestId('walk-state').filter({ hasText: 'Gestart' }).waitFor({ timeout: 15_000 });
    assert.match(await page.getByTestId('walk-reopened').textContent(), /^Heropend op (ma|di|wo|do|vr|za|zo) \d{1,2} [a-z]{3} \d{4} om \d{2}:\d{2} door een collega\.$/);
    await page.getByTestId('add-observation').waitFor();
    // The boa can end it again (and reopen it: a participant may too).
    await page.getByTestId('walk-end').click();
    await page.getByTestId('confirm-yes').click();
    await page.getByTestId('walk-state').filter({ hasText: 'Beëindigd' }).waitFor();
    await page.getByTestId('walk-reopen').click();
    await page.getByTestId('confirm-yes').click();
    await page.getByTestId('walk-state').filter({ hasText: 'Gestart' }).waitFor();
    assert.match(await page.getByTestId('walk-reopened').textContent(), /door Wim\.$/);
    await waitAllSent(page);
  } finally {
    await ctx.close();
    await ctxC.close();
  }
});
