// Benchmark (not a test): the field app in real headless Chromium against a
// real wijklog server. Prints two tables:
//  1. time from the tap on "Opslaan" in quick entry to the UI saying
//     "opgeslagen" (the change is committed to IndexedDB by then), online and
//     offline, N observations each;
//  2. bytes transferred on the first load (app shell + service-worker
//     precache) and on a repeat load, as sent by the server and gzipped.
// Run: WIJKLOG_BIN=target/release/wijklog node tests/e2e/bench-tap-to-saved.mjs
// (needs pwa/dist built; CHROMIUM overrides /usr/bin/chromium; BENCH_N sets N).

import { gzipSync } from 'node:zlib';
import { Server, Proxy, launchBrowser, newPhone, openApp, login, createWalk, waitAllSent } from './helpers.mjs';

const N = Number(process.env.BENCH_N || 20);

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, min: s[0], p50: q(0.5), p95: q(0.95), max: s[s.length - 1] };
}

async function tapToSaved(page, n) {
  await page.evaluate(() => {
    window.__tap = null;
    window.__saved = null;
    document.addEventListener(
      'click',
      (e) => {
        if (e.target instanceof Element && e.target.closest('[data-testid="entry-save"]')) {
          window.__tap = performance.now();
          window.__before = document.querySelector('[data-testid="save-state"]')?.getAttribute('data-at') ?? '';
        }
      },
      { capture: true },
    );
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid="save-state"]');
      // A new "saved" state (its timestamp differs from the one before the tap) that reads "opgeslagen".
      if (window.__tap !== null && window.__saved === null && el?.getAttribute('data-state') === 'saved' && el.getAttribute('data-at') !== window.__before && el.textContent.includes('opgeslagen'))
        window.__saved = performance.now();
    }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
  const times = [];
  for (let i = 0; i < n; i++) {
    await page.getByTestId('add-observation').click();
    await page.locator('[data-category]').nth(i % 5).click();
    await page.evaluate(() => {
      window.__tap = null;
      window.__saved = null;
    });
    await page.getByTestId('entry-save').click();
    await page.waitForFunction(() => window.__saved !== null, null, { timeout: 10_000 });
    times.push(await page.evaluate(() => window.__saved - window.__tap));
    await page.getByTestId('items').waitFor();
  }
  return times;
}

/** Sum what the network delivered for one load, including the service worker's own fetches. */
async function measureLoad(ctx, action) {
  const seen = [];
  const onFinished = async (req) => {
    const resp = await req.response().catch(() => null);
    if (!resp || resp.fromServiceWorker()) return;
    if (req.url().includes('/api/')) return;
    const body = await resp.body().catch(() => Buffer.alloc(0));
    const enc = (await resp.allHeaders().catch(() => ({})))['content-encoding'] ?? 'identity';
    seen.push({ url: req.url(), enc, raw: body.length, gz: body.length ? gzipSync(body).length : 0 });
  };
  ctx.on('requestfinished', onFinished);
  await action();
  await new Promise((r) => setTimeout(r, 1500));
  ctx.off('requestfinished', onFinished);
  // The worker may fetch a URL the page fetched too; count each URL once per load.
  const byUrl = new Map();
  for (const s of seen) byUrl.set(s.url, s);
  const all = [...byUrl.values()];
  return {
    requests: all.length,
    encodings: [...new Set(all.map((s) => s.enc))].join(',') || '-',
    raw: all.reduce((n, s) => n + s.raw, 0),
    gz: all.reduce((n, s) => n + s.gz, 0),
  };
}

const kb = (b) => (b / 1024).toFixed(1);

const server = await Server.start();
const browser = await launchBrowser();
try {
  await server.addUser('bench-boa', { roles: ['boa'], team: 'team-oost', name: 'Bench' });

  // Transfer sizes: a fresh profile, first visit, then a repeat visit.
  const sizeCtx = await newPhone(browser, { origin: server.origin });
  const sizePage = await sizeCtx.newPage();
  const first = await measureLoad(sizeCtx, async () => {
    await openApp(sizePage, server.origin);
    await sizePage.evaluate(() => navigator.serviceWorker.ready);
  });
  const repeat = await measureLoad(sizeCtx, async () => {
    await sizePage.reload();
    await sizePage.getByRole('heading', { level: 1 }).waitFor();
  });
  await sizeCtx.close();

  // Tap to saved.
  const proxy = await Proxy.start(server.port);
  const ctx = await newPhone(browser, { origin: proxy.origin });
  const page = await ctx.newPage();
  await openApp(page, proxy.origin);
  await login(page, 'bench-boa');
  await createWalk(page, 'Benchmarkronde');
  await waitAllSent(page);
  const online = await tapToSaved(page, N);
  proxy.cut();
  const offline = await tapToSaved(page, N);
  proxy.restore();
  await waitAllSent(page, 120_000);
  await ctx.close();
  await proxy.close();

  console.log('\nTap on "Opslaan" to "opgeslagen" (ms; one observation, committed to IndexedDB)');
  console.log('| mode    |  n |   min |   p50 |   p95 |   max |');
  console.log('|---------|---:|------:|------:|------:|------:|');
  for (const [mode, xs] of /** @type {[string, number[]][]} */ ([['online', online], ['offline', offline]])) {
    const s = stats(xs);
    console.log(`| ${mode.padEnd(7)} | ${String(s.n).padStart(2)} | ${s.min.toFixed(1).padStart(5)} | ${s.p50.toFixed(1).padStart(5)} | ${s.p95.toFixed(1).padStart(5)} | ${s.max.toFixed(1).padStart(5)} |`);
  }
  console.log('\nTransfer size over the network (static assets incl. service-worker precache; API and sync excluded;');
  console.log('gzipped = the same bodies gzipped at level 6, what a gzip-serving server or proxy sends)');
  console.log('| load        | requests | server encoding | uncompressed (KiB) | gzipped (KiB) |');
  console.log('|-------------|---------:|-----------------|-------------------:|--------------:|');
  for (const [name, m] of /** @type {[string, typeof first][]} */ ([['first load', first], ['repeat load', repeat]])) {
    console.log(`| ${name.padEnd(11)} | ${String(m.requests).padStart(8)} | ${m.encodings.padEnd(15)} | ${kb(m.raw).padStart(18)} | ${kb(m.gz).padStart(13)} |`);
  }
} finally {
  await browser.close();
  await server.dispose();
}
