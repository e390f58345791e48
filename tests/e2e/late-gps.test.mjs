// An observation saved while the quick entry still shows "GPS zoeken…": the
// fix that arrives after saving is attached to that same observation (one more
// edit, synced to the server); when no fix comes (permission denied), the walk
// screen says so and the observation has no location.
//
// The browser's own geolocation supplies the position (Playwright's
// setGeolocation); an init script only holds back its callbacks until the test
// releases them, so "GPS zoeken…" shows as long as the test wants.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, loggedInPhone, createWalk, waitAllSent, restLogin } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await Server.start();
  await server.addUser('boa-anna', { roles: ['boa'], team: 'team-oost', name: 'Anna' });
  await server.addUser('coord-cora', { roles: ['coordinator'], team: 'team-oost', name: 'Cora' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** Holds every geolocation callback (success and error) until window.__releaseGps(). */
function holdGeolocation() {
  const geo = navigator.geolocation;
  const realWatch = geo.watchPosition.bind(geo);
  const realClear = geo.clearWatch.bind(geo);
  const realGet = geo.getCurrentPosition.bind(geo);
  let held = true;
  const queue = [];
  // Watch ids may be reused after clearWatch: each watch has its own token.
  const tokens = new Map();
  const gate = (token, f) =>
    f &&
    ((...a) => {
      const call = () => {
        if (!token.cleared) f(...a);
      };
      if (held) queue.push(call);
      else call();
    });
  geo.watchPosition = (ok, err, opt) => {
    const token = { cleared: false };
    const id = realWatch(gate(token, ok), gate(token, err), opt);
    tokens.set(id, token);
    return id;
  };
  geo.clearWatch = (n) => {
    const token = tokens.get(n);
    if (token) token.cleared = true;
    tokens.delete(n);
    realClear(n);
  };
  geo.getCurrentPosition = (ok, err, opt) => realGet(gate({ cleared: false }, ok), gate({ cleared: false }, err), opt);
  window.__releaseGps = () => {
    held = false;
    for (const f of queue.splice(0)) f();
  };
}

/** Quick entry saved while the form shows "GPS zoeken…"; returns the new item's id. */
async function saveWhileSearching(page, text) {
  await page.getByTestId('add-observation').click();
  await page.getByRole('heading', { name: 'Nieuwe waarneming' }).waitFor();
  await page.locator('[data-category]').first().click();
  await page.getByTestId('entry-text').fill(text);
  assert.equal(await page.getByTestId('gps').textContent(), 'GPS zoeken…');
  await page.getByTestId('entry-save').click();
  await page.getByTestId('save-state').filter({ hasText: 'opgeslagen' }).waitFor();
  const item = page.getByTestId('item').filter({ has: page.getByTestId('item-text').filter({ hasText: text }) });
  await item.waitFor();
  return item.getAttribute('data-item-id');
}

/** The item as the server has it (coordinator, REST), once its location is in the state `want`. */
async function serverItem(docId, itemId, want) {
  const token = await restLogin(server.origin, 'coord-cora');
  let last = null;
  for (let i = 0; i < 150; i++) {
    const r = await fetch(`${server.origin}/api/v1/items/${docId}/${itemId}`, { headers: { Authorization: `Bearer ${token}` } });
    if (r.ok) {
      last = (await r.json()).item;
      if (want(last)) return last;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return last;
}

test('a fix that arrives after "Opslaan" is attached to the same observation, on the phone and the server', async () => {
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'boa-anna', {
    prepare: async (c) => {
      await c.addInitScript(holdGeolocation);
      await c.setGeolocation({ latitude: 52.3011, longitude: 5.2466, accuracy: 12 });
    },
  });
  try {
    const docId = await createWalk(page, 'Late GPS');
    const itemId = await saveWhileSearching(page, 'Kapotte bank');
    const meta = page.locator(`[data-item-id="${itemId}"]`).getByTestId('item-meta');
    // Saved without a location: the row says it is still searching, never a ±m.
    assert.match(await meta.textContent(), /GPS zoeken…/);
    await waitAllSent(page);
    const before = await serverItem(docId, itemId, () => true);
    assert.equal(before?.location ?? null, null, 'no location before the fix');

    await page.evaluate(() => window.__releaseGps());
    await meta.filter({ hasText: '±12 m' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('location-missing').count(), 0);
    assert.equal(await page.getByTestId('item').count(), 1, 'the same observation, not a second one');
    await waitAllSent(page);
    const after = await serverItem(docId, itemId, (it) => it.location != null);
    assert.ok(after?.location, 'the server has the location');
    assert.equal(after.location.lat, 52.3011);
    assert.equal(after.location.lon, 5.2466);
    assert.equal(after.location.accuracy_m, 12);
    assert.equal(after.text, 'Kapotte bank');
  } finally {
    await ctx.close();
  }
});

test('no fix (permission denied): the walk screen says so, dismissable, and the observation has no location', async () => {
  // No geolocation permission granted for this context.
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'boa-anna', {
    geolocation: false,
    prepare: (c) => c.addInitScript(holdGeolocation),
  });
  try {
    const docId = await createWalk(page, 'Geen GPS');
    const itemId = await saveWhileSearching(page, 'Losse stoeptegel');
    assert.equal(await page.getByTestId('location-missing').count(), 0);

    await page.evaluate(() => window.__releaseGps());
    const banner = page.getByTestId('location-missing');
    await banner.waitFor({ timeout: 10_000 });
    assert.match(await banner.textContent(), /Locatie niet gevonden — voeg die toe via Bewerken/);
    const meta = page.locator(`[data-item-id="${itemId}"]`).getByTestId('item-meta');
    assert.doesNotMatch(await meta.textContent(), /±|GPS zoeken/);

    await waitAllSent(page);
    const it = await serverItem(docId, itemId, () => true);
    assert.ok(it, 'the observation reached the server');
    assert.equal(it.location ?? null, null);

    await page.getByTestId('location-missing-dismiss').click();
    await banner.waitFor({ state: 'detached' });
  } finally {
    await ctx.close();
  }
});
