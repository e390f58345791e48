// The whole app under the server's Content-Security-Policy (docs/security.md):
// a boa's phone installs the app (service worker, wasm document model), logs
// in, creates a walk and an observation and syncs; a coordinator's laptop
// opens the list and the map, whose tiles come from a tile server on
// another loopback origin (the configured tile URL). Every page records the
// browser's `securitypolicyviolation` events; none may occur, and the tiles
// must really load.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { deflateSync } from 'node:zlib';
import {
  Server, freePort, launchBrowser, loggedInPhone, login, createWalk, addObservation, waitAllSent,
} from './helpers.mjs';

let server;
let browser;
let tiles;
let tileOrigin;
let tileRequests = 0;

/** A 256x256 grey PNG, made here (a tile). */
function tilePng() {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(256, 0);
  ihdr.writeUInt32BE(256, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = Buffer.alloc(257 * 256, 0xcc);
  for (let y = 0; y < 256; y++) rows[y * 257] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Starts recording CSP violations in every page of `ctx`. */
async function recordViolations(ctx) {
  await ctx.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI}`);
    });
  });
}

async function violations(page) {
  return page.evaluate(() => window.__cspViolations ?? ['(recorder missing)']);
}

before(async () => {
  const png = tilePng();
  const tilePort = await freePort();
  tileOrigin = `http://127.0.0.1:${tilePort}`;
  tiles = http.createServer((req, res) => {
    tileRequests += 1;
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length });
    res.end(png);
  });
  await new Promise((resolve) => tiles.listen(tilePort, '127.0.0.1', resolve));
  server = await Server.start({ env: { WIJKLOG_MAP_TILE_URL: `${tileOrigin}/tiles/{z}/{x}/{y}.png` } });
  await server.addUser('boa-bo', { roles: ['boa'], team: 'team-oost', name: 'Bo' });
  await server.addUser('coord-cora', { roles: ['coordinator'], team: null, name: 'Cora' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
  await new Promise((resolve) => tiles?.close(resolve));
});

test('the served policy is the documented one', async () => {
  const res = await fetch(`${server.origin}/`);
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(csp, new RegExp(`img-src 'self' blob: data: ${tileOrigin.replace(/[.:/]/g, '\\$&')}`));
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
});

test('the field app runs under the policy: install, login, walk, observation, sync', async () => {
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'boa-bo', { prepare: recordViolations });
  await createWalk(page, 'Avondronde onder CSP');
  await addObservation(page, { text: 'Losse stoeptegel' });
  await waitAllSent(page);
  assert.deepEqual(await violations(page), []);
  await ctx.close();
});

test('the coordinator list and map (with tiles) run under the policy', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', serviceWorkers: 'block' });
  await recordViolations(ctx);
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/`);
  await login(page, 'coord-cora');
  await page.goto(`${server.origin}/#/coord/list`);
  await page.getByText('Losse stoeptegel').first().waitFor();
  await page.goto(`${server.origin}/#/coord/map`);
  await page.locator('[data-testid="map-count"][data-state="ready"]').waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('img.leaflet-tile')].map((i) => /** @type {HTMLImageElement} */ (i)).some((i) => i.complete && i.naturalWidth === 256), null, { timeout: 30_000 });
  assert.ok(tileRequests > 0, 'tiles were requested from the configured origin');
  assert.deepEqual(await violations(page), []);
  // The recorder does see a violation: an injected inline script is one.
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__injected = true';
    document.body.append(s);
  });
  await page.waitForFunction(() => window.__cspViolations.length === 1);
  assert.equal(await page.evaluate(() => window.__injected ?? false), false, 'the inline script did not run');
  await ctx.close();
});
