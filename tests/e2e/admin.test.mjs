// The admin area, planning and the walk report against a real
// `wijklog serve`: one server, one browser, three contexts that live for the
// whole file — an admin's laptop and a coordinator's laptop (1280x800) and a
// boa's phone behind a TCP proxy (so its network can be cut). The tests run
// in order and build on each other:
//   (a) the admin adds the teams to the catalog, then creates an account in
//       the UI with a team chosen from that list; that boa logs in on the phone;
//   (b) the admin adds a category with a colour; the phone shows it as a button;
//   (b2) a catalog row keeps a name being typed while another field is saved;
//   (c) the coordinator plans a walk (team, participants) and a spreekuur
//       (staff from the team's accounts); the phone lists the walk under
//       "Vandaag en gepland";
//   (c2) the names for a spreekuur's staff: a failed load says so, with a
//       retry; the list appears once they arrive;
//   (d) the walk report shows participants, observations by category and the
//       per-partner action list; the print layout hides the app shell (PDF too);
//   (e) a password reset: the phone, with unsent work, is asked to log in
//       again; after the login the work is sent;
//   (f) a revoked device wipes at its next contact;
//   (g) the audit log screen shows the admin actions;
//   (h) the admin area refuses other roles;
//   (i) the coordinators' overview lists the account creation and the
//       password reset with the acting admin (access changes);
//   (j) the account form keeps what is typed while another section saves,
//       and shows the saved values after its own save;
//   axe-core on every screen of this file, screenshots at 1280x800.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  Server, Proxy, OUTPUT, launchBrowser, newPhone, login, waitForCatalog, waitAllSent, axeSerious, screenshot, restLogin,
} from './helpers.mjs';

const NINA = { username: 'boa-nina', name: 'Nina de Boa', password: 'nina-begin-wachtwoord-1' };
const NINA_NEW_PASSWORD = 'nina-nieuw-wachtwoord-2';
const WALK_TITLE = 'Schouw winkelcentrum Oostermeent';

let server;
let browser;
let proxy;
let adminCtx;
let admin;
let coordCtx;
let coord;
let phoneCtx;
let phone;
let plannedId;

before(async () => {
  server = await Server.start();
  await server.addUser('admin-ad', { roles: ['admin'], team: null, name: 'Ad Beheer' });
  await server.addUser('coord-cora', { roles: ['coordinator'], team: null, name: 'Cora' });
  browser = await launchBrowser();
  // Offline start is not what this file tests: no service workers on the
  // laptops, and no waiting for the phone's worker to take control.
  /** @type {import('playwright-core').BrowserContextOptions} */
  const desk = { viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' };
  adminCtx = await browser.newContext(desk);
  admin = await adminCtx.newPage();
  coordCtx = await browser.newContext(desk);
  coord = await coordCtx.newPage();
  proxy = await Proxy.start(server.port);
  phoneCtx = await newPhone(browser, { origin: proxy.origin });
  phone = await phoneCtx.newPage();
  await admin.goto(`${server.origin}/`);
  await login(admin, 'admin-ad');
  await coord.goto(`${server.origin}/`);
  await login(coord, 'coord-cora');
});

after(async () => {
  await adminCtx?.close();
  await coordCtx?.close();
  await phoneCtx?.close();
  await proxy?.close();
  await browser?.close();
  await server?.dispose();
});

/** Log in through the app's login form with an explicit password. */
async function loginWith(page, username, password) {
  await page.getByLabel('Gebruikersnaam').fill(username);
  await page.getByLabel('Wachtwoord', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Inloggen' }).click();
}

/** A screenshot of the top of the screen (the tests scroll while they work). */
async function shoot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, name);
}

async function assertAccessible(page, what) {
  const v = await axeSerious(page);
  assert.deepEqual(v, [], `${what}: ${JSON.stringify(v, null, 1)}`);
}

/** The walk report as the REST API answers it (what the page renders). */
async function reportOf(walkId) {
  const token = await restLogin(server.origin, 'coord-cora');
  const r = await fetch(`${server.origin}/api/v1/walks/${walkId}/report`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  return r.json();
}

test('(a) the admin creates an account in the UI and that user can log in', async () => {
  // Teams are a list in the catalog; accounts and plans choose from it.
  await admin.goto(`${server.origin}/#/admin/catalog`);
  const teams = admin.getByTestId('admin-add-teams');
  for (const label of ['Team Oost', 'Team West']) {
    await teams.getByLabel('Naam', { exact: true }).fill(label);
    await admin.getByTestId('admin-add-teams-submit').click();
    await admin.locator(`[data-testid="admin-catalog-teams"] [data-testid="admin-catalog-entry"][data-id="${label.toLowerCase().replace(' ', '-')}"]`).waitFor();
  }
  await waitAllSent(admin);
  await admin.goto(`${server.origin}/#/admin`);
  await admin.getByRole('heading', { name: 'Accounts', level: 1 }).waitFor();
  await admin.getByTestId('admin-user-row').first().waitFor();
  const form = admin.getByTestId('admin-new-user');
  await form.getByLabel('Gebruikersnaam').fill(NINA.username);
  await form.getByLabel('Naam', { exact: true }).fill(NINA.name);
  await form.getByLabel('Beginwachtwoord (minstens 10 tekens)').fill(NINA.password);
  await form.getByLabel('Team').selectOption({ label: 'Team Oost' });
  // "boa" is ticked by default.
  assert.equal(await admin.getByTestId('nu-role-boa').isChecked(), true);
  await admin.getByTestId('admin-create-user').click();
  await admin.getByTestId('admin-new-user-msg').filter({ hasText: 'is aangemaakt' }).waitFor();
  const row = admin.locator(`[data-testid="admin-user-row"][data-username="${NINA.username}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /Team Oost/);
  await assertAccessible(admin, 'accounts');
  await shoot(admin, 'admin-accounts');

  // The new user logs in on a phone.
  await phone.goto(`${proxy.origin}/`);
  await loginWith(phone, NINA.username, NINA.password);
  await phone.getByRole('heading', { name: 'Overzicht', level: 1 }).waitFor();
  assert.match(await phone.locator('main').textContent(), /Hallo Nina de Boa/);
  await waitForCatalog(phone);
});

test('(b) a category added by the admin (with a colour) becomes a button on the boa\'s phone after sync', async () => {
  await admin.goto(`${server.origin}/#/admin/catalog`);
  await admin.getByTestId('admin-catalog').waitFor();
  const add = admin.getByTestId('admin-add-categories');
  await add.getByLabel('Naam', { exact: true }).fill('Hondenpoep');
  assert.equal(await add.getByLabel('Code').inputValue(), 'hondenpoep', 'the code follows the name');
  await add.getByLabel('Kleur', { exact: true }).fill('#8b4513');
  await admin.getByTestId('admin-add-categories-submit').click();
  await admin.getByTestId('admin-catalog-msg').filter({ hasText: 'Opgeslagen' }).waitFor();
  await admin.locator('[data-testid="admin-catalog-entry"][data-id="hondenpoep"]').waitFor();
  // Stored on the server: the admin's device says everything is sent only after the ack.
  await waitAllSent(admin);
  await assertAccessible(admin, 'catalog');
  await shoot(admin, 'admin-catalog');

  // The phone gets the catalog change over its open sync connection and shows the button.
  await phone.getByRole('link', { name: 'Nieuwe wandeling' }).click();
  await phone.getByLabel('Titel').fill('Avondronde');
  await phone.getByLabel('Wijk').selectOption({ index: 1 });
  await phone.getByRole('button', { name: 'Aanmaken' }).click();
  await phone.getByRole('heading', { name: 'Avondronde', level: 1 }).waitFor();
  await phone.getByTestId('add-observation').click();
  const btn = phone.locator('[data-category="hondenpoep"]');
  await btn.waitFor({ timeout: 30_000 });
  assert.equal(await btn.textContent(), 'Hondenpoep');
  const colour = await btn.evaluate((el) => getComputedStyle(el).borderLeftColor);
  assert.equal(colour, 'rgb(139, 69, 19)');
  // And it can be used: the server accepts the observation with the new category.
  await btn.click();
  await phone.getByTestId('entry-save').click();
  await phone.getByTestId('save-state').filter({ hasText: 'opgeslagen' }).waitFor();
  await waitAllSent(phone);
});

test('(b2) a catalog row keeps a name being typed while another field of that row is saved', async () => {
  // The rows were keyed by their stored values: saving the call-back term
  // started the row over and threw the typed name away.
  const row = admin.locator('[data-testid="admin-catalog-entry"][data-id="hondenpoep"]');
  const label = row.getByLabel('Naam van Hondenpoep');
  await label.fill('Hondenpoep op de stoep');
  await row.getByTestId('admin-catalog-days').fill('7');
  await row.getByTestId('admin-catalog-days-save').click();
  // Saved once the stored term equals the typed one (the button then has nothing to save).
  await admin.locator('[data-testid="admin-catalog-entry"][data-id="hondenpoep"] [data-testid="admin-catalog-days-save"]:disabled').waitFor();
  assert.equal(await row.getByTestId('admin-catalog-days').inputValue(), '7');
  assert.equal(await label.inputValue(), 'Hondenpoep op de stoep', 'the typed name is still there');
  await row.getByRole('button', { name: 'Naam opslaan' }).click();
  await row.getByRole('button', { name: 'Naam opslaan' }).and(admin.locator(':disabled')).waitFor();
  // Back to the old name, so the rest of this file finds the category as before.
  await label.fill('Hondenpoep');
  await row.getByRole('button', { name: 'Naam opslaan' }).click();
  await row.getByRole('button', { name: 'Naam opslaan' }).and(admin.locator(':disabled')).waitFor();
  await waitAllSent(admin);
});

test('(c) a walk the coordinator plans shows on the team\'s phone under "Vandaag en gepland"', async () => {
  await coord.goto(`${server.origin}/#/coord/plan`);
  await coord.getByRole('heading', { name: 'Planning', level: 1 }).waitFor();
  const form = coord.getByTestId('plan-form');
  await form.getByLabel('Titel').fill(WALK_TITLE);
  await form.getByLabel('Wijk').selectOption({ label: 'Oostermeent' });
  await form.getByLabel('Route (optioneel)').fill('Kostmand – de Roef – winkelcentrum');
  await form.getByLabel('Team').selectOption('team-oost');
  for (const [name, org] of [['Wethouder Jansen', 'gemeente'], ['Sanne', 'woningcorporatie']]) {
    await form.getByLabel('Naam deelnemer').fill(name);
    await form.getByLabel('Organisatie (optioneel)').fill(org);
    await coord.getByTestId('plan-add-participant').click();
  }
  await coord.getByTestId('plan-create').click();
  await coord.getByTestId('plan-msg').filter({ hasText: 'Gepland voor Team Oost' }).waitFor();
  const item = coord.getByTestId('plan-item').filter({ hasText: WALK_TITLE });
  await item.waitFor();
  assert.match(await item.textContent(), /Team Oost · 2 deelnemers/);
  plannedId = (await item.locator('a').getAttribute('href')).split('/walk/')[1];
  // A spreekuur session for the same team, staffed from the team's accounts.
  await coord.getByTestId('plan-kind-spreekuur').click();
  await form.getByLabel('Locatie (buurthuis)').fill('Buurthuis de Roef');
  await form.getByLabel('Wijk').selectOption({ label: 'Oostermeent' });
  await coord.getByTestId('plan-staff').getByLabel(NINA.name).check();
  await coord.getByTestId('plan-create').click();
  const session = coord.locator('[data-testid="plan-item"][data-kind="spreekuur"]').filter({ hasText: 'Buurthuis de Roef' });
  await session.waitFor();
  assert.match(await session.textContent(), /Team Oost · 1 medewerker(?!s)/);
  await waitAllSent(coord);
  await assertAccessible(coord, 'planning');
  await shoot(coord, 'planning');

  // The boa's phone, on its home screen: the planned walk arrives with the sync.
  await phone.goto(`${proxy.origin}/#/`);
  const upcoming = phone.locator('h2:has-text("Vandaag en gepland") + ul [data-testid="doc-link"]').filter({ hasText: WALK_TITLE });
  await upcoming.waitFor({ timeout: 30_000 });
  assert.match(await upcoming.textContent(), /Oostermeent/);
});

test('(c2) planning a spreekuur says when the team\'s names could not be loaded, with a retry, and lists them once they arrive', async () => {
  // The first read of the names is refused, the retry held until released: a
  // failed load used to look like a team without accounts (no staff, no word).
  /** @type {(() => void) | null} */
  let release = null;
  const held = new Promise((r) => (release = () => r(undefined)));
  let fail = true;
  await coord.route('**/api/v1/people', async (route) => {
    if (fail) {
      fail = false;
      return route.abort('connectionrefused');
    }
    await held;
    await route.continue();
  });
  try {
    await coord.goto(`${server.origin}/#/coord/overview`);
    await coord.getByTestId('plan-form').waitFor({ state: 'detached' });
    await coord.goto(`${server.origin}/#/coord/plan`);
    const form = coord.getByTestId('plan-form');
    await coord.getByTestId('plan-kind-spreekuur').click();
    await form.getByLabel('Team').selectOption('team-oost');
    await coord.getByTestId('plan-staff-error').filter({ hasText: 'konden niet worden geladen' }).waitFor();
    assert.equal(await coord.getByTestId('plan-staff').count(), 0);
    await assertAccessible(coord, 'planning, names not loaded');
    await coord.getByTestId('plan-staff-retry').click();
    await coord.locator('[data-testid="plan-staff-state"][data-state="loading"]').waitFor();
    assert.equal(await coord.getByTestId('plan-staff-error').count(), 0);
    release?.();
    await coord.getByTestId('plan-staff').getByLabel(NINA.name).waitFor();
    assert.equal(await coord.getByTestId('plan-staff-state').count(), 0);
  } finally {
    release?.();
    await coord.unroute('**/api/v1/people');
  }
});

test('(d) the walk report lists participants, observations by category and actions per partner, and prints without the app shell', async () => {
  // On the phone: two observations in the planned walk, one with a follow-up for the police.
  await phone.locator(`a[href="#/walk/${plannedId}"]`).click();
  await phone.getByRole('heading', { name: WALK_TITLE, level: 1 }).waitFor();
  for (const [category, text, place, partner] of [
    ['jeugdoverlast', 'Groep jongeren met scooters', 'de Roef', 'politie'],
    ['positief_signaal', 'Bewoners ruimen samen het plein op', 'Kostmand', null],
  ]) {
    await phone.getByTestId('add-observation').click();
    await phone.locator(`[data-category="${category}"]`).click();
    await phone.getByTestId('entry-text').fill(text);
    await phone.getByLabel('Plaats').fill(place);
    if (partner) await phone.locator(`[data-partner="${partner}"]`).click();
    await phone.getByTestId('entry-save').click();
    await phone.getByTestId('item-text').filter({ hasText: text }).waitFor();
  }
  await waitAllSent(phone);

  // A coordinator reaches the report from the walk screen.
  await coord.goto(`${server.origin}/#/walk/${plannedId}`);
  await coord.getByTestId('walk-report-link').click();
  await coord.waitForURL(new RegExp(`#/coord/report/${plannedId}$`));
  const report = coord.getByTestId('walk-report');
  await report.getByRole('heading', { name: `Verslag: ${WALK_TITLE}` }).waitFor();
  const participants = await coord.getByTestId('report-participant').allTextContents();
  assert.deepEqual(participants.sort(), ['Sanne (woningcorporatie)', 'Wethouder Jansen (gemeente)']);
  const jeugd = coord.locator('[data-testid="report-category"][data-category="jeugdoverlast"]');
  assert.match(await jeugd.textContent(), /Groep jongeren met scooters/);
  assert.match(await jeugd.textContent(), /de Roef/);
  const positief = coord.locator('[data-testid="report-category"][data-category="positief_signaal"]');
  assert.match(await positief.textContent(), /Bewoners ruimen samen het plein op.*Kostmand/s);
  const politie = coord.locator('[data-testid="report-partner"][data-partner="politie"]');
  const actions = politie.getByTestId('report-action');
  assert.equal(await actions.count(), 1);
  assert.match(await actions.first().textContent(), /Groep jongeren met scooters.*de Roef.*open/s);
  assert.equal(await coord.getByTestId('report-partner').count(), 1, 'only partners with actions');
  await assertAccessible(coord, 'walk report');
  await shoot(coord, 'walk-report');

  // Print layout: the report stays, the app shell and the buttons go.
  await coord.emulateMedia({ media: 'print' });
  assert.equal(await coord.locator('header.top').isVisible(), false);
  assert.equal(await coord.getByTestId('report-print').isVisible(), false);
  assert.equal(await coord.locator('nav').first().isVisible(), false);
  assert.equal(await jeugd.isVisible(), true);
  assert.equal(await politie.isVisible(), true);
  const pdf = await coord.pdf({ format: 'A4' });
  await mkdir(OUTPUT, { recursive: true });
  await writeFile(path.join(OUTPUT, 'walk-report.pdf'), pdf);
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  const text = pdf.toString('latin1');
  assert.ok(!text.includes('alles verstuurd'), 'the sync indicator is not printed');
  await coord.emulateMedia({ media: 'screen' });

  // The REST answer the page renders agrees (server-side grouping, not the page's).
  const api = await reportOf(plannedId);
  assert.deepEqual(api.partners.map((p) => [p.id, p.actions.length]), [['politie', 1]]);
});

test('(e) a password reset asks the phone to log in again and keeps its unsent work', async () => {
  // The phone goes out of signal and logs something: unsent.
  proxy.cut();
  await phone.getByTestId('add-observation').click();
  await phone.locator('[data-category="vervuiling"]').click();
  await phone.getByTestId('entry-text').fill('Gedumpt afval bij de glasbak');
  await phone.getByTestId('entry-save').click();
  await phone.getByTestId('item-text').filter({ hasText: 'Gedumpt afval bij de glasbak' }).waitFor();
  await phone.locator('[data-testid="sync-indicator"][data-pending="1"]').waitFor();

  // The admin resets Nina's password.
  await admin.goto(`${server.origin}/#/admin`);
  await admin.locator(`[data-testid="admin-user-row"][data-username="${NINA.username}"] [data-testid="admin-user-open"]`).click();
  await admin.getByRole('heading', { name: `Account ${NINA.username}` }).waitFor();
  await admin.getByTestId('admin-user-password').fill(NINA_NEW_PASSWORD);
  await admin.getByTestId('admin-user-reset').click();
  await admin.getByTestId('admin-user-msg').filter({ hasText: 'Wachtwoord ingesteld' }).waitFor();
  await admin.locator('[data-testid="admin-device-row"][data-state="signed_out"]').waitFor();
  await assertAccessible(admin, 'account');
  await shoot(admin, 'admin-account');

  // Back in signal: the phone is asked to log in again — it is not wiped.
  proxy.restore();
  await phone.locator('[data-testid="conn"][data-conn="auth_needed"]').waitFor({ timeout: 60_000 });
  await phone.getByRole('alert').filter({ hasText: 'Log opnieuw in' }).waitFor();
  assert.equal(await phone.getByTestId('revoked').count(), 0);
  await phone.locator('[data-testid="sync-indicator"][data-pending="1"]').waitFor();
  assert.equal(await phone.getByTestId('item-text').filter({ hasText: 'Gedumpt afval bij de glasbak' }).count(), 1);
  // The old password no longer works; the new one does, and the work goes out.
  await phone.getByRole('alert').getByRole('button', { name: 'Inloggen' }).click();
  await loginWith(phone, NINA.username, NINA_NEW_PASSWORD);
  await waitAllSent(phone);
  const token = await restLogin(server.origin, 'coord-cora');
  const r = await fetch(`${server.origin}/api/v1/items?q=glasbak`, { headers: { Authorization: `Bearer ${token}` } });
  const items = (await r.json()).items;
  assert.deepEqual(items.map((i) => i.text), ['Gedumpt afval bij de glasbak']);
});

test('(f) a device the admin revokes wipes at its next contact', async () => {
  proxy.cut();
  await admin.reload();
  await admin.getByRole('heading', { name: `Account ${NINA.username}` }).waitFor();
  const active = admin.locator('[data-testid="admin-device-row"][data-state="active"]');
  await active.waitFor();
  assert.equal(await active.count(), 1, 'the phone\'s new login is the one active device');
  await active.getByTestId('admin-device-revoke').click();
  await active.getByTestId('admin-device-revoke-confirm').click();
  await admin.getByTestId('admin-user-msg').filter({ hasText: 'Toestel ingetrokken' }).waitFor();
  await admin.locator('[data-testid="admin-device-row"][data-state="revoked"]').waitFor();

  // Next contact: told it is revoked, local data wiped.
  proxy.restore();
  const dialog = phone.getByTestId('revoked');
  await dialog.waitFor({ timeout: 60_000 });
  await phone.waitForFunction(async () => !(await indexedDB.databases()).some((d) => d.name === 'wijklog'), null, { timeout: 10_000 });
  await phone.getByRole('button', { name: 'Begrepen, wissen' }).click();
  await phone.getByRole('heading', { name: 'Inloggen' }).waitFor();
});

test('(g) the audit log screen shows the admin actions, filterable', async () => {
  // The filtered answer is held: until it is in, the rows of the earlier
  // filter stay but are marked as loading. They looked like the new filter's
  // answer, and this test read them (a flake under load: it got every entry).
  /** @type {(() => void) | null} */
  let release = null;
  const held = new Promise((r) => (release = () => r(undefined)));
  await admin.route('**/api/v1/admin/audit?*', async (route) => {
    if (route.request().url().includes('actor=')) await held;
    await route.continue();
  });
  const screen = admin.getByTestId('admin-audit-screen');
  const ready = admin.locator('[data-testid="admin-audit-screen"][data-state="ready"]');
  const rowActions = () => admin.getByTestId('admin-audit-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
  try {
    await admin.goto(`${server.origin}/#/admin/audit`);
    await admin.getByRole('heading', { name: 'Auditlog', level: 1 }).waitFor();
    await ready.waitFor();
    const all = await rowActions();
    assert.ok(all.some((a) => !a?.startsWith('admin.user.')), `unfiltered: ${all}`);
    const filter = admin.getByTestId('admin-audit-filter');
    await filter.getByLabel('Wie').selectOption({ label: 'Ad Beheer (admin-ad)' });
    await filter.getByLabel(/^Actie/).fill('admin.user.');
    await admin.getByTestId('admin-audit-apply').click();
    await admin.locator('[data-testid="admin-audit-screen"][data-state="loading"] .admin-table-wrap[aria-busy="true"]').waitFor();
    assert.deepEqual(await rowActions(), all, 'the earlier rows stay while loading');
    release?.();
    await ready.waitFor();
    assert.equal(await screen.locator('.admin-table-wrap[aria-busy="true"]').count(), 0);
    assert.deepEqual(await rowActions(), ['admin.user.password', 'admin.user.create']);
  } finally {
    release?.();
    await admin.unroute('**/api/v1/admin/audit?*');
  }
  const created = admin.locator('[data-testid="admin-audit-row"][data-action="admin.user.create"]');
  assert.match(await created.textContent(), /Ad Beheer/);
  assert.match(await created.textContent(), /Nina de Boa \(boa-nina\)/, 'the subject is shown by name');
  // The revoke is a device action.
  const filter = admin.getByTestId('admin-audit-filter');
  await filter.getByLabel(/^Actie/).fill('admin.device.revoke');
  await admin.getByTestId('admin-audit-apply').click();
  await ready.waitFor();
  assert.deepEqual(await rowActions(), ['admin.device.revoke']);
  await assertAccessible(admin, 'audit log');
  await shoot(admin, 'admin-audit');
});

test('(h) the admin area refuses other roles', async () => {
  await coord.goto(`${server.origin}/#/admin`);
  await coord.getByTestId('admin-forbidden').waitFor();
  const token = await restLogin(server.origin, 'coord-cora');
  const r = await fetch(`${server.origin}/api/v1/admin/users`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 403);
});

test('(i) the coordinators see what the admin did to accounts that can read content', async () => {
  await coord.goto(`${server.origin}/#/coord/overview`);
  const changes = coord.getByTestId('access-changes');
  const reset = changes.locator('li[data-action="admin.user.password"]');
  await reset.waitFor();
  assert.match(await reset.textContent(), /Ad Beheer.*nieuw wachtwoord.*Nina de Boa/);
  const created = changes.locator('li[data-action="admin.user.create"]');
  assert.match(await created.textContent(), /Ad Beheer.*Nina de Boa.*boa/);
  await assertAccessible(coord, 'coordinator overview with access changes');
});

test('(j) an account\'s details form keeps what was typed and saved: another section\'s save keeps the typing, a save shows the saved values', async () => {
  await admin.goto(`${server.origin}/#/admin`);
  await admin.locator(`[data-testid="admin-user-row"][data-username="${NINA.username}"]`).getByTestId('admin-user-open').click();
  const form = admin.getByTestId('admin-user-details');
  const name = form.getByLabel('Naam', { exact: true });
  const team = form.getByTestId('admin-user-team');
  await form.waitFor();
  assert.equal(await name.inputValue(), NINA.name);

  // Typing in the details, then a password reset further down: the account is
  // read again, and the name being typed stays (the form used to start over).
  await name.fill('Nina Jansen');
  await admin.getByTestId('admin-user-password').fill('nina-derde-wachtwoord-3');
  await admin.getByTestId('admin-user-reset').click();
  await admin.getByTestId('admin-user-msg').filter({ hasText: 'Wachtwoord ingesteld' }).waitFor();
  assert.equal(await name.inputValue(), 'Nina Jansen');

  // Saved: the form shows the saved name (it used to show the one before the save) ...
  await form.getByTestId('admin-user-save').click();
  await admin.getByTestId('admin-user-msg').filter({ hasText: /^Opgeslagen\.$/ }).waitFor();
  assert.equal(await name.inputValue(), 'Nina Jansen');
  // ... and a second save, of the team, does not write the old name back.
  await team.selectOption('team-west');
  await form.getByTestId('admin-user-save').click();
  await admin.getByTestId('admin-user-msg').filter({ hasText: 'opnieuw inloggen' }).waitFor();

  await admin.reload();
  await form.waitFor();
  assert.equal(await name.inputValue(), 'Nina Jansen');
  assert.equal(await team.inputValue(), 'team-west');
});
