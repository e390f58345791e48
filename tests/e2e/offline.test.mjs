// Offline-first behaviour in a real browser against a real server:
// cold start without network, crash safety, and encryption at rest.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  Server, Proxy, CrashableBrowser, launchBrowser, loggedInPhone, openApp, login, createWalk, addObservation,
  waitAllSent, itemTexts, dumpIndexedDb, tempDir, rm,
} from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await Server.start();
  await server.addUser('boa-anna', { roles: ['boa'], team: 'team-oost', name: 'Anna' });
  await server.addUser('coord-carla', { roles: ['coordinator'], team: null, name: 'Carla' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

test('cold start offline: after one visit the app starts with network and server gone and shows the stored walks', async () => {
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'boa-anna');
  await createWalk(page, 'Avondronde Oostermeent');
  await addObservation(page, { text: 'Groep jongeren bij winkelcentrum Oostermeent' });
  await waitAllSent(page);

  await ctx.setOffline(true);
  await server.stop();

  // Reload, then a true cold start: a fresh page in the same profile.
  await page.reload();
  await page.getByRole('heading', { name: 'Avondronde Oostermeent', level: 1 }).waitFor();
  assert.deepEqual(await itemTexts(page), ['Groep jongeren bij winkelcentrum Oostermeent']);
  await page.close();
  const cold = await ctx.newPage();
  await cold.goto(`${server.origin}/`);
  await cold.getByRole('heading', { name: 'Overzicht', level: 1 }).waitFor();
  const links = await cold.getByTestId('doc-link').allTextContents();
  assert.ok(links.some((l) => l.includes('Avondronde Oostermeent')), `stored walk listed, got ${JSON.stringify(links)}`);
  await cold.getByTestId('doc-link').filter({ hasText: 'Avondronde Oostermeent' }).click();
  assert.deepEqual(await itemTexts(cold), ['Groep jongeren bij winkelcentrum Oostermeent']);
  assert.equal(await cold.getByTestId('sync-indicator').textContent(), 'alles verstuurd');
  assert.notEqual(await cold.getByTestId('conn').getAttribute('data-conn'), 'online');

  // The app keeps working offline: a new observation is saved locally and waits.
  await addObservation(cold, { text: 'Lantaarnpaal kapot bij de Roef' });
  await cold.getByTestId('sync-indicator').filter({ hasText: /1 wijziging wacht sinds \d\d:\d\d/ }).waitFor();

  // Back online: it reaches the server.
  await server.boot();
  await ctx.setOffline(false);
  await waitAllSent(cold, 60_000);
  await ctx.close();
});

test('crash safety: an observation saved offline survives SIGKILL of the browser and is sent after reconnect, "alles verstuurd" only after the ack', async () => {
  if (!server.proc) await server.boot();
  const proxy = await Proxy.start(server.port);
  const profile = await tempDir('wijklog-profile-');
  const canary = 'Kanarie7Q drugsafval bij speeltuin Kostmand';
  let b = null;
  try {
    b = await CrashableBrowser.launch(profile);
    await b.context.grantPermissions(['geolocation'], { origin: proxy.origin });
    let page = await b.page();
    await openApp(page, proxy.origin);
    await login(page, 'boa-anna');
    const walkId = await createWalk(page, 'Crashronde Centrum');
    await waitAllSent(page);

    proxy.cut();
    await addObservation(page, { text: canary });
    await page.getByTestId('sync-indicator').filter({ hasText: /wacht/ }).waitFor();

    // Encryption at rest: neither script reading IndexedDB nor the files on disk show the text.
    const records = await dumpIndexedDb(page);
    assert.ok(records.some((r) => r.store === 'changes' || r.store === 'docs'), 'documents are stored');
    for (const r of records) assert.ok(!r.text.includes(canary) && !r.text.includes('Kanarie7Q'), `plaintext in ${r.db}/${r.store}`);

    await b.crash();

    const idbDir = path.join(profile, 'Default', 'IndexedDB');
    const files = await listFiles(idbDir);
    assert.ok(files.length > 0, 'IndexedDB files exist on disk');
    for (const f of files) {
      const bytes = await readFile(f);
      assert.ok(!bytes.includes(Buffer.from('Kanarie7Q', 'utf8')), `utf-8 plaintext on disk in ${f}`);
      assert.ok(!bytes.includes(Buffer.from('Kanarie7Q', 'utf16le')), `utf-16 plaintext on disk in ${f}`);
    }

    // Reopen, still offline: the observation is there, not yet sent.
    b = await CrashableBrowser.launch(profile);
    // Record, inside the page and before the app sees them, when ack frames arrive.
    await b.context.addInitScript(() => {
      window.__acks = [];
      const Native = window.WebSocket;
      window.WebSocket = class extends Native {
        /** @param {ConstructorParameters<typeof WebSocket>} args */
        constructor(...args) {
          super(...args);
          this.addEventListener('message', (e) => {
            if (typeof e.data === 'string' && e.data.includes('"type":"ack"')) window.__acks.push({ t: performance.now(), data: e.data });
          });
        }
      };
    });
    page = await b.page();
    await page.goto(`${proxy.origin}/#/walk/${walkId}`);
    await page.getByRole('heading', { name: 'Crashronde Centrum', level: 1 }).waitFor();
    assert.deepEqual(await itemTexts(page), [canary]);
    assert.match(await page.getByTestId('sync-indicator').textContent(), /^1 wijziging wacht sinds \d\d:\d\d$/);

    // Reconnect and watch the socket: the indicator may turn only after an ack for this walk.
    await page.evaluate(() => {
      window.__allSentAt = null;
      const el = document.querySelector('[data-testid="sync-indicator"]');
      new MutationObserver(() => {
        if (el.textContent === 'alles verstuurd' && window.__allSentAt === null) window.__allSentAt = performance.now();
      }).observe(el, { childList: true, characterData: true, subtree: true });
    });
    proxy.restore();
    await waitAllSent(page, 60_000);
    const { allSentAt, acks } = await page.evaluate(() => ({ allSentAt: window.__allSentAt, acks: window.__acks }));
    const walkAcks = acks.filter((a) => a.data.includes(walkId));
    assert.ok(walkAcks.length > 0, 'an ack for the walk arrived');
    assert.ok(allSentAt !== null && allSentAt >= walkAcks[0].t, `indicator turned only after the first ack (${allSentAt} vs ${walkAcks[0].t})`);

    // The server has it: a coordinator on another browser sees the observation.
    const { ctx: coordCtx, page: coord } = await loggedInPhone(browser, server.origin, 'coord-carla');
    await coord.goto(`${server.origin}/#/walk/${walkId}`);
    await coord.getByTestId('item-text').filter({ hasText: canary }).waitFor({ timeout: 30_000 });
    await coordCtx.close();
    await b.close();
  } finally {
    await b?.close();
    await proxy.close();
    await rm(profile, { recursive: true, force: true });
  }
});

async function listFiles(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if ((await stat(p)).size > 0) out.push(p);
  }
  return out;
}
