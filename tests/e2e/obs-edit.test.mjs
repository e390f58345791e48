// Editing an existing observation beyond its text: category,
// severity, place and a re-captured GPS position, made offline on one phone
// while another phone edits the same observation offline; after reconnecting
// both phones show every edit merged. Also a spreekuur note's category, edited
// offline, reaches a colleague's context.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, Proxy, launchBrowser, newPhone, openApp, login, createWalk, addObservation, waitAllSent,
} from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await Server.start();
  await server.addUser('boa-anna', { roles: ['boa', 'spreekuur'], team: 'team-oost', name: 'Anna' });
  await server.addUser('boa-bram', { roles: ['boa', 'spreekuur'], team: 'team-oost', name: 'Bram' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** The item on `page` with the given text, located by its id (the text is hidden while editing). */
async function itemWith(page, text) {
  const byText = page.getByTestId('item').filter({ has: page.getByTestId('item-text').filter({ hasText: text }) });
  const id = await byText.getAttribute('data-item-id');
  return page.locator(`[data-item-id="${id}"]`);
}

test('category, severity, place and location edited offline on two phones merge on both', async () => {
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
    await createWalk(a, 'Wandeling Kostverloren');
    const text = 'Scooter zonder kenteken';
    await addObservation(a, { text, category: 'jeugdoverlast' });
    await waitAllSent(a);
    const itemA = await itemWith(a, text);
    assert.equal(await itemA.getAttribute('data-item-category'), 'jeugdoverlast');
    assert.match(await itemA.textContent(), /±12 m/);

    await login(b, 'boa-bram');
    await b.getByTestId('doc-link').filter({ hasText: 'Wandeling Kostverloren' }).click();
    const itemB = await itemWith(b, text);

    pA.cut();
    pB.cut();
    await ctxA.setOffline(true);
    await ctxB.setOffline(true);

    // Phone A: category, place and a new GPS fix (the boa walked on: 40 m accuracy).
    await ctxA.setGeolocation({ latitude: 52.3011, longitude: 5.2466, accuracy: 40 });
    await itemA.getByTestId('edit').click();
    await itemA.locator('[data-category="verkeer"]').click();
    await itemA.getByTestId('edit-place').fill('Kruising Bolderweg');
    await itemA.getByTestId('edit-recapture').click();
    await itemA.getByTestId('edit-location').filter({ hasText: 'Nieuwe positie ±40 m' }).waitFor();
    await itemA.getByTestId('edit-save').click();
    await a.locator('[data-item-category="verkeer"]').waitFor();

    // Phone B: severity of the same observation.
    await itemB.getByTestId('edit').click();
    await itemB.getByTestId('edit-severity').selectOption('urgent');
    await itemB.getByTestId('edit-save').click();
    await b.locator('[data-item-severity="urgent"]').waitFor();
    for (const p of [a, b]) assert.match(await p.getByTestId('sync-indicator').textContent(), /wacht/);

    pA.restore();
    pB.restore();
    await ctxA.setOffline(false);
    await ctxB.setOffline(false);

    for (const p of [a, b]) {
      const item = p.locator('[data-item-category="verkeer"][data-item-severity="urgent"]');
      await item.waitFor({ timeout: 60_000 });
      await waitAllSent(p, 60_000);
      const content = await item.textContent();
      assert.match(content, /bij Kruising Bolderweg/);
      assert.match(content, /±40 m/);
      assert.match(content, /Verkeer/);
      assert.match(content, new RegExp(text));
    }
  } finally {
    await ctxA.close();
    await ctxB.close();
    await pA.close();
    await pB.close();
  }
});

test('a spreekuur note\'s category edited offline reaches a colleague', async () => {
  const pA = await Proxy.start(server.port);
  const ctxA = await newPhone(browser, { origin: pA.origin });
  const ctxB = await newPhone(browser, { origin: server.origin });
  try {
    const a = await ctxA.newPage();
    const b = await ctxB.newPage();
    await openApp(a, pA.origin);
    await login(a, 'boa-anna');
    await a.getByRole('link', { name: 'Nieuw spreekuur' }).click();
    await a.getByLabel('Locatie (buurthuis)').fill('Buurthuis de Roef');
    await a.getByLabel('Wijk').selectOption({ index: 1 });
    await a.getByRole('button', { name: 'Aanmaken' }).click();
    await a.getByRole('heading', { name: /Buurthuis de Roef/ }).waitFor();
    await a.locator('form [data-category="drugs"]').click();
    await a.getByTestId('note-text').fill('Bewoner meldt spuiten in speeltuin');
    await a.getByTestId('note-save').click();
    const note = await itemWith(a, 'spuiten in speeltuin');
    await waitAllSent(a);
    const sessionUrl = a.url().split('#')[1];

    pA.cut();
    await ctxA.setOffline(true);
    await note.getByTestId('edit').click();
    await note.locator('[data-category="vervuiling"]').click();
    await note.getByTestId('edit-save').click();
    await a.locator('[data-item-category="vervuiling"]').waitFor();
    assert.match(await a.getByTestId('sync-indicator').textContent(), /wacht/);

    pA.restore();
    await ctxA.setOffline(false);
    await waitAllSent(a, 60_000);

    await openApp(b, server.origin);
    await login(b, 'boa-bram');
    await b.goto(`${server.origin}/#${sessionUrl}`);
    const seen = b.locator('[data-item-category="vervuiling"]');
    await seen.waitFor({ timeout: 30_000 });
    assert.match(await seen.textContent(), /Vervuiling \/ zwerfafval/);
    assert.match(await seen.textContent(), /spuiten in speeltuin/);
  } finally {
    await ctxA.close();
    await ctxB.close();
    await pA.close();
  }
});
