// Sessions: an access token that expires while offline never blocks work and is
// refreshed on reconnect; logout warns about unsent changes and wipes IndexedDB
// once everything is acknowledged.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, Proxy, launchBrowser, loggedInPhone, openApp, login, createWalk, addObservation, waitAllSent, sleep, axeSerious,
} from './helpers.mjs';

const ACCESS_TTL_SECS = 3;
let server;
let browser;

before(async () => {
  // Access tokens live 3 s here (no clock leeway), so they expire during the offline period.
  server = await Server.start({ env: { WIJKLOG_AUTH_ACCESS_TTL_SECS: String(ACCESS_TTL_SECS), WIJKLOG_AUTH_LEEWAY_SECS: '0' } });
  await server.addUser('boa-anna', { roles: ['boa'], team: 'team-oost', name: 'Anna' });
  await server.addUser('coord-carla', { roles: ['coordinator'], team: null, name: 'Carla' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

async function coordinatorSees(walkId, text) {
  const ctx = await browser.newContext();
  const c = await ctx.newPage();
  await openApp(c, server.origin);
  await login(c, 'coord-carla');
  await c.goto(`${server.origin}/#/walk/${walkId}`);
  await c.getByTestId('item-text').filter({ hasText: text }).waitFor({ timeout: 30_000 });
  await ctx.close();
}

async function databases(page) {
  return page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
}

test('an access token that expired offline is refreshed on reconnect; work continues and syncs without a password prompt', async () => {
  const proxy = await Proxy.start(server.port);
  const { ctx, page } = await loggedInPhone(browser, proxy.origin, 'boa-anna');
  try {
    const walkId = await createWalk(page, 'Nachtronde Bovenmaten');
    await waitAllSent(page);

    proxy.cut();
    await ctx.setOffline(true);
    await sleep((ACCESS_TTL_SECS + 2) * 1000);
    // Offline with an expired token: editing still works and is saved locally.
    await addObservation(page, { text: 'Scooters scheuren over het fietspad' });
    await page.getByTestId('sync-indicator').filter({ hasText: /wacht/ }).waitFor();

    const refreshes = [];
    page.on('response', (r) => {
      if (r.url().endsWith('/api/v1/auth/refresh')) refreshes.push(r.status());
    });
    proxy.restore();
    await ctx.setOffline(false);
    await waitAllSent(page, 60_000);
    assert.ok(refreshes.includes(200), `a refresh succeeded (statuses: ${refreshes})`);
    assert.equal(await page.getByRole('heading', { name: 'Inloggen' }).count(), 0, 'no password prompt');
    await coordinatorSees(walkId, 'Scooters scheuren over het fietspad');
  } finally {
    await ctx.close();
    await proxy.close();
  }
});

test('logout with unsent changes warns and offers to wait; once acked it logs out and IndexedDB is wiped', async () => {
  const proxy = await Proxy.start(server.port);
  const { ctx, page } = await loggedInPhone(browser, proxy.origin, 'boa-anna');
  try {
    const walkId = await createWalk(page, 'Middagronde Centrum');
    await waitAllSent(page);
    assert.ok((await databases(page)).includes('wijklog'));

    proxy.cut();
    await addObservation(page, { text: 'Graffiti op de muur van de bibliotheek' });
    await page.getByTestId('logout').click();
    const warning = page.getByTestId('logout-warning');
    await warning.waitFor();
    assert.match(await warning.textContent(), /Er is nog 1 wijziging niet verstuurd/);
    const v = await axeSerious(page);
    assert.deepEqual(v, [], `logout dialog: ${JSON.stringify(v)}`);
    // Nothing has been wiped by the warning itself.
    assert.ok((await databases(page)).includes('wijklog'));
    await page.getByTestId('logout-wait').click();

    proxy.restore();
    await page.getByTestId('notice').filter({ hasText: 'uitgelogd' }).waitFor({ timeout: 60_000 });
    await page.getByRole('heading', { name: 'Inloggen' }).waitFor();
    assert.deepEqual((await databases(page)).filter((n) => n === 'wijklog'), [], 'IndexedDB deleted after logout');
    await coordinatorSees(walkId, 'Graffiti op de muur van de bibliotheek');

    // With nothing unsent, logout wipes at once, without a warning.
    await login(page, 'boa-anna');
    await waitAllSent(page);
    await page.getByTestId('logout').click();
    await page.getByRole('heading', { name: 'Inloggen' }).waitFor();
    assert.equal(await page.getByTestId('logout-warning').count(), 0);
    assert.deepEqual((await databases(page)).filter((n) => n === 'wijklog'), []);
  } finally {
    await ctx.close();
    await proxy.close();
  }
});

test('a disabled user or revoked device is told so and the local data is wiped', async () => {
  await server.addUser('boa-rik', { roles: ['boa'], team: 'team-oost', name: 'Rik' });
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'boa-rik');
  try {
    await createWalk(page, 'Ronde Buitenwijken');
    await waitAllSent(page);
    assert.ok((await databases(page)).includes('wijklog'));

    await server.disableUser('boa-rik');
    const dialog = page.getByTestId('revoked');
    await dialog.waitFor({ timeout: 30_000 });
    assert.match(await dialog.textContent(), /ingetrokken/);
    await page.waitForFunction(async () => !(await indexedDB.databases()).some((d) => d.name === 'wijklog'), null, { timeout: 10_000 });
    await page.getByRole('button', { name: 'Begrepen, wissen' }).click();
    await page.getByRole('heading', { name: 'Inloggen' }).waitFor();
  } finally {
    await ctx.close();
  }
});
