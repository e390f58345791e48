// Benchmark of the coordinator area at volume: a real `wijklog serve` is
// seeded over the sync protocol (the wasm document model in node, the `ws`
// client of tests/node) with WALKS walks of PER_WALK observations each, then a
// coordinator in headless Chromium (1280x800, every non-loopback request
// aborted, so no map tiles) times the screens. Prints a table; asserts nothing
// about time.
//
//   WALKS=20 PER_WALK=100 RUNS=5 node tests/e2e/bench-coordinator.mjs
//
// Needs: make wasm, make pwa, cargo build -p wijklog-server, npm ci in
// tests/e2e and tests/node.

import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { Server, PASSWORD, launchBrowser, login, openEditors } from './helpers.mjs';
import { WijkDoc, SyncState } from '../node/wasm.mjs';

const WebSocket = createRequire(new URL('../node/package.json', import.meta.url))('ws');
const WALKS = Number(process.env.WALKS ?? 20);
const PER_WALK = Number(process.env.PER_WALK ?? 100);
const RUNS = Number(process.env.RUNS ?? 5);

const CATEGORIES = ['jeugdoverlast', 'drugs', 'vervuiling', 'vernieling', 'verkeer', 'openbare_ruimte', 'positief_signaal'];
const SEVERITIES = ['informatief', 'aandacht', 'zorgelijk'];
const WORDS = ['fiets', 'scooter', 'container', 'portiek', 'speeltuin', 'lantaarnpaal', 'hangplek', 'winkelcentrum', 'parkeerplaats', 'bushalte'];

function uuidBytes(id) {
  return Buffer.from(id.replaceAll('-', ''), 'hex');
}

/** Build the walks with the typed wasm edits and sync each until the server acks its heads. */
async function seed(server) {
  const res = await fetch(`${server.origin}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'seed-boa', password: PASSWORD }),
  });
  const { access_token: token, user } = await res.json();
  const catalog = WijkDoc.newCatalog(randomUUID());
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/v1/sync`);
  const inbox = [];
  let wake = () => {};
  ws.on('message', (data, isBinary) => {
    inbox.push(isBinary ? { bin: Buffer.from(data) } : { json: JSON.parse(data.toString()) });
    wake();
  });
  await new Promise((r) => ws.on('open', r));
  const next = async () => {
    while (inbox.length === 0) await new Promise((r) => ((wake = () => r(undefined)), setTimeout(r, 200)));
    return inbox.shift();
  };
  ws.send(JSON.stringify({ type: 'auth', token }));
  if ((await next()).json?.type !== 'ready') throw new Error('no ready');
  let n = 0;
  const t0 = performance.now();
  for (let w = 0; w < WALKS; w++) {
    const id = randomUUID();
    const doc = WijkDoc.newWalk(id, catalog, user.id, { title: `Bench-wandeling ${w + 1}`, wijk: 'oostermeent', team: 'team-oost' });
    for (let i = 0; i < PER_WALK; i++, n++) {
      doc.addObservation(catalog, {
        category: CATEGORIES[n % CATEGORIES.length],
        severity: SEVERITIES[n % SEVERITIES.length],
        text: `Waarneming ${n}: ${WORDS[n % WORDS.length]} bij ${WORDS[(n * 7) % WORDS.length]}`,
        location: { lat: 52.28 + ((n * 37) % 400) / 10000, lon: 5.22 + ((n * 53) % 500) / 10000, accuracy_m: 10 },
      });
    }
    const state = new SyncState();
    const send = () => {
      for (;;) {
        const msg = doc.generateSyncMessage(state);
        if (!msg) break;
        ws.send(Buffer.concat([uuidBytes(id), Buffer.from(msg)]));
      }
    };
    send();
    const heads = doc.heads().slice().sort().join();
    for (;;) {
      const m = await next();
      if (m.bin && m.bin.subarray(0, 16).equals(uuidBytes(id))) {
        doc.receiveSyncMessage(state, new Uint8Array(m.bin.subarray(16)));
        send();
      } else if (m.json?.type === 'ack' && m.json.doc === id && [...m.json.heads].sort().join() === heads) break;
      else if (m.json?.type === 'error') throw new Error(`server error ${m.json.code}`);
    }
    doc.free();
  }
  ws.close();
  return { items: n, ms: performance.now() - t0 };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, min: s[0], p50: q(0.5), max: s[s.length - 1] };
}

const server = await Server.start();
const browser = await launchBrowser();
try {
  await server.addUser('seed-boa', { roles: ['boa'], team: 'team-oost', name: 'Seed' });
  await server.addUser('bench-coord', { roles: ['coordinator'], team: null, name: 'Bench' });
  const seeded = await seed(server);
  console.log(`seeded ${seeded.items} observations in ${WALKS} walks over sync in ${(seeded.ms / 1000).toFixed(1)} s`);

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  await ctx.route('**/*', (r) => (['127.0.0.1', 'localhost'].includes(new URL(r.request().url()).hostname) ? r.continue() : r.abort()));
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/`);
  const tLogin = performance.now();
  await login(page, 'bench-coord');
  const loginMs = performance.now() - tLogin;

  const rows = {};
  const time = async (name, f) => {
    const t = performance.now();
    await f();
    (rows[name] ??= []).push(performance.now() - t);
  };
  const listReady = (q, n) =>
    page.waitForFunction(
      ([q, n]) => {
        /** @type {HTMLElement | null} */
        const c = document.querySelector('[data-testid="list-count"]');
        return c && c.dataset.state === 'ready' && c.dataset.query === q && document.querySelectorAll('[data-testid="coord-row"]').length >= n;
      },
      [q, n],
      { timeout: 60_000 },
    );

  // Right after login: open the newest item, "Bewerken", and wait until its document is on the device (follow-up editor shown).
  await page.goto(`${server.origin}/#/coord/list`);
  await listReady('', 50);
  await time('detail right after login: editor ready (document synced)', async () => {
    await page.getByTestId('row-link').first().click();
    await openEditors(page);
  });

  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${server.origin}/#/coord/overview`);
    await page.goto(`${server.origin}/#/coord/list?n=25`);
    await listReady('n=25', 25);
    await time('list: first page of 50 shown', async () => {
      await page.goto(`${server.origin}/#/coord/list`);
      await listReady('', Math.min(50, seeded.items));
    });
    await time('list: "Meer laden" (+50)', async () => {
      await page.getByTestId('load-more').click();
      await listReady('', Math.min(100, seeded.items));
    });
    await time('list: category=verkeer (hash)', async () => {
      await page.goto(`${server.origin}/#/coord/list?category=verkeer`);
      await listReady('category=verkeer', 1);
    });
    await time('list: full text q=lantaarnp (hash)', async () => {
      await page.goto(`${server.origin}/#/coord/list?q=lantaarnp`);
      await listReady('q=lantaarnp', 1);
    });
    await time(`map: all ${seeded.items} markers drawn`, async () => {
      await page.goto(`${server.origin}/#/coord/map`);
      await page.waitForFunction((n) => document.querySelectorAll('path.coord-marker').length === n, seeded.items, { timeout: 120_000 });
    });
    await time('overview: stats shown', async () => {
      await page.goto(`${server.origin}/#/coord/overview?from=2020-01-01&to=2099-12-31`);
      await page.locator('[data-testid="by-category"] tbody tr[data-id]').first().waitFor();
    });
    await page.goto(`${server.origin}/#/coord/list`);
    await listReady('', Math.min(50, seeded.items));
    const t = performance.now();
    await page.getByTestId('row-link').nth(i + 1).click();
    await time('detail: text shown (GET item)', () => page.getByTestId('detail-text').waitFor());
    await openEditors(page);
    (rows['detail: "Bewerken" until the follow-up editor is ready (document fetched)'] ??= []).push(performance.now() - t);
    await page.getByTestId('history-entry').first().waitFor({ timeout: 60_000 });
    (rows['detail: history shown (GET history)'] ??= []).push(performance.now() - t);
    await page.goto(`${server.origin}/#/coord/overview`);
  }

  console.log(`\nCoordinator area, ${seeded.items} observations in ${WALKS} walks, ${RUNS} runs (ms, wall clock seen from the test driver; login incl. first sync start: ${Math.round(loginMs)} ms)\n`);
  console.log('| step | n | min | p50 | max |');
  console.log('|---|--:|--:|--:|--:|');
  for (const [name, xs] of Object.entries(rows)) {
    const s = stats(xs);
    console.log(`| ${name} | ${s.n} | ${s.min.toFixed(0)} | ${s.p50.toFixed(0)} | ${s.max.toFixed(0)} |`);
  }
  await ctx.close();
} finally {
  await browser.close();
  await server.dispose();
}
