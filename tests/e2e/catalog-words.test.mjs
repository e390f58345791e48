// The catalog's teams and words and the municipality's theme, against a real
// `wijklog serve` in headless Chromium, at the size and language where each
// was found wanting:
//   1. English catalog labels, on a phone (360x740) in English: categories,
//      severities and follow-up partners show their English names (an English
//      name the admin gives a category is on the phone after its sync), a
//      category without one falls back to Dutch.
//   2. Teams as a list, on an admin's and a coordinator's laptop (1280x800,
//      Dutch): the admin adds, renames and retires teams; the account form and
//      the planning form choose from the list (a select, no free text: "Team
//      Oost" typed by hand used to make a team nobody was in); a retired team
//      is not offered; an account whose team the list does not know (old data)
//      still shows it, marked; the coordinators' team filter is a select of
//      the list, by name (it was a text box of codes).
//   3. The theme from the server's configuration ([theme] through WIJKLOG_*):
//      the window title, the header's name and logo, the browser bar colour,
//      the buttons' colour and the web manifest, on a phone at 320 px; the
//      app's name in sentences is the theme's (settings: "Buurtlog gebruikt …").

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Server, launchBrowser, loggedInPhone, login, createWalk, waitAllSent, axeSerious, screenshot, tempDir, rm } from './helpers.mjs';

let server;
let browser;

/** @type {import('playwright-core').BrowserContextOptions} */
const desk = { viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' };

before(async () => {
  server = await Server.start();
  await server.addUser('admin-ad', { roles: ['admin'], team: null, name: 'Ad Beheer' });
  await server.addUser('coord-cora', { roles: ['coordinator'], team: 'team-oost', name: 'Cora' });
  await server.addUser('boa-wim', { roles: ['boa'], team: 'team-oost', name: 'Wim' });
  // An account from before teams were kept in the catalog.
  await server.addUser('boa-oud', { roles: ['boa'], team: 'team-noord', name: 'Olga Oud' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

async function assertAccessible(page, what) {
  const v = await axeSerious(page);
  assert.deepEqual(v, [], `${what}: ${JSON.stringify(v, null, 1)}`);
}

test('English mode shows the catalog\'s English names on a 360 px phone, Dutch where there is none', async () => {
  const adminCtx = await browser.newContext(desk);
  const admin = await adminCtx.newPage();
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'boa-wim');
  try {
    await admin.goto(`${server.origin}/`);
    await login(admin, 'admin-ad');
    await admin.goto(`${server.origin}/#/admin/catalog`);
    await admin.getByTestId('admin-catalog').waitFor();
    // A new category without an English name, and an English name of the admin's own.
    const add = admin.getByTestId('admin-add-categories');
    await add.getByLabel('Naam', { exact: true }).fill('Hondenpoep');
    await admin.getByTestId('admin-add-categories-submit').click();
    await admin.locator('[data-testid="admin-catalog-entry"][data-id="hondenpoep"]').waitFor();
    const row = admin.locator('[data-testid="admin-catalog-categories"] [data-testid="admin-catalog-entry"][data-id="woonoverlast"]');
    assert.equal(await row.getByTestId('admin-catalog-label-en').inputValue(), 'Housing nuisance');
    await row.getByTestId('admin-catalog-label-en').fill('Nuisance from neighbours');
    await row.getByTestId('admin-catalog-label-en-save').click();
    await admin.locator('[data-testid="admin-catalog-categories"] [data-id="woonoverlast"] [data-testid="admin-catalog-label-en-save"]:disabled').waitFor();
    await waitAllSent(admin);
    await assertAccessible(admin, 'catalog with English names and teams');

    await createWalk(page, 'Avondronde Kostmand');
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByTestId('add-observation').click();
    const cat = (id) => page.locator(`[data-category="${id}"]`);
    await cat('jeugdoverlast').filter({ hasText: 'Youth nuisance' }).waitFor();
    // The admin's English name arrived over the phone's sync.
    await cat('woonoverlast').filter({ hasText: 'Nuisance from neighbours' }).waitFor({ timeout: 30_000 });
    assert.equal(await cat('woonoverlast').locator('span').getAttribute('lang'), 'en');
    // No English name: the Dutch one, marked as Dutch for screen readers.
    await cat('hondenpoep').waitFor({ timeout: 30_000 });
    assert.equal(await cat('hondenpoep').textContent(), 'Hondenpoep');
    assert.equal(await cat('hondenpoep').locator('span').getAttribute('lang'), 'nl');
    assert.equal(await page.locator('[data-severity="zorgelijk"]').textContent(), 'Worrying');
    assert.equal(await page.locator('[data-partner="politie"]').textContent(), 'Police (community officer)');
    const words = await page.locator('main').textContent();
    for (const dutch of ['Jeugdoverlast', 'Woonoverlast', 'Zorgelijk', 'Politie (wijkagent)', 'Woningcorporatie']) {
      assert.ok(!words.includes(dutch), `"${dutch}" is not shown in English mode`);
    }
    await assertAccessible(page, 'quick entry in English');
    await screenshot(page, 'entry-english');
    // Back in Dutch, the Dutch names.
    await page.getByRole('button', { name: 'Nederlands' }).click();
    await cat('woonoverlast').filter({ hasText: 'Woonoverlast' }).waitFor();
    assert.equal(await page.locator('[data-severity="zorgelijk"]').textContent(), 'Zorgelijk');
  } finally {
    await ctx.close();
    await adminCtx.close();
  }
});

test('teams are chosen from the catalog\'s list on the account and planning forms; an unknown old team still shows', async () => {
  const adminCtx = await browser.newContext(desk);
  const admin = await adminCtx.newPage();
  const coordCtx = await browser.newContext(desk);
  const coord = await coordCtx.newPage();
  try {
    await admin.goto(`${server.origin}/`);
    await login(admin, 'admin-ad');
    await admin.goto(`${server.origin}/#/admin/catalog`);
    const teams = admin.getByTestId('admin-catalog-teams');
    const add = admin.getByTestId('admin-add-teams');
    for (const label of ['Team Oost', 'Team West', 'Team Zuid']) {
      await add.getByLabel('Naam', { exact: true }).fill(label);
      // The code follows the name, in the form accounts hold it.
      assert.equal(await add.getByLabel('Code').inputValue(), label.toLowerCase().replace(' ', '-'));
      await admin.getByTestId('admin-add-teams-submit').click();
      await teams.locator(`[data-testid="admin-catalog-entry"][data-id="${label.toLowerCase().replace(' ', '-')}"]`).waitFor();
    }
    const west = teams.locator('[data-testid="admin-catalog-entry"][data-id="team-west"]');
    await west.getByLabel('Naam van Team West').fill('Team West (Kostmand)');
    await west.getByRole('button', { name: 'Naam opslaan' }).click();
    // Saved: the button has nothing left to save.
    await west.getByRole('button', { name: 'Naam opslaan' }).and(admin.locator(':disabled')).waitFor();
    const zuid = teams.locator('[data-testid="admin-catalog-entry"][data-id="team-zuid"]');
    await zuid.getByTestId('admin-catalog-retire').click();
    await zuid.getByTestId('admin-catalog-retire-confirm').click();
    await teams.locator('[data-testid="admin-catalog-entry"][data-id="team-zuid"][data-retired="true"]').waitFor();
    await waitAllSent(admin);

    // The account form: a list, not a text field; the retired team is not offered.
    await admin.goto(`${server.origin}/#/admin`);
    const form = admin.getByTestId('admin-new-user');
    const team = form.getByLabel('Team');
    assert.equal(await team.evaluate((el) => el.tagName), 'SELECT', 'the team is chosen, not typed');
    const offered = async (sel) => (await sel.locator('option').allTextContents()).map((s) => s.trim());
    await form.locator('option', { hasText: 'Team West (Kostmand)' }).waitFor({ state: 'attached' });
    assert.deepEqual(await offered(team), ['(geen team)', 'Team Oost', 'Team West (Kostmand)']);
    await form.getByLabel('Gebruikersnaam').fill('boa-nina');
    await form.getByLabel('Naam', { exact: true }).fill('Nina');
    await form.getByLabel('Beginwachtwoord (minstens 10 tekens)').fill('nina-begin-wachtwoord-1');
    await team.selectOption({ label: 'Team West (Kostmand)' });
    await admin.getByTestId('admin-create-user').click();
    await admin.getByTestId('admin-new-user-msg').filter({ hasText: 'is aangemaakt' }).waitFor();
    const nina = admin.locator('[data-testid="admin-user-row"][data-username="boa-nina"]');
    await nina.waitFor();
    assert.match(await nina.textContent(), /Team West \(Kostmand\)/);
    const token = await (await fetch(`${server.origin}/api/v1/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'admin-ad', password: 'correct horse battery staple 42' }),
    })).json();
    const users = (await (await fetch(`${server.origin}/api/v1/admin/users`, { headers: { Authorization: `Bearer ${token.access_token}` } })).json()).users;
    assert.equal(users.find((u) => u.username === 'boa-nina').team, 'team-west', 'the account holds the team\'s code');

    // An account from before the list: its team shows, marked, and saving the form keeps it.
    const old = admin.locator('[data-testid="admin-user-row"][data-username="boa-oud"]');
    assert.match(await old.textContent(), /team-noord/);
    await old.getByTestId('admin-user-open').click();
    const details = admin.getByTestId('admin-user-details');
    const oldTeam = details.getByTestId('admin-user-team');
    await oldTeam.waitFor();
    assert.equal(await oldTeam.inputValue(), 'team-noord');
    assert.deepEqual(await offered(oldTeam), ['(geen team)', 'Team Oost', 'Team West (Kostmand)', 'team-noord (niet in de teamlijst)']);
    await assertAccessible(admin, 'account with an unknown team');
    await screenshot(admin, 'admin-account-team');

    // The coordinator plans for a team from the list (her own by default).
    await coord.goto(`${server.origin}/`);
    await login(coord, 'coord-cora');
    await coord.goto(`${server.origin}/#/coord/plan`);
    const plan = coord.getByTestId('plan-form');
    const planTeam = plan.getByLabel('Team');
    await plan.locator('option', { hasText: 'Team West (Kostmand)' }).waitFor({ state: 'attached', timeout: 30_000 });
    assert.equal(await planTeam.evaluate((el) => el.tagName), 'SELECT');
    assert.equal(await planTeam.inputValue(), 'team-oost');
    assert.deepEqual(await offered(planTeam), ['Team Oost', 'Team West (Kostmand)']);
    await plan.getByLabel('Titel').fill('Schouw Kostmand');
    await plan.getByLabel('Wijk').selectOption({ index: 1 });
    await planTeam.selectOption({ label: 'Team West (Kostmand)' });
    await coord.getByTestId('plan-create').click();
    await coord.getByTestId('plan-msg').filter({ hasText: 'Gepland voor Team West (Kostmand)' }).waitFor();
    const item = coord.getByTestId('plan-item').filter({ hasText: 'Schouw Kostmand' });
    await item.waitFor();
    assert.match(await item.textContent(), /Team West \(Kostmand\)/);
    await assertAccessible(coord, 'planning with the team list');

    // The list's team filter: chosen from the list by name, the URL holds the code.
    await coord.goto(`${server.origin}/#/coord/list`);
    const filter = coord.getByTestId('filters').getByLabel('Team', { exact: true });
    await coord.getByTestId('filters').locator('option', { hasText: 'Team West (Kostmand)' }).waitFor({ state: 'attached', timeout: 30_000 });
    assert.equal(await filter.evaluate((el) => el.tagName), 'SELECT', 'the team filter is chosen, not typed');
    assert.deepEqual(await offered(filter), ['Alle teams', 'Team Oost', 'Team West (Kostmand)']);
    await filter.selectOption({ label: 'Team West (Kostmand)' });
    await coord.getByTestId('filter-apply').click();
    await coord.waitForFunction(() => location.hash.includes('team=team-west'));
    assert.equal(await coord.getByTestId('filters').getByLabel('Team', { exact: true }).inputValue(), 'team-west');
  } finally {
    await adminCtx.close();
    await coordCtx.close();
  }
});

test('the theme comes from the server\'s configuration: title, name, logo, colours and manifest at 320 px', async () => {
  const dir = await tempDir('wijklog-theme-');
  const logo = path.join(dir, 'eemdal.svg');
  await writeFile(logo, '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40" width="40" height="40"><rect width="40" height="40" fill="#a61e4d"/></svg>');
  const themed = await Server.start({
    env: { WIJKLOG_THEME_NAME: 'Buurtlog', WIJKLOG_THEME_MUNICIPALITY: 'Gemeente Eemdal', WIJKLOG_THEME_COLOR: '#a61e4d', WIJKLOG_THEME_LOGO: logo },
  });
  try {
    await themed.addUser('boa-bo', { roles: ['boa'], team: 'team-oost', name: 'Bo' });
    const { ctx, page } = await loggedInPhone(browser, themed.origin, 'boa-bo');
    try {
      await page.setViewportSize({ width: 320, height: 640 });
      await page.waitForFunction(() => document.title === 'Buurtlog — Gemeente Eemdal', null, { timeout: 10_000 });
      const brand = page.getByTestId('brand');
      assert.match(await brand.textContent(), /^Buurtlog/);
      assert.doesNotMatch(await brand.textContent(), /Wijklog/);
      const img = page.getByTestId('brand-logo');
      await page.waitForFunction(() => {
        const i = /** @type {HTMLImageElement | null} */ (document.querySelector('[data-testid="brand-logo"]'));
        return !!i && i.complete && i.naturalWidth > 0;
      });
      assert.equal(await img.getAttribute('alt'), 'Gemeente Eemdal');
      assert.equal(await page.locator('meta[name="theme-color"]').getAttribute('content'), '#a61e4d');
      const bg = await page.getByRole('link', { name: 'Nieuwe wandeling' }).evaluate((el) => getComputedStyle(el).backgroundColor);
      assert.equal(bg, 'rgb(166, 30, 77)');
      // The manifest the browser installs from follows too.
      const href = await page.locator('link[rel="manifest"]').getAttribute('href');
      const manifest = await page.evaluate(async (h) => (await fetch(h)).json(), href);
      assert.equal(manifest.name, 'Buurtlog — Gemeente Eemdal');
      assert.equal(manifest.short_name, 'Buurtlog');
      assert.equal(manifest.theme_color, '#a61e4d');
      const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
      assert.equal(wide, false, 'no sideways scrolling at 320 px with the logo');
      await assertAccessible(page, 'themed home at 320 px');
      // Sentences name the app by its theme name, not "Wijklog".
      await page.goto(`${themed.origin}/#/settings`);
      const used = page.getByTestId('storage-used');
      await used.waitFor();
      assert.match(String(await used.textContent()), /Buurtlog/);
      assert.doesNotMatch(String(await page.locator('body').textContent()), /Wijklog/);
      await page.goto(`${themed.origin}/#/`);
      await screenshot(page, 'theme-320');

      // Offline, the next start keeps the theme it saw.
      await ctx.setOffline(true);
      await page.reload();
      await page.getByTestId('brand').filter({ hasText: 'Buurtlog' }).waitFor();
      assert.equal(await page.title(), 'Buurtlog — Gemeente Eemdal');
    } finally {
      await ctx.close();
    }
  } finally {
    await themed.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
