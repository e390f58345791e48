// Two phones, one walk: both offline, both add observations and edit the same
// observation's text, both come back; both end equal with everything kept, and
// a coordinator sees the merged walk.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, Proxy, launchBrowser, newPhone, openApp, login, createWalk, addObservation, waitAllSent, itemTexts,
} from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await Server.start();
  await server.addUser('boa-anna', { roles: ['boa'], team: 'team-oost', name: 'Anna' });
  await server.addUser('boa-bram', { roles: ['boa'], team: 'team-oost', name: 'Bram' });
  await server.addUser('coord-carla', { roles: ['coordinator'], team: null, name: 'Carla' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

async function editText(page, from, to) {
  const id = await page.getByTestId('item').filter({ has: page.getByTestId('item-text').filter({ hasText: from }) }).getAttribute('data-item-id');
  const item = page.locator(`[data-item-id="${id}"]`);
  await item.getByTestId('edit').click();
  await item.getByTestId('edit-text').fill(to);
  await item.getByTestId('edit-save').click();
  await page.getByTestId('item-text').filter({ hasText: to }).waitFor();
}

test('two phones edit one walk offline and converge with every observation and both text edits', async () => {
  const pA = await Proxy.start(server.port);
  const pB = await Proxy.start(server.port);
  const ctxA = await newPhone(browser, { origin: pA.origin });
  const ctxB = await newPhone(browser, { origin: pB.origin });
  try {
    const a = await ctxA.newPage();
    const b = await ctxB.newPage();
    await openApp(a, pA.origin);
    await openApp(b, pB.origin);
    await login(a, 'boa-anna');
    const walkId = await createWalk(a, 'Wandeling Stad en Lande');
    const shared = 'Lantaarnpaal kapot';
    await addObservation(a, { text: shared });
    await waitAllSent(a);

    await login(b, 'boa-bram');
    await b.getByTestId('doc-link').filter({ hasText: 'Wandeling Stad en Lande' }).click();
    await b.getByTestId('item-text').filter({ hasText: shared }).waitFor();

    // Both lose the network.
    pA.cut();
    pB.cut();
    await ctxA.setOffline(true);
    await ctxB.setOffline(true);

    await addObservation(a, { text: 'A: brandje in container bij de Roef' });
    await editText(a, shared, `${shared} bij nummer 12`);
    await addObservation(b, { text: 'B: zwerfafval achter buurthuis' });
    await editText(b, shared, `Dringend: ${shared}`);
    for (const p of [a, b]) assert.match(await p.getByTestId('sync-indicator').textContent(), /wacht/);

    // Both come back.
    pA.restore();
    pB.restore();
    await ctxA.setOffline(false);
    await ctxB.setOffline(false);

    const merged = `Dringend: ${shared} bij nummer 12`;
    const expected = ['A: brandje in container bij de Roef', 'B: zwerfafval achter buurthuis', merged].sort();
    for (const p of [a, b]) {
      await waitAllSent(p, 60_000);
      await p.getByTestId('item-text').filter({ hasText: merged }).waitFor({ timeout: 60_000 });
      await p.waitForFunction((n) => document.querySelectorAll('[data-testid="item-text"]').length === n, 3, { timeout: 60_000 });
    }
    const textsA = (await itemTexts(a)).sort();
    const textsB = (await itemTexts(b)).sort();
    assert.deepEqual(textsA, expected);
    assert.deepEqual(textsB, expected);

    // A coordinator on a laptop sees the merged walk.
    const ctxC = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const c = await ctxC.newPage();
    await openApp(c, server.origin);
    await login(c, 'coord-carla');
    await c.goto(`${server.origin}/#/walk/${walkId}`);
    await c.getByTestId('item-text').filter({ hasText: merged }).waitFor({ timeout: 30_000 });
    await c.waitForFunction((n) => document.querySelectorAll('[data-testid="item-text"]').length === n, 3);
    assert.deepEqual((await itemTexts(c)).sort(), expected);
    await ctxC.close();
  } finally {
    await ctxA.close();
    await ctxB.close();
    await pA.close();
    await pB.close();
  }
});
