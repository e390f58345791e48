// Places people recognise, on the coordinator map, against a real `wijklog
// serve` whose address service is a FAKE Locatieserver on loopback (a node
// http server here that answers like PDOK's, or with 500): a laptop
// (1280x800) that may only reach loopback.
//   (a) three observations at the very same spot and one elsewhere: the map
//       shows one marker and one cluster "3"; opening the cluster spreads the
//       three out (four markers, none on top of another), each opens its item;
//   (b) the address search asks the server, which asks the service (only the
//       words go out, no token): choosing a result moves the map there;
//   (c) with the service failing, the search says so and the map still works;
//   (d) axe-core finds nothing serious on the map with a cluster and results;
//   (e) a boa's phone (360x740): a saved observation gets the nearest address
//       of its GPS position (looked up through the server, stored in the
//       document); a pin dragged on the form's map replaces the GPS position,
//       and that position gets its own address;
//   (f) the coordinator's list, item detail and walk report show the
//       addresses instead of the coordinates.
// The background tiles of both maps come from the fake server too (404:
// no tiles), so nothing leaves loopback.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Server, launchBrowser, login, axeSerious, screenshot, loggedInPhone, createWalk, addObservation, waitAllSent, restLogin } from './helpers.mjs';
import { seedWalks } from './seed-sync.mjs';

const SPOT = { lat: 52.3012, lon: 5.2441 };
const ELSEWHERE = { lat: 52.2978, lon: 5.2399 };
const STATIONSPLEIN = { lat: 52.2996, lon: 5.2478 };

/** What the fake service received. */
const asked = [];
let failing = false;
let fake;
let server;
let browser;
let ctx;
let page;

before(async () => {
  fake = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    asked.push({ path: url.pathname, query: [...url.searchParams.keys()], q: url.searchParams.get('q'), headers: Object.keys(req.headers) });
    if (failing) {
      res.writeHead(500).end('{}');
      return;
    }
    if (url.pathname.startsWith('/tiles/')) {
      res.writeHead(404).end();
      return;
    }
    // The phone's GPS position (the test's geolocation) is Kerkstraat; anything else Havenstraat.
    const reverse = url.searchParams.get('lat') === '52.29950' ? 'Kerkstraat 12, 1271AB Huizen' : 'Havenstraat 3, 1271AC Huizen';
    const docs = url.pathname.endsWith('/reverse')
      ? [{ type: 'adres', weergavenaam: reverse, centroide_ll: 'POINT(5.2435 52.2995)', afstand: 6.5 }]
      : url.pathname.endsWith('/free')
      ? [
          { type: 'adres', weergavenaam: 'Stationsplein 1, 1271AA Huizen', centroide_ll: `POINT(${STATIONSPLEIN.lon} ${STATIONSPLEIN.lat})` },
          { type: 'weg', weergavenaam: 'Stationsweg, Huizen', centroide_ll: 'POINT(5.2500 52.2990)' },
        ]
      : [];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ response: { numFound: docs.length, start: 0, docs } }));
  });
  await new Promise((r) => fake.listen(0, '127.0.0.1', r));
  const { port } = /** @type {import('node:net').AddressInfo} */ (fake.address());
  const fakeUrl = `http://127.0.0.1:${port}/bzk/locatieserver/search/v3_1`;
  const tiles = `http://127.0.0.1:${port}/tiles/{z}/{x}/{y}.png`;
  server = await Server.start({ env: { WIJKLOG_GEOCODING_ENABLED: 'true', WIJKLOG_GEOCODING_URL: fakeUrl, WIJKLOG_MAP_TILE_URL: tiles } });
  await server.addUser('boa-bo', { roles: ['boa'], team: 'team-oost', name: 'Bo' });
  await server.addUser('coord-cora', { roles: ['coordinator'], team: null, name: 'Cora' });
  await seedWalks(server, 'boa-bo', 'team-oost', [
    { title: 'Ronde bij de Roef', at: Date.now() - 3_600_000, observations: 4, locations: [SPOT, SPOT, SPOT, ELSEWHERE] },
  ]);
  browser = await launchBrowser();
  ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  // Only loopback; the background tiles (PDOK by default) are not reachable.
  await ctx.route('**/*', (r) => (['127.0.0.1', 'localhost'].includes(new URL(r.request().url()).hostname) ? r.continue() : r.abort()));
  page = await ctx.newPage();
  await page.goto(`${server.origin}/`);
  await login(page, 'coord-cora');
});

after(async () => {
  await browser?.close();
  await server?.dispose();
  await new Promise((r) => (fake ? fake.close(r) : r(undefined)));
});

/** Centres of the drawn markers, in page pixels. */
function markerCentres() {
  return page.locator('path.coord-marker').evaluateAll((ps) =>
    ps.map((p) => {
      const r = p.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2, key: p.getAttribute('data-key') };
    }),
  );
}

test('(a) three observations at one spot are one cluster "3" that opens into three markers', async () => {
  await page.goto(`${server.origin}/#/coord/map`);
  await page.locator('[data-testid="map-count"][data-state="ready"][data-count="4"]').waitFor();
  // One cluster and one marker (markers are drawn again when the catalog's colours arrive).
  await page.waitForFunction(() => document.querySelectorAll('.marker-cluster').length === 1 && document.querySelectorAll('path.coord-marker').length === 1);
  const cluster = page.locator('.marker-cluster');
  assert.equal((await cluster.textContent())?.trim(), '3');
  assert.equal(await cluster.getAttribute('aria-label'), '3 punten op deze plek; openen');
  assert.equal(await page.locator('path.coord-marker').count(), 1, 'only the marker elsewhere is drawn on its own');
  const lone = await page.locator('path.coord-marker').getAttribute('data-key');
  await screenshot(page, 'map-cluster');

  await cluster.click();
  // Spread out (the plugin's "spiderfied", after its animation).
  await page.locator('[data-testid="coord-map"][data-spread="3"]').waitFor();
  assert.equal(await page.locator('path.coord-marker').count(), 4);
  const centres = await markerCentres();
  const keys = new Set(centres.map((c) => c.key));
  assert.equal(keys.size, 4, 'four different observations');
  for (let i = 0; i < centres.length; i++) {
    for (let j = i + 1; j < centres.length; j++) {
      const d = Math.hypot(centres[i].x - centres[j].x, centres[i].y - centres[j].y);
      assert.ok(d >= 18, `markers ${i} and ${j} are ${d.toFixed(1)} px apart: one hides the other`);
    }
  }
  await screenshot(page, 'map-cluster-open');
  // A spread marker opens its own item.
  const one = centres.find((c) => c.key !== lone);
  assert.ok(one);
  await page.mouse.click(one.x, one.y);
  const link = page.locator('.leaflet-popup a[href^="#/coord/item/"]');
  await link.waitFor();
  assert.equal(await link.getAttribute('href'), `#/coord/item/${one.key}`);
});

test('(b) the address search goes through the server and moves the map to the chosen place', async () => {
  const before = asked.length;
  await page.getByTestId('map-search-q').fill('Stationsplein');
  await page.getByTestId('map-search-go').click();
  const results = page.getByTestId('map-search-result');
  await results.first().waitFor();
  assert.deepEqual(await results.allTextContents(), ['Stationsplein 1, 1271AA Huizen', 'Stationsweg, Huizen']);
  const call = asked.slice(before);
  assert.equal(call.length, 1);
  assert.equal(call[0].path, '/bzk/locatieserver/search/v3_1/free');
  assert.equal(call[0].q, 'Stationsplein');
  assert.ok(!call[0].headers.includes('authorization') && !call[0].headers.includes('cookie'), `headers: ${call[0].headers}`);

  await results.first().click();
  const ring = page.getByTestId('search-marker');
  await ring.waitFor();
  const box = await page.getByTestId('coord-map').boundingBox();
  const r = await ring.boundingBox();
  assert.ok(box && r);
  const dx = r.x + r.width / 2 - (box.x + box.width / 2);
  const dy = r.y + r.height / 2 - (box.y + box.height / 2);
  assert.ok(Math.hypot(dx, dy) < 5, `the chosen place is in the middle of the map (${dx.toFixed(1)}, ${dy.toFixed(1)})`);
  await screenshot(page, 'map-search');
});

test('(d) axe-core: nothing serious on the map with a cluster and search results', async () => {
  const v = await axeSerious(page);
  assert.deepEqual(v, [], JSON.stringify(v, null, 1));
});

test('(c) when the address service fails the search says so and the map keeps its points', async () => {
  failing = true;
  await page.goto(`${server.origin}/#/coord/map`);
  await page.locator('[data-testid="map-count"][data-state="ready"][data-count="4"]').waitFor();
  await page.getByTestId('map-search-q').fill('Kerkstraat');
  await page.getByTestId('map-search-go').click();
  const failed = page.getByTestId('map-search-failed');
  await failed.waitFor();
  assert.equal(await failed.getAttribute('data-failure'), 'unavailable');
  assert.equal(await failed.textContent(), 'De adresdienst antwoordt nu niet. Probeer het later nog eens.');
  assert.equal(await page.locator('.marker-cluster').count(), 1);
  assert.equal(await page.locator('path.coord-marker').count(), 1);
});

/** The server's rows (REST, as the coordinator). */
async function serverRows(q) {
  const token = await restLogin(server.origin, 'coord-cora');
  const res = await fetch(`${server.origin}/api/v1/items?q=${encodeURIComponent(q)}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return (await res.json()).items;
}

let walkId = '';

test('(e) on the phone: the nearest address of the GPS position, and a pin moved on the form\'s map', async () => {
  failing = false;
  const { ctx: phoneCtx, page: phone } = await loggedInPhone(browser, server.origin, 'boa-bo');
  try {
    walkId = await createWalk(phone, 'Ronde met adressen');
    // 1. GPS only: the address arrives after saving and is stored in the document.
    await addObservation(phone, { text: 'Lantaarnpaal kapot' });
    await phone.getByTestId('item-meta').filter({ hasText: 'adres Kerkstraat 12, 1271AB Huizen' }).waitFor({ timeout: 30_000 });

    // 2. The pin: open the map, drag the pin away from the GPS position, save.
    await phone.getByTestId('add-observation').click();
    await phone.locator('[data-category]').first().click();
    await phone.getByTestId('entry-text').fill('Afval naast de container');
    await phone.getByTestId('pin-map-toggle').click();
    const pin = phone.locator('.pin-icon');
    await pin.waitFor();
    const coords = phone.getByTestId('pin-coords');
    const start = { lat: Number(await coords.getAttribute('data-lat')), lon: Number(await coords.getAttribute('data-lon')) };
    assert.deepEqual(start, { lat: 52.2995, lon: 5.2435 }, 'the map starts at the GPS position');
    const b = await pin.boundingBox();
    assert.ok(b);
    await phone.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    await phone.mouse.down();
    await phone.mouse.move(b.x + b.width / 2 + 60, b.y + b.height / 2 - 40, { steps: 8 });
    await phone.mouse.up();
    await phone.getByTestId('gps').filter({ hasText: 'Positie gekozen op de kaart' }).waitFor();
    const moved = { lat: Number(await coords.getAttribute('data-lat')), lon: Number(await coords.getAttribute('data-lon')) };
    assert.ok(moved.lat > start.lat && moved.lon > start.lon, `the pin moved north-east: ${JSON.stringify(moved)}`);
    await phone.getByTestId('pin-coords').scrollIntoViewIfNeeded();
    await screenshot(phone, 'phone-pin-map');
    await phone.getByTestId('entry-save').click();
    await phone.getByTestId('save-state').filter({ hasText: 'opgeslagen' }).waitFor();
    await phone.getByTestId('item-meta').filter({ hasText: 'adres Havenstraat 3, 1271AC Huizen' }).waitFor({ timeout: 30_000 });
    await waitAllSent(phone, 60_000);
    await screenshot(phone, 'phone-addresses');

    // The server has the pin's position and both addresses (they synced as document fields).
    const pinned = (await serverRows('container'))[0];
    assert.ok(Math.abs(pinned.location.lat - moved.lat) < 1e-9 && Math.abs(pinned.location.lon - moved.lon) < 1e-9, JSON.stringify(pinned.location));
    assert.equal(pinned.location.accuracy_m, null, 'a position chosen on the map has no GPS accuracy');
    assert.equal(pinned.address, 'Havenstraat 3, 1271AC Huizen');
    assert.equal((await serverRows('Lantaarnpaal'))[0].address, 'Kerkstraat 12, 1271AB Huizen');
    const reverse = asked.filter((a) => a.path.endsWith('/reverse'));
    assert.ok(reverse.length >= 2);
    for (const a of reverse) assert.deepEqual(a.query, ['lat', 'lon', 'type', 'rows', 'distance', 'fl'], 'only the position goes out');
  } finally {
    await phoneCtx.close();
  }
});

test('(f) the coordinator sees the addresses in the list, the item detail and the walk report', async () => {
  await page.goto(`${server.origin}/#/coord/list?q=Lantaarnpaal`);
  await page.getByTestId('row-address').filter({ hasText: 'Kerkstraat 12, 1271AB Huizen' }).waitFor();
  await page.getByTestId('row-link').first().click();
  await page.getByTestId('detail-address').filter({ hasText: 'Kerkstraat 12, 1271AB Huizen' }).waitFor();
  await screenshot(page, 'coordinator-detail-address');
  await page.goto(`${server.origin}/#/coord/report/${walkId}`);
  const where = page.getByTestId('report-where');
  await where.first().waitFor();
  const cells = await where.allTextContents();
  assert.ok(cells.includes('Kerkstraat 12, 1271AB Huizen'), JSON.stringify(cells));
  assert.ok(cells.includes('Havenstraat 3, 1271AC Huizen'), JSON.stringify(cells));
  assert.ok(cells.every((c) => !/52[.,]\d{3}/.test(c)), `no coordinates: ${JSON.stringify(cells)}`);
});
