// A coordinator's laptop under the sync scope (docs/pwa.md "Coordinator
// area", docs/sync-protocol.md §2 and §6), against a real `wijklog serve`:
//   (a) a boa's urgent observation appears on the coordinator's banner
//       because the server said `lists_changed` on the sync socket: the
//       banner's read of the urgent items follows that frame (the fallback
//       poll is a minute away);
//   (b) the detail screen holds the document it edits: when the document
//       leaves the laptop's scope (its subscription lapses) it stays in
//       IndexedDB, editors and all, until the screen is left;
//   (c) "Klaar met bewerken" with an edit not sent (offline): the screen
//       says why the document stays, IndexedDB keeps it and the edit; back
//       online the edit is acked, and only then does the document leave the
//       laptop; the server has the edit.
//   (d) the work list: "Klaar met bewerken" on an entry whose forms are shown
//       (and in its "Op dit toestel" section), with a change the server has
//       not acked; a reload before the ack still says "Klaar" (not the forms
//       again) and keeps the document; once the change is acked it leaves the
//       laptop and the entry offers "Bewerken" again; the server has the change;
//   (e) "Klaar met bewerken" of a walk that stays in the laptop's scope for
//       another reason (a coordinator who is also a boa of the team holds the
//       team's planned walk): the server answers `kept` and the screen says
//       why it stays, instead of waiting for it to leave;
//   (f) an item detail read over REST (its walk not on the laptop) reads
//       again when another coordinator's edit comes as `lists_changed`, and
//       when the laptop's connection comes back after an edit made while it
//       was offline: the history shows both edits without a reload.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, loggedInPhone, login, restLogin, waitForCatalog } from './helpers.mjs';
import { seedWalks, storedDocIds } from './seed-sync.mjs';

const DAY = 86_400_000;

/** @type {import('playwright-core').Browser} */
let browser;
/** @type {Server[]} */
const servers = [];

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const s of servers) await s.dispose();
});

/** A server with a boa, a coordinator and one older walk of two observations by the boa. */
async function serverWithWalk(env = {}) {
  const server = await Server.start({ env });
  servers.push(server);
  await server.addUser('boa-bo', { roles: ['boa'], team: 'team-oost', name: 'Bo' });
  await server.addUser('coord-cora', { roles: ['coordinator'], team: null, name: 'Cora' });
  const { ids } = await seedWalks(server, 'boa-bo', 'team-oost', [{ title: 'Ronde van vorige maand', at: Date.now() - 30 * DAY, observations: 2 }]);
  return { server, walk: ids[0] };
}

/**
 * A 1280x800 laptop, loopback only, logged in as the coordinator;
 * `prepare` runs on the page before anything is loaded (routes).
 * @param {Server} server
 * @param {(page: import('playwright-core').Page) => Promise<unknown>} [prepare]
 */
async function laptop(server, prepare, username = 'coord-cora') {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  await ctx.route('**/*', (r) => (['127.0.0.1', 'localhost'].includes(new URL(r.request().url()).hostname) ? r.continue() : r.abort()));
  const page = await ctx.newPage();
  await prepare?.(page);
  await page.goto(`${server.origin}/`);
  await login(page, username);
  await page.locator('[data-testid="conn"][data-conn="online"]').waitFor({ timeout: 30_000 });
  return { ctx, page };
}

/** Wait until IndexedDB holds document `id` (`held`) or no longer does. */
async function waitStored(page, id, held) {
  const deadline = Date.now() + 30_000;
  while ((await storedDocIds(page)).includes(id) !== held) {
    if (Date.now() > deadline) throw new Error(`${id} ${held ? 'never stored' : 'never left IndexedDB'}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The detail of the walk's first observation, with its editors opened (the walk subscribed). */
async function openToEdit(page, server, walk) {
  const token = await restLogin(server.origin, 'coord-cora');
  const res = await fetch(`${server.origin}/api/v1/items?limit=10`, { headers: { Authorization: `Bearer ${token}` } });
  const item = (await res.json()).items.find((/** @type {any} */ r) => r.doc_id === walk);
  assert.ok(item, 'the seeded item is listed');
  await page.goto(`${server.origin}/#/coord/item/${walk}/${item.item_id}`);
  await page.getByTestId('detail-text').waitFor();
  assert.equal((await storedDocIds(page)).includes(walk), false, 'reading brings nothing onto the laptop');
  await page.getByTestId('open-edit').click();
  await page.getByTestId('followup-editor').waitFor({ timeout: 30_000 });
  await waitStored(page, walk, true);
  return item.item_id;
}

test('(a) a boa\'s urgent observation reaches the coordinator\'s banner through `lists_changed`, not the poll', async () => {
  const { server } = await serverWithWalk();
  const { ctx, page } = await laptop(server);
  /** What the laptop saw, in order: the server's `lists_changed` frames and its reads of the urgent items. */
  const seen = [];
  page.on('websocket', (ws) => {
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string' && f.payload.includes('"lists_changed"')) seen.push({ what: 'frame', payload: f.payload });
    });
  });
  const text = 'Brandje in container bij de speeltuin Qxv';
  /** The urgent reads whose answer held the new observation. */
  const found = new Set();
  const isUrgentRead = (/** @type {string} */ url) => url.includes('/api/v1/items?') && url.includes('severity=urgent');
  page.on('request', (r) => {
    if (isUrgentRead(r.url())) seen.push({ what: 'urgent-read', req: r });
  });
  page.on('response', async (res) => {
    if (!isUrgentRead(res.url())) return;
    const body = await res.text().catch(() => '');
    if (body.includes(text)) found.add(res.request());
  });
  const phone = await loggedInPhone(browser, server.origin, 'boa-bo');
  try {
    // The sync socket of the page above was opened before the listener: reload so it is seen.
    await page.goto(`${server.origin}/#/coord/list`);
    await page.reload();
    await waitForCatalog(page);
    await page.locator('[data-testid="conn"][data-conn="online"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="list-count"][data-state="ready"]').waitFor();
    // The banner's first read (the baseline) is done.
    const deadline = Date.now() + 30_000;
    while (!seen.some((e) => e.what === 'urgent-read')) {
      if (Date.now() > deadline) throw new Error('the banner never read the urgent items');
      await new Promise((r) => setTimeout(r, 100));
    }
    await phone.page.getByRole('link', { name: 'Nieuwe wandeling' }).click();
    await phone.page.getByLabel('Titel').fill('Avondronde');
    const wijk = phone.page.getByLabel('Wijk');
    if ((await wijk.evaluate((el) => el.tagName)) === 'SELECT') await wijk.selectOption({ index: 1 });
    else await wijk.fill('oostermeent');
    await phone.page.getByRole('button', { name: 'Aanmaken' }).click();
    await phone.page.getByRole('heading', { name: 'Avondronde', level: 1 }).waitFor();
    await phone.page.getByTestId('add-observation').click();
    await phone.page.locator('[data-category="brandjes"]').click();
    await phone.page.locator('[data-severity="urgent"]').click();
    await phone.page.getByTestId('entry-text').fill(text);
    const mark = seen.length;
    await phone.page.getByTestId('entry-save').click();
    await phone.page.getByTestId('sync-indicator').filter({ hasText: 'alles verstuurd' }).waitFor({ timeout: 30_000 });

    // The banner shows it (the fallback poll would come only after a minute).
    await page.getByTestId('urgent-banner').filter({ hasText: text }).waitFor({ timeout: 30_000 });
    // The read that found it was asked for after a `lists_changed` that came after the save.
    const after = seen.slice(mark);
    const log = JSON.stringify(after.map((e) => (e.what === 'frame' ? e.payload : found.has(e.req) ? 'urgent-read (found it)' : 'urgent-read')));
    const finding = after.findIndex((e) => e.what === 'urgent-read' && found.has(e.req));
    assert.ok(finding > 0, `a read found it: ${log}`);
    const frames = after.slice(0, finding).filter((e) => e.what === 'frame');
    assert.ok(frames.length >= 1, `a lists_changed frame came before the read that found it: ${log}`);
    for (const f of frames) assert.equal(f.payload, '{"type":"lists_changed"}', 'nothing but the type');
    // The open list took the new row in as well, without a reload.
    await page.getByTestId('row-link').filter({ hasText: text }).waitFor({ timeout: 30_000 });
  } finally {
    await phone.ctx.close();
    await ctx.close();
  }
});

test('(b) the detail screen holds its document: it leaves the laptop only once the screen is left', async () => {
  // Subscriptions lapse at once and the scope is checked every second.
  const { server, walk } = await serverWithWalk({ WIJKLOG_SYNC_SUBSCRIPTION_TTL_DAYS: '0', WIJKLOG_SYNC_SCOPE_CHECK_SECS: '1' });
  const { ctx, page } = await laptop(server);
  try {
    await openToEdit(page, server, walk);
    // The subscription lapsed: the server unscoped the walk; the open screen keeps it and says so.
    await page.getByTestId('leaving').waitFor({ timeout: 30_000 });
    assert.equal((await storedDocIds(page)).includes(walk), true, 'still in IndexedDB while the detail is open');
    await page.getByTestId('fu-note').fill('Wordt getypt terwijl de wandeling van de lijst gaat');
    assert.equal(await page.getByTestId('followup-editor').count(), 1);
    assert.equal(await page.getByTestId('fu-note').inputValue(), 'Wordt getypt terwijl de wandeling van de lijst gaat');
    assert.equal((await storedDocIds(page)).includes(walk), true);

    // Left: nothing unsent, nothing on screen: it goes.
    await page.goto(`${server.origin}/#/coord/list`);
    await waitStored(page, walk, false);
  } finally {
    await ctx.close();
  }
});

test('(c) "Klaar met bewerken" with an unsent edit: kept and explained until the ack, then gone; the server has the edit', async () => {
  const { server, walk } = await serverWithWalk();
  const { ctx, page } = await laptop(server);
  try {
    const itemId = await openToEdit(page, server, walk);
    await ctx.setOffline(true);
    await page.locator('[data-testid="conn"][data-conn="offline"]').waitFor({ timeout: 30_000 });
    const note = 'Doorgezet naar de wijkagent, offline getypt Kwp';
    await page.getByTestId('fu-partner').selectOption('politie');
    await page.getByTestId('fu-note').fill(note);
    await page.getByTestId('fu-add').click();
    await page.locator('[data-testid="doc-pending"][data-pending="1"]').waitFor();

    await page.getByTestId('finish-edit').click();
    const finishing = page.locator('[data-testid="finishing"][data-pending="1"]');
    await finishing.waitFor();
    assert.equal(
      await finishing.textContent(),
      'Klaar met bewerken. Dit blijft op dit toestel tot je laatste wijziging bij de server is, zodat er niets verloren gaat; daarna gaat het eraf. Er is nu geen verbinding: ze worden verstuurd zodra die er weer is.',
    );
    assert.equal(await page.getByTestId('followup-editor').count(), 0, 'the editors are closed');
    assert.equal((await storedDocIds(page)).includes(walk), true, 'kept while its change is unsent');
    // Off the screen, it still stays: its change is not acked.
    await page.goto(`${server.origin}/#/coord/feedback`);
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    assert.equal((await storedDocIds(page)).includes(walk), true, 'kept off the screen while its change is unsent');

    await ctx.setOffline(false);
    // Acked, unsubscribed, unscoped: gone from the laptop, and the detail says so.
    await waitStored(page, walk, false);
    await page.goto(`${server.origin}/#/coord/item/${walk}/${itemId}`);
    await page.getByTestId('evicted').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('evicted').textContent(), 'Niet meer op dit toestel; alles was bij de server.');
    await page.getByTestId('open-edit').waitFor();

    const token = await restLogin(server.origin, 'coord-cora');
    const res = await fetch(`${server.origin}/api/v1/items/${walk}/${itemId}`, { headers: { Authorization: `Bearer ${token}` } });
    const body = await res.json();
    assert.equal(body.item.follow_up?.politie?.note, note, JSON.stringify(body.item.follow_up));
  } finally {
    await ctx.close();
  }
});

test('(d) the work list: "Klaar met bewerken" on an entry outlives a reload before the ack; the document leaves once its change is acked', async () => {
  const server = await Server.start();
  servers.push(server);
  await server.addUser('boa-bo', { roles: ['boa'], team: 'team-oost', name: 'Bo' });
  await server.addUser('coord-cora', { roles: ['coordinator'], team: null, name: 'Cora' });
  const { ids } = await seedWalks(server, 'boa-bo', 'team-oost', [{ title: 'Ronde met terugkoppeling', at: Date.now() - 30 * DAY, observations: 2, feedbackEvery: true }]);
  const walk = ids[0];
  // The laptop's binary frames of `hold` (a document id in hex) do not reach the server: its changes stay unacked.
  let hold = '';
  const { ctx, page } = await laptop(server, (p) =>
    p.routeWebSocket(/\/api\/v1\/sync$/, (ws) => {
      const upstream = ws.connectToServer();
      ws.onMessage((m) => {
        if (hold && typeof m !== 'string' && Buffer.from(m).subarray(0, 16).toString('hex') === hold) return;
        upstream.send(m);
      });
      upstream.onMessage((m) => ws.send(m));
    }),
  );
  try {
    await page.goto(`${server.origin}/#/coord/feedback`);
    await page.locator('[data-testid="feedback-count"][data-count="2"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('on-device').count(), 0, 'nothing on the laptop yet');
    const given = String(await page.getByTestId('feedback-item').first().getAttribute('data-key')).split('/')[1];
    await page.getByTestId('feedback-item').first().getByTestId('open-edit').click();
    // Both entries are of the one walk: both show their forms and "Klaar met bewerken".
    await page.locator('[data-testid="feedback-item"] [data-testid="fb-give"]').nth(1).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('[data-testid="feedback-item"] [data-testid="finish-edit"]').count(), 2);
    await waitStored(page, walk, true);
    await page.locator(`[data-testid="on-device-doc"][data-doc="${walk}"] [data-testid="finish-edit"]`).waitFor();

    hold = walk.replace(/-/g, '');
    await page.getByTestId('feedback-item').first().getByTestId('fb-give').click();
    // Given here: that entry leaves the list at once; its change is not acked.
    await page.locator('[data-testid="feedback-count"][data-count="1"]').waitFor();
    const entry = page.getByTestId('feedback-item');
    await entry.getByTestId('finish-edit').click();
    const finishing = entry.locator('[data-testid="finishing"][data-pending="1"]');
    await finishing.waitFor();
    assert.match(String(await finishing.textContent()), /^Klaar met bewerken\. Dit blijft op dit toestel tot je laatste wijziging bij de server is, zodat er niets verloren gaat; daarna gaat het eraf\./);
    assert.equal(await entry.getByTestId('fb-give').count(), 0, 'the form is closed');
    await page.locator(`[data-testid="on-device-doc"][data-doc="${walk}"] [data-testid="finishing"][data-pending="1"]`).waitFor();

    // A reload before the ack: still "Klaar" (not the form again), still on the laptop.
    await page.reload();
    await page.locator('[data-testid="feedback-item"] [data-testid="finishing"][data-pending="1"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('[data-testid="feedback-item"] [data-testid="fb-give"]').count(), 0, 'the form stays closed after the reload');
    assert.equal((await storedDocIds(page)).includes(walk), true, 'kept while its change is unacked');

    // The frames go through again; a new connection sends the change: acked, unsubscribed, gone.
    hold = '';
    await ctx.setOffline(true);
    await page.locator('[data-testid="conn"][data-conn="offline"]').waitFor({ timeout: 30_000 });
    await ctx.setOffline(false);
    await waitStored(page, walk, false);
    // The list reads the server again (the walk left): the given entry is gone there too.
    await page.locator('[data-testid="feedback-count"][data-count="1"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="feedback-item"] [data-testid="open-edit"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('on-device').count(), 0, 'nothing left on the laptop');

    const token = await restLogin(server.origin, 'coord-cora');
    const res = await fetch(`${server.origin}/api/v1/items/${walk}/${given}`, { headers: { Authorization: `Bearer ${token}` } });
    const body = await res.json();
    assert.equal(typeof body.item.feedback?.given_at, 'number', JSON.stringify(body.item.feedback));
  } finally {
    await ctx.close();
  }
});

test('(e) "Klaar met bewerken" of the team\'s planned walk: the server keeps it, and the screen says why', async () => {
  const server = await Server.start();
  servers.push(server);
  await server.addUser('boa-bo', { roles: ['boa'], team: 'team-oost', name: 'Bo' });
  await server.addUser('coord-kim', { roles: ['coordinator', 'boa'], team: 'team-oost', name: 'Kim' });
  const { ids } = await seedWalks(server, 'boa-bo', 'team-oost', [{ title: 'Avondronde volgende week', at: Date.now() + 2 * DAY, observations: 0, planned: true }]);
  const walk = ids[0];
  /** @type {string[]} */
  const frames = [];
  const { ctx, page } = await laptop(
    server,
    async (p) => {
      p.on('websocket', (ws) => ws.on('framereceived', (f) => {
        if (typeof f.payload === 'string' && f.payload.includes('"kept"')) frames.push(f.payload);
      }));
    },
    'coord-kim',
  );
  try {
    await page.goto(`${server.origin}/#/coord/feedback`);
    const held = page.locator(`[data-testid="on-device-doc"][data-doc="${walk}"]`);
    await held.waitFor({ timeout: 30_000 });
    await held.getByTestId('finish-edit').click();
    const kept = held.locator('[data-testid="kept"][data-reason="planned"]');
    await kept.waitFor({ timeout: 30_000 });
    assert.equal(await kept.textContent(), 'Blijft op dit toestel: geplande wandeling van je team. Het gaat er vanzelf af als dat niet meer zo is.');
    assert.deepEqual(frames, [`{"type":"kept","doc":"${walk}","reason":"planned"}`]);
    assert.equal(await held.getByTestId('finishing').count(), 0, 'not waiting to leave');
    assert.equal((await storedDocIds(page)).includes(walk), true, 'still on the laptop');
    // After a reload it is simply on the laptop again, with "Klaar met bewerken".
    await page.reload();
    await held.getByTestId('finish-edit').waitFor({ timeout: 30_000 });
    assert.equal(await held.getByTestId('finishing').count(), 0);
  } finally {
    await ctx.close();
  }
});

test('(f) the item detail reads its REST data again on `lists_changed` and on reconnect', async () => {
  const { server, walk } = await serverWithWalk();
  await server.addUser('coord-dirk', { roles: ['coordinator'], team: null, name: 'Dirk' });
  const reader = await laptop(server);
  const editor = await laptop(server, undefined, 'coord-dirk');
  try {
    const itemId = await openToEdit(editor.page, server, walk);
    await reader.page.goto(`${server.origin}/#/coord/item/${walk}/${itemId}`);
    await reader.page.getByTestId('history-entry').first().waitFor();
    const before = await reader.page.getByTestId('history-entry').count();
    assert.equal((await storedDocIds(reader.page)).includes(walk), false, 'the reader holds nothing');

    // Another coordinator assigns a partner: the reader's detail follows the server's `lists_changed`.
    await editor.page.getByTestId('fu-partner').selectOption('politie');
    await editor.page.getByTestId('fu-note').fill('Wijkagent kijkt ernaar');
    await editor.page.getByTestId('fu-add').click();
    await editor.page.locator('[data-testid="doc-pending"][data-pending="0"]').waitFor({ timeout: 30_000 });
    await reader.page.locator('[data-testid="history-entry"]').nth(before).waitFor({ timeout: 30_000 });
    assert.equal(await reader.page.getByTestId('history-entry').count(), before + 1);

    // The reader's laptop goes offline; meanwhile the other sets the status. Back online: read again.
    await reader.ctx.setOffline(true);
    await reader.page.locator('[data-testid="conn"][data-conn="offline"]').waitFor({ timeout: 30_000 });
    await editor.page.locator('[data-testid="fu-entry"][data-partner="politie"] [data-testid="fu-entry-status"]').selectOption('in_behandeling');
    await editor.page.locator('[data-testid="fu-entry"][data-partner="politie"] [data-testid="fu-entry-save"]').click();
    await editor.page.locator('[data-testid="doc-pending"][data-pending="0"]').waitFor({ timeout: 30_000 });
    await editor.page.locator('[data-testid="fu-entry"][data-partner="politie"][data-status="in_behandeling"]').waitFor();
    assert.equal(await reader.page.getByTestId('history-entry').count(), before + 1, 'offline: nothing new yet');
    await reader.ctx.setOffline(false);
    await reader.page.locator('[data-testid="history-entry"]').nth(before + 1).waitFor({ timeout: 30_000 });
    assert.equal(await reader.page.getByTestId('history-entry').count(), before + 2);
  } finally {
    await reader.ctx.close();
    await editor.ctx.close();
  }
});
