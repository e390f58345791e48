// Photos (the phone's half), against a real server and headless Chromium:
// - a photo with an EXIF GPS block, picked through the file input while offline,
//   blurred with the redaction tool, saved; visible at once from the local copy,
//   also after a reload; after reconnecting the coordinator downloads exactly the
//   bytes the phone hashed: no APP1/EXIF, longest side 1600, the blurred region
//   destroyed while the rest matches the original;
// - the server is SIGKILLed while a large photo is being uploaded (upload
//   throttled to 96 KiB/s with CDP network emulation; the kill comes once the
//   phone's proxy has forwarded 128 KiB of the body, so the server is
//   mid-body), restarted on the same data dir and port: the phone retries and the
//   server ends with exactly one correct file for that photo;
// - photos added to an existing observation (edit; the area dragged with touch
//   events) and to a spreekuur note;
// - an IndexedDB database of schema version 1 is upgraded in place to version 2;
// - an upload the server refuses (server configured with a 1,000,000-byte limit,
//   photo about 1.4 MB) shows the reason in Dutch and keeps the photo, also
//   across a reload and a logout attempt, until the user discards it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  Server, Proxy, launchBrowser, loggedInPhone, createWalk, waitAllSent, axeSerious, restLogin, screenshot,
} from './helpers.mjs';
import { makeTestJpegInPage, compareRegionsInPage, hasApp1, jpegSize } from './photo-fixtures.mjs';

const MAX_BYTES = 1_000_000;

let server;
let browser;
let proxy;
let ctx;
let page;

before(async () => {
  server = await Server.start({ env: { WIJKLOG_BLOBS_MAX_BYTES: String(MAX_BYTES) } });
  await server.addUser('boa-anna', { roles: ['boa', 'spreekuur'], team: 'team-oost', name: 'Anna' });
  await server.addUser('coord-carla', { roles: ['coordinator'], team: null, name: 'Carla' });
  browser = await launchBrowser();
  proxy = await Proxy.start(server.port);
  ({ ctx, page } = await loggedInPhone(browser, proxy.origin, 'boa-anna'));
  await createWalk(page, 'Wandeling met foto');
  await waitAllSent(page);
});

after(async () => {
  await ctx?.close();
  await proxy?.close();
  await browser?.close();
  await server?.dispose();
});

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

async function makeJpeg(opts) {
  return Buffer.from(await page.evaluate(makeTestJpegInPage, opts), 'base64');
}

/** Open quick entry, pick a category, choose `jpeg` through the file input; the redactor opens. */
async function startEntryWithPhoto(jpeg) {
  await page.getByTestId('add-observation').click();
  await page.getByRole('heading', { name: 'Nieuwe waarneming' }).waitFor();
  await page.locator('[data-category="vervuiling"]').click();
  await page.getByTestId('photo-input-pick').setInputFiles({ name: 'IMG_0001.jpg', mimeType: 'image/jpeg', buffer: jpeg });
  await page.getByTestId('redactor').waitFor();
}

/** Save the redaction, then the observation; resolves with the photo's sha once "opgeslagen". */
async function saveEntry() {
  await page.getByTestId('redact-save').click();
  const sha = await page.getByTestId('new-photo').getAttribute('data-sha');
  await page.getByTestId('entry-save').click();
  await page.getByTestId('save-state').filter({ hasText: 'opgeslagen' }).waitFor();
  await page.locator(`[data-testid="photo"][data-sha="${sha}"]`).waitFor();
  return sha;
}

/** Every blob file the server holds: [{name (sha hex), bytes}], temp files separately. */
async function blobFiles() {
  const root = path.join(server.dataDir, 'blobs');
  const files = [];
  const temps = [];
  for (const dir of await readdir(root).catch(() => [])) {
    for (const f of await readdir(path.join(root, dir)).catch(() => [])) {
      if (f.startsWith('.tmp-')) temps.push(f);
      else files.push({ name: dir + f, bytes: await readFile(path.join(root, dir, f)) });
    }
  }
  return { files, temps };
}

async function thumbLoaded(sha) {
  return page.locator(`[data-testid="photo"][data-sha="${sha}"] img`).evaluate((img) => img.complete && img.naturalWidth > 0);
}

test('a photo taken offline is blurred, stripped and downscaled on the phone; the coordinator gets exactly those bytes', async () => {
  // 2400x1800 mosaic of 24 px blocks, with an EXIF GPS block.
  const original = await makeJpeg({ width: 2400, height: 1800, seed: 7, block: 24, quality: 0.92, exif: true });
  assert.ok(hasApp1(original), 'the test photo carries an APP1 Exif segment');
  assert.ok(original.includes(Buffer.from('Exif\0\0')), 'the test photo carries Exif');

  proxy.cut();
  await ctx.setOffline(true);
  await startEntryWithPhoto(original);

  // Drag a rectangle over the region x,y in [0.1, 0.4] (touch works the same way: pointer events).
  const canvas = page.getByTestId('redact-canvas');
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + 0.1 * box.width, box.y + 0.1 * box.height);
  await page.mouse.down();
  await page.mouse.move(box.x + 0.25 * box.width, box.y + 0.25 * box.height, { steps: 4 });
  await page.mouse.move(box.x + 0.4 * box.width, box.y + 0.4 * box.height, { steps: 4 });
  await page.mouse.up();
  await page.locator('[data-testid="redact-count"][data-count="1"]').waitFor();
  // Keyboard alternative: add an area, then remove it again with Delete.
  await page.getByRole('button', { name: 'Vlak toevoegen' }).click();
  await page.locator('[data-testid="redact-count"][data-count="2"]').waitFor();
  await canvas.press('Delete');
  await page.locator('[data-testid="redact-count"][data-count="1"]').waitFor();
  const violations = await axeSerious(page);
  assert.deepEqual(violations, [], `axe on the redaction screen: ${JSON.stringify(violations)}`);
  await screenshot(page, 'photo-redact');

  const sha = await saveEntry();
  assert.match(sha, /^[0-9a-f]{64}$/);
  // Offline: shown from the encrypted local copy, counted as waiting.
  const photo = page.locator(`[data-testid="photo"][data-sha="${sha}"]`);
  assert.equal(await photo.getAttribute('data-state'), 'waiting');
  await page.waitForFunction((s) => {
    /** @type {HTMLImageElement | null} */
    const img = document.querySelector(`[data-testid="photo"][data-sha="${s}"] img`);
    return img && img.complete && img.naturalWidth > 0;
  }, sha);
  assert.match(await page.getByTestId('sync-indicator').textContent(), /1 foto wacht/);

  // The outbox is durable: a reload (still offline) shows the same.
  await page.reload();
  await photo.waitFor();
  await page.getByTestId('sync-indicator').filter({ hasText: '1 foto wacht' }).waitFor();
  await page.waitForFunction((s) => {
    /** @type {HTMLImageElement | null} */
    const img = document.querySelector(`[data-testid="photo"][data-sha="${s}"] img`);
    return img && img.complete && img.naturalWidth > 0;
  }, sha);

  proxy.restore();
  await ctx.setOffline(false);
  await waitAllSent(page, 60_000);
  assert.equal(await photo.getAttribute('data-state'), 'sent');
  assert.ok(await thumbLoaded(sha));
  // Sent, so no longer in the outbox: the full-size view comes from GET /api/v1/blobs/{sha} with the token.
  const full = page.waitForResponse((r) => r.url().endsWith(`/api/v1/blobs/${sha}`) && r.request().method() === 'GET');
  await photo.getByTestId('photo-open').click();
  assert.equal((await full).status(), 200);
  await page.waitForFunction(() => {
    /** @type {HTMLImageElement | null} */
    const img = document.querySelector('[data-testid="photo-full"]');
    return img && img.complete && img.naturalWidth === 1600;
  });
  assert.deepEqual(await axeSerious(page), []);
  await page.getByTestId('photo-viewer').getByRole('button', { name: 'Sluiten' }).click();

  // The coordinator downloads it.
  const token = await restLogin(server.origin, 'coord-carla');
  const res = await fetch(`${server.origin}/api/v1/blobs/${sha}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const stored = Buffer.from(await res.arrayBuffer());
  assert.equal(sha256(stored), sha, 'the server holds exactly the bytes the phone hashed');
  assert.equal(hasApp1(stored), false, 'no APP1/EXIF segment in the stored photo');
  assert.equal(stored.includes(Buffer.from('Exif')), false);
  assert.deepEqual(jpegSize(stored), { width: 1600, height: 1200 });

  const [blurred, clear] = await page.evaluate(compareRegionsInPage, {
    a: original.toString('base64'),
    b: stored.toString('base64'),
    width: 1600,
    height: 1200,
    regions: [
      { x: 0.13, y: 0.13, w: 0.24, h: 0.24 }, // inside the redacted rectangle
      { x: 0.55, y: 0.55, w: 0.35, h: 0.35 }, // untouched
    ],
  });
  assert.ok(blurred > 35, `redacted region differs strongly from the original (mean abs diff ${blurred.toFixed(1)})`);
  assert.ok(clear < 12, `untouched region stays close to the original (mean abs diff ${clear.toFixed(1)})`);
});

test('the server is killed in the middle of an upload: the phone retries and the server ends with one correct blob', async () => {
  // A noisy photo (about 700 KB after processing), uploaded at 96 KiB/s.
  const big = await makeJpeg({ width: 3000, height: 2250, seed: 11, block: 8, noise: 30, quality: 0.92 });
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 96 * 1024 });
  const put = page.waitForRequest((r) => r.method() === 'PUT' && r.url().includes('/api/v1/blobs/'), { timeout: 60_000 });
  await startEntryWithPhoto(big);
  const sha = await saveEntry();
  const req = await put;
  assert.ok(req.url().endsWith(sha));
  // Wait until at least 128 KiB of the body went through the phone's proxy to the
  // server (at 96 KiB/s the whole photo needs several seconds), then crash the server.
  const sentBefore = proxy.bytesUp;
  const deadline = Date.now() + 30_000;
  while (proxy.bytesUp - sentBefore < 128 * 1024) {
    assert.ok(Date.now() < deadline, 'the upload did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  await server.kill();
  const afterKill = await blobFiles();
  assert.equal(afterKill.files.some((f) => f.name === sha), false, 'the upload was still in flight when the server died');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  assert.equal(await page.locator(`[data-testid="photo"][data-sha="${sha}"]`).getAttribute('data-state').then((s) => s !== 'sent'), true);

  await server.boot(); // same data dir, same port
  await waitAllSent(page, 90_000);
  const { files, temps } = await blobFiles();
  const mine = files.filter((f) => f.name === sha);
  assert.equal(mine.length, 1, 'exactly one file for the photo');
  assert.equal(sha256(mine[0].bytes), sha, 'and it holds the right bytes');
  assert.equal(files.length, 2, 'the two photos of this walk, nothing else');
  assert.deepEqual(temps, []);
  await cdp.detach();
});

test('a photo the server refuses shows the reason in Dutch and stays on the phone until the user discards it', async () => {
  // Fine noise: about 1.4 MB after processing, above the server's 1,000,000-byte limit.
  const huge = await makeJpeg({ width: 2000, height: 1500, seed: 13, block: 2, noise: 80, quality: 0.95 });
  await startEntryWithPhoto(huge);
  const sha = await saveEntry();
  const refused = page.locator(`[data-testid="photo"][data-sha="${sha}"] [data-testid="photo-refused"]`);
  await refused.waitFor({ timeout: 60_000 });
  assert.equal(await refused.getAttribute('data-code'), 'too_large');
  assert.equal(await refused.textContent(), 'De server heeft deze foto geweigerd: de foto is groter dan de server toestaat.');
  // The observation itself travels on the sync connection, the photo over
  // REST: the refusal can come back before the observation's ack, so wait
  // until only the refused photo is left waiting.
  const indicator = page.getByTestId('sync-indicator');
  await indicator.filter({ hasText: /^1 foto wacht$/ }).waitFor({ timeout: 60_000 });

  // Kept across a reload, and counted as unsent work at logout.
  await page.reload();
  await refused.waitFor();
  await page.getByTestId('logout').click();
  const warning = page.getByTestId('logout-warning');
  await warning.waitFor();
  assert.match(await warning.textContent(), /Ook 1 foto is nog niet verstuurd en gaat verloren/);
  await warning.getByRole('button', { name: 'Annuleren' }).click();

  // Retrying is refused again (the limit did not change); the photo stays.
  const again = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith(sha));
  await page.locator(`[data-testid="photo"][data-sha="${sha}"] [data-testid="photo-retry"]`).click();
  assert.equal((await again).status(), 413);
  await refused.waitFor();
  assert.equal(await indicator.textContent(), '1 foto wacht');

  page.once('dialog', (d) => void d.accept());
  await page.locator(`[data-testid="photo"][data-sha="${sha}"] [data-testid="photo-discard"]`).click();
  await waitAllSent(page);
  const stored = await blobFiles();
  assert.equal(stored.files.some((f) => f.name === sha), false, 'the refused photo never reached the server');
});

test('a photo can be added to an existing observation and to a spreekuur note', async () => {
  const small = await makeJpeg({ width: 800, height: 600, seed: 21, block: 24 });
  // Existing observation: Bewerken -> Foto kiezen -> redaction -> saved at once.
  const item = page.getByTestId('item').first();
  const before = await item.getByTestId('photo').count();
  await item.getByTestId('edit').click();
  await item.getByTestId('photo-input-pick').setInputFiles({ name: 'a.jpg', mimeType: 'image/jpeg', buffer: small });
  // A finger drag (real touch events through CDP; the phone context has touch).
  const box = await page.getByTestId('redact-canvas').boundingBox();
  const at = (fx, fy) => [{ x: box.x + fx * box.width, y: box.y + fy * box.height }];
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(0.2, 0.2) });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(0.4, 0.4) });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(0.6, 0.5) });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
  await page.locator('[data-testid="redact-count"][data-count="1"]').waitFor();
  await page.getByTestId('redact-save').click();
  await page.getByTestId('redactor').waitFor({ state: 'detached' });
  await page.waitForFunction(([id, n]) => document.querySelectorAll(`[data-item-id="${id}"] [data-testid="photo"]`).length === n, [await item.getAttribute('data-item-id'), before + 1]);

  // Spreekuur note.
  await page.goto(`${proxy.origin}/#/`);
  await page.getByRole('link', { name: 'Nieuw spreekuur' }).click();
  await page.getByLabel('Locatie (buurthuis)').fill('Buurthuis de Roef');
  await page.getByLabel('Wijk').selectOption({ index: 1 });
  await page.getByRole('button', { name: 'Aanmaken' }).click();
  await page.getByRole('heading', { name: /Buurthuis de Roef/ }).waitFor();
  await page.locator('form [data-category="vervuiling"]').click();
  await page.getByTestId('note-text').fill('Bewoner toont foto van gedumpt afval');
  await page.getByTestId('photo-input-take').setInputFiles({ name: 'b.jpg', mimeType: 'image/jpeg', buffer: await makeJpeg({ width: 640, height: 480, seed: 22 }) });
  await page.getByTestId('redact-save').click();
  const sha = await page.getByTestId('new-photo').getAttribute('data-sha');
  await page.getByTestId('note-save').click();
  await page.locator(`[data-testid="item"] [data-testid="photo"][data-sha="${sha}"]`).waitFor();
  await waitAllSent(page, 60_000);
  const token = await restLogin(server.origin, 'coord-carla');
  const res = await fetch(`${server.origin}/api/v1/blobs/${sha}/thumb`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, 'the note\'s photo reached the server and is visible to the coordinator');
});

test('a version-1 database of the previous app version is upgraded in place to version 2', async () => {
  const c = await browser.newContext();
  try {
    const p = await c.newPage();
    await p.goto(`${server.origin}/`);
    await p.getByRole('heading', { name: 'Inloggen' }).waitFor();
    // The schema of version 1, as the previous release created it, with a device key and a marker.
    await p.evaluate(async () => {
      const db = await new Promise((res, rej) => {
        const r = indexedDB.open('wijklog', 1);
        r.onupgradeneeded = () => {
          const d = r.result;
          d.createObjectStore('keys');
          d.createObjectStore('docs', { keyPath: 'id' });
          d.createObjectStore('changes', { autoIncrement: true }).createIndex('byDoc', 'docId');
          d.createObjectStore('sync');
          d.createObjectStore('meta');
        };
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      await new Promise((res, rej) => {
        const tx = db.transaction('keys', 'readwrite');
        tx.objectStore('keys').put(key, 'main');
        tx.objectStore('keys').put('from-v1', 'marker');
        tx.oncomplete = res;
        tx.onerror = () => rej(tx.error);
      });
      db.close();
    });
    await p.reload();
    await p.getByRole('heading', { name: 'Inloggen' }).waitFor();
    const after = await p.evaluate(async () => {
      const db = await new Promise((res, rej) => {
        const r = indexedDB.open('wijklog');
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      const get = (k) =>
        new Promise((res) => {
          const r = db.transaction('keys').objectStore('keys').get(k);
          r.onsuccess = () => res(r.result);
        });
      const out = { version: db.version, stores: [...db.objectStoreNames].sort(), marker: await get('marker'), key: (await get('main'))?.algorithm?.name };
      db.close();
      return out;
    });
    assert.deepEqual(after, {
      version: 2,
      stores: ['changes', 'docs', 'keys', 'meta', 'photoInfo', 'photos', 'sync'],
      marker: 'from-v1',
      key: 'AES-GCM',
    });
  } finally {
    await c.close();
  }
});
