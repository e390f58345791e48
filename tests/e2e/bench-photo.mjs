// Benchmark (not a test): photo processing on the device, in the real field
// app in headless Chromium against a real wijklog server. A typical phone
// photo — 4032x3024 JPEG (quality 0.9) of a fine mosaic with per-pixel noise,
// generated in the page (tests/e2e/photo-fixtures.mjs), 3-4 MB like a real
// 12 MP photo — goes through the file input of quick entry, then "Foto
// opslaan" with one redacted rectangle. Measured in the page with
// performance.now():
//   decode  = file input 'change' -> the redaction screen is shown (decode with
//             EXIF orientation, first preview draw);
//   process = tap on "Foto opslaan" -> the new photo is listed (pixelation,
//             downscale to 1600 px, JPEG encode, SHA-256).
// Prints sizes before/after and the times (min/p50/max over BENCH_PHOTO_N runs).
// Run: WIJKLOG_BIN=target/release/wijklog node tests/e2e/bench-photo.mjs
// (needs pwa/dist built; CHROMIUM overrides /usr/bin/chromium).

import { Server, launchBrowser, newPhone, openApp, login, createWalk } from './helpers.mjs';
import { makeTestJpegInPage } from './photo-fixtures.mjs';

const N = Number(process.env.BENCH_PHOTO_N || 5);

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], p50: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
}

const server = await Server.start();
let browser;
try {
  await server.addUser('boa-bench', { roles: ['boa'], team: 'team-oost', name: 'Bench' });
  browser = await launchBrowser();
  const ctx = await newPhone(browser, { origin: server.origin });
  const page = await ctx.newPage();
  await openApp(page, server.origin);
  await login(page, 'boa-bench');
  await createWalk(page, 'Fotobenchmark');
  await page.getByTestId('add-observation').click();
  await page.locator('[data-category]').first().click();
  await page.evaluate(() => {
    window.__t = {};
    document.addEventListener('change', (e) => {
      if (e.target instanceof HTMLInputElement && e.target.type === 'file') window.__t.change = performance.now();
    }, { capture: true });
    document.addEventListener('click', (e) => {
      if (e.target instanceof Element && e.target.closest('[data-testid="redact-save"]')) window.__t.save = performance.now();
    }, { capture: true });
    new MutationObserver(() => {
      const t = window.__t;
      if (t.change && !t.shown && document.querySelector('[data-testid="redactor"]')) t.shown = performance.now();
      if (t.save && !t.done && document.querySelectorAll('[data-testid="new-photo"]').length > t.count) t.done = performance.now();
    }).observe(document.body, { subtree: true, childList: true });
  });

  const rows = [];
  for (let i = 0; i < N; i++) {
    const jpeg = Buffer.from(
      await page.evaluate(makeTestJpegInPage, { width: 4032, height: 3024, seed: 100 + i, block: 14, noise: 6, quality: 0.9, exif: true }),
      'base64',
    );
    const count = await page.getByTestId('new-photo').count();
    await page.evaluate((c) => (window.__t = { count: c }), count);
    await page.getByTestId('photo-input-pick').setInputFiles({ name: `IMG_${i}.jpg`, mimeType: 'image/jpeg', buffer: jpeg });
    const canvas = page.getByTestId('redact-canvas');
    await canvas.waitFor();
    const box = await canvas.boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.45, { steps: 3 });
    await page.mouse.up();
    await page.getByTestId('redact-save').click();
    await page.waitForFunction(() => !!window.__t.done, null, { timeout: 60_000 });
    const t = await page.evaluate(() => window.__t);
    const el = page.getByTestId('new-photo').nth(count);
    rows.push({
      before: jpeg.length,
      after: Number(await el.getAttribute('data-size')),
      out: `${await el.getAttribute('data-width')}x${await el.getAttribute('data-height')}`,
      decode: t.shown - t.change,
      process: t.done - t.save,
    });
  }

  const pad = (s, n) => String(s).padStart(n);
  console.log(`Photo processing on the device (headless Chromium ${browser.version()}, ${N} runs, input 4032x3024 JPEG q0.9 with Exif)`);
  console.log('');
  console.log('| run | input bytes | output | output bytes | decode (ms) | process (ms) |');
  console.log('|----:|------------:|--------|-------------:|------------:|-------------:|');
  rows.forEach((r, i) => console.log(`| ${pad(i + 1, 3)} | ${pad(r.before.toLocaleString('en'), 11)} | ${r.out} | ${pad(r.after.toLocaleString('en'), 12)} | ${pad(r.decode.toFixed(1), 11)} | ${pad(r.process.toFixed(1), 12)} |`));
  const sb = stats(rows.map((r) => r.before));
  const sa = stats(rows.map((r) => r.after));
  const sd = stats(rows.map((r) => r.decode));
  const sp = stats(rows.map((r) => r.process));
  console.log('');
  console.log('|      | input bytes | output bytes | decode (ms) | process (ms) |');
  console.log('|------|------------:|-------------:|------------:|-------------:|');
  for (const k of ['min', 'p50', 'max']) {
    console.log(`| ${k.padEnd(4)} | ${pad(sb[k].toLocaleString('en'), 11)} | ${pad(sa[k].toLocaleString('en'), 12)} | ${pad(sd[k].toFixed(1), 11)} | ${pad(sp[k].toFixed(1), 12)} |`);
  }
  await ctx.close();
} finally {
  await browser?.close();
  await server.dispose();
}
