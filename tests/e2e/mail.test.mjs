// Messages to residents and partners, in the browser against a real
// `wijklog serve` and a REAL SMTP server (aiosmtpd on loopback, started and
// stopped here; `make test` installs it into target/smtp-venv):
//   (a) the admin gives a partner an e-mail address in the catalog screen and
//       edits the feedback template of a category;
//   (b) a spreekuur worker saves a note with consent and an e-mail address;
//   (c) the coordinator previews and sends feedback by e-mail: the mail
//       arrives at the resident with the template filled, and the detail
//       then shows "verstuurd" and the feedback as given by e-mail;
//   (d) the coordinator forwards the note to the partner without contact
//       details: the partner's mail has the summary and no resident data.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Server, ROOT, freePort, launchBrowser, newPhone, openApp, login, waitAllSent, sleep, axeSerious, screenshot, openEditors } from './helpers.mjs';

const PYTHON = process.env.WIJKLOG_SMTP_PYTHON || path.join(ROOT, 'target/smtp-venv/bin/python');

/** aiosmtpd on 127.0.0.1:port writing <n>.json per accepted message into dir. */
class SmtpSink {
  constructor() {
    this.dir = '';
    this.port = 0;
    /** @type {import('node:child_process').ChildProcess | null} */
    this.proc = null;
  }

  static async start() {
    if (!existsSync(PYTHON)) throw new Error(`no python with aiosmtpd at ${PYTHON}: run \`make smtp-venv\` (or set WIJKLOG_SMTP_PYTHON)`);
    const s = new SmtpSink();
    s.dir = await mkdtemp(path.join(tmpdir(), 'wijklog-smtp-'));
    s.port = await freePort();
    s.proc = spawn(PYTHON, [path.join(ROOT, 'tests/smtp/smtp_sink.py'), String(s.port), s.dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      let out = '';
      s.proc.stdout.on('data', (d) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      });
      s.proc.once('exit', (code) => reject(new Error(`the SMTP sink exited (${code}); is aiosmtpd installed? run \`make smtp-venv\``)));
    });
    return s;
  }

  async messages() {
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.json')).sort();
    return Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join(this.dir, n), 'utf8'))));
  }

  async waitFor(n, timeout = 30_000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const got = await this.messages();
      if (got.length >= n || Date.now() > deadline) return got;
      await sleep(100);
    }
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

let sink;
let server;
let browser;
let staff;
let coord;
let admin;
const RESIDENT = { email: 'jan.jansen@example.nl', name: 'Jan Jansen' };
const NOTE = 'Bewoner meldt dat de lantaarnpaal bij nummer 12 al weken kapot is';

before(async () => {
  sink = await SmtpSink.start();
  server = await Server.start({
    env: {
      WIJKLOG_MAIL_HOST: '127.0.0.1',
      WIJKLOG_MAIL_PORT: String(sink.port),
      WIJKLOG_MAIL_TLS: 'none',
      WIJKLOG_MAIL_FROM: 'Wijkteam <wijkteam@gemeente.example>',
      WIJKLOG_MAIL_POLL_MS: '200',
      WIJKLOG_MAIL_RETRY_BASE_MS: '500',
    },
  });
  await server.addUser('sp-sanne', { roles: ['spreekuur'], team: 'team-oost', name: 'Sanne' });
  await server.addUser('coord-cora', { roles: ['coordinator'], team: null, name: 'Cora' });
  await server.addUser('admin-ad', { roles: ['admin'], team: null, name: 'Ad' });
  browser = await launchBrowser();
  const laptop = () => browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  admin = await (await laptop()).newPage();
  coord = await (await laptop()).newPage();
  const phoneCtx = await newPhone(browser, { origin: server.origin });
  staff = await phoneCtx.newPage();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
  await sink?.stop();
});

test('(a) admin: a partner gets an e-mail address, a category gets its own template', async () => {
  await admin.goto(`${server.origin}/`);
  await login(admin, 'admin-ad');
  await admin.goto(`${server.origin}/#/admin/catalog`);
  const row = admin.locator('[data-testid="admin-catalog-entry"][data-id="gemeente_openbare_ruimte"]');
  await row.getByTestId('admin-partner-email').fill('meldingen@gemeente.example');
  await row.getByTestId('admin-partner-save').click();
  await admin.getByTestId('admin-catalog-msg').filter({ hasText: 'Opgeslagen' }).waitFor();
  await waitAllSent(admin, 60_000);

  await admin.getByTestId('admin-tab-mail').click();
  await admin.getByTestId('admin-mail').waitFor();
  const cat = admin.locator('[data-testid="admin-mail-category"][data-id="openbare_ruimte"]');
  await cat.getByTestId('admin-mail-make-own').click();
  const form = cat.getByTestId('admin-mail-template');
  await form.getByTestId('admin-mail-subject').fill('Uw melding over {categorie} in {wijk}');
  // A typo in a placeholder is refused.
  await form.getByTestId('admin-mail-body').fill('Beste {naam},\n\n{wat_gedan}');
  await form.getByTestId('admin-mail-save').click();
  await admin.getByTestId('admin-mail-msg').filter({ hasText: 'niet bestaat' }).waitFor();
  await form.getByTestId('admin-mail-body').fill('Beste {naam},\n\nU vertelde ons op {datum} iets over {categorie}.\n\nDit hebben we gedaan:\n{wat_gedaan}\n\nMet vriendelijke groet,\nHet wijkteam');
  await form.getByTestId('admin-mail-save').click();
  await admin.getByTestId('admin-mail-msg').filter({ hasText: 'Sjabloon opgeslagen' }).waitFor();
  const v = await axeSerious(admin);
  assert.deepEqual(v, [], `admin mail: ${JSON.stringify(v, null, 1)}`);
  await screenshot(admin, 'admin-mail-templates');

  // A digest address on an account (the spreekuur worker's: only coordinators
  // get a digest, so no mail goes out here); it survives a reload.
  await admin.goto(`${server.origin}/#/admin`);
  await admin.locator('[data-testid="admin-user-row"][data-username="sp-sanne"]').getByTestId('admin-user-open').click();
  await admin.getByTestId('admin-user-digest-email').fill('sanne@gemeente.example');
  await admin.getByTestId('admin-user-digest-save').click();
  await admin.getByTestId('admin-user-msg').filter({ hasText: 'dagoverzicht opgeslagen' }).waitFor();
  await admin.reload();
  await admin.waitForFunction(() => /** @type {HTMLInputElement | null} */ (document.querySelector('[data-testid="admin-user-digest-email"]'))?.value === 'sanne@gemeente.example', null, { timeout: 30_000, polling: 100 });
  assert.equal(await admin.getByTestId('admin-user-digest-email').inputValue(), 'sanne@gemeente.example');

  // The field appears only once the stored address has arrived: an answer that
  // comes late must not overwrite what the admin typed (it did, and a save then
  // cleared the address), and a failed load offers a retry, never an empty field.
  /** @type {(() => void) | null} */
  let release = null;
  const held = new Promise((r) => (release = () => r(undefined)));
  let fail = true;
  await admin.route('**/mail-address', async (route) => {
    if (route.request().method() !== 'GET') return route.continue();
    if (fail) {
      fail = false;
      return route.abort('connectionrefused');
    }
    await held;
    await route.continue();
  });
  await admin.reload();
  const digest = admin.getByTestId('admin-user-digest');
  await admin.getByTestId('admin-user-digest-error').waitFor();
  assert.equal(await admin.getByTestId('admin-user-digest-email').count(), 0, 'no field to save after a failed load');
  await admin.getByTestId('admin-user-digest-retry').click();
  await admin.locator('[data-testid="admin-user-digest"][data-state="loading"]').waitFor();
  assert.equal(await digest.getByTestId('admin-user-digest-email').count(), 0, 'no field while the address is on its way');
  release?.();
  await admin.locator('[data-testid="admin-user-digest"][data-state="ready"]').waitFor();
  assert.equal(await admin.getByTestId('admin-user-digest-email').inputValue(), 'sanne@gemeente.example');
  await admin.unroute('**/mail-address');
});

test('(b) spreekuur: a note with consent and an e-mail address', async () => {
  await openApp(staff, server.origin);
  await login(staff, 'sp-sanne');
  await staff.getByRole('link', { name: 'Nieuw spreekuur' }).click();
  await staff.getByLabel('Locatie (buurthuis)').fill('Buurthuis de Roef');
  await staff.getByLabel('Wijk').selectOption({ index: 1 });
  await staff.getByRole('button', { name: 'Aanmaken' }).click();
  await staff.getByRole('heading', { name: /Spreekuur: Buurthuis de Roef/ }).waitFor();
  await staff.getByTestId('consent').check();
  await staff.getByLabel('Naam bewoner').fill(RESIDENT.name);
  await staff.getByLabel('E-mail', { exact: true }).fill(RESIDENT.email);
  await staff.locator('[data-category="openbare_ruimte"]').click();
  await staff.getByTestId('note-text').fill(NOTE);
  await staff.getByTestId('note-save').click();
  await staff.getByTestId('item-text').filter({ hasText: NOTE }).waitFor();
  await waitAllSent(staff, 60_000);
});

async function openNote() {
  await coord.goto(`${server.origin}/#/coord/list?kind=spreekuur`);
  await coord.locator('[data-testid="list-count"][data-state="ready"]').waitFor();
  await coord.getByTestId('row-link').filter({ hasText: NOTE }).click();
  await coord.getByTestId('detail-text').filter({ hasText: NOTE }).waitFor();
  await openEditors(coord);
  await coord.getByTestId('mail-panel').waitFor();
}

test('(c) coordinator: feedback by e-mail arrives at the resident with the template filled and marks feedback given', async () => {
  await coord.goto(`${server.origin}/`);
  await login(coord, 'coord-cora');
  await openNote();
  const fb = coord.getByTestId('mail-feedback');
  const done = 'De gemeente heeft de lamp op 3 december vervangen.';
  await fb.getByTestId('mail-fb-done').fill(done);
  await fb.getByTestId('mail-fb-preview').click();
  assert.equal(await fb.getByTestId('mail-fb-preview-to').textContent(), RESIDENT.email);
  const previewBody = await fb.getByTestId('mail-fb-preview-body').textContent();
  assert.match(previewBody, /^Beste Jan Jansen,/);
  assert.match(previewBody, /De gemeente heeft de lamp/);
  assert.equal(await coord.getByTestId('mail-entry').count(), 0, 'nothing listed before sending');
  await fb.scrollIntoViewIfNeeded();
  await screenshot(coord, 'coordinator-mail-preview');
  await fb.getByTestId('mail-fb-send').click();
  await fb.getByTestId('mail-fb-queued').waitFor();

  const got = await sink.waitFor(1);
  assert.equal(got.length, 1);
  const m = got[0];
  assert.deepEqual(m.envelope_to, [RESIDENT.email]);
  assert.match(m.subject, /^Uw melding over Openbare ruimte in /);
  const body = m.body.replace(/\r\n/g, '\n');
  assert.match(body, /^Beste Jan Jansen,/);
  assert.match(body, new RegExp(done.replace(/\./g, '\\.')));
  assert.doesNotMatch(body, /\{/, 'every placeholder is filled');

  // The screen says "verstuurd" only once the server says sent, and the feedback is given by e-mail.
  await coord.locator('[data-testid="mail-entry"][data-status="sent"]').waitFor({ timeout: 30_000 });
  await coord.getByTestId('fb-given').filter({ hasText: 'e-mail' }).waitFor({ timeout: 30_000 });
  const v = await axeSerious(coord);
  assert.deepEqual(v, [], `detail with mail: ${JSON.stringify(v, null, 1)}`);
  await coord.getByTestId('mail-list').scrollIntoViewIfNeeded();
  await screenshot(coord, 'coordinator-mail-sent');
});

test('(d) coordinator: forwarding to a partner sends the summary without resident contact', async () => {
  await openNote();
  const fw = coord.getByTestId('mail-forward');
  await fw.getByTestId('mail-fw-partner').selectOption('gemeente_openbare_ruimte');
  await fw.getByTestId('mail-fw-note').fill('Graag controleren of de lamp het weer doet.');
  await fw.getByTestId('mail-fw-preview').click();
  assert.equal(await fw.getByTestId('mail-fw-preview-to').textContent(), 'meldingen@gemeente.example');
  await fw.getByTestId('mail-fw-send').click();
  const got = await sink.waitFor(2);
  assert.equal(got.length, 2);
  const m = got[1];
  assert.deepEqual(m.envelope_to, ['meldingen@gemeente.example']);
  assert.match(m.body, /lantaarnpaal bij nummer 12/);
  assert.match(m.body, /Graag controleren/);
  assert.doesNotMatch(m.body, /Jan Jansen|jan\.jansen@example\.nl/);
  await coord.locator('[data-testid="mail-entry"][data-kind="forward"][data-status="sent"]').waitFor({ timeout: 30_000 });
});
