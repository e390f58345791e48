// Shared harness for the browser tests: a real `wijklog serve` on a loopback
// port with a temp data dir, users made with the real CLI, headless Chromium
// from Debian's package driven by playwright-core, and a TCP proxy per "phone"
// that can cut the network (existing sockets die, new ones are refused) the
// way a phone losing signal does.

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, mkdir, readFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { spawnServe } from './serve.mjs';

/** @typedef {import('playwright-core').Browser} Browser */
/** @typedef {import('playwright-core').BrowserContext} BrowserContext */
/** @typedef {import('playwright-core').Page} Page */
/** @typedef {import('node:child_process').ChildProcess} ChildProcess */

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../..');
export const BIN = process.env.WIJKLOG_BIN || path.join(ROOT, 'target/debug/wijklog');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const STATIC = path.join(ROOT, 'pwa/dist');
export const OUTPUT = path.join(ROOT, 'tests/output');
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
export const PASSWORD = 'correct horse battery staple 42';

/** @param {number} ms */
export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** @returns {Promise<number>} */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ input?: string, env?: Record<string, string> }} [opts]
 * @returns {Promise<string>}
 */
function run(cmd, args, { input, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} ${args.slice(0, 2).join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** A real wijklog server on 127.0.0.1 with its own temp data dir; restartable on the same port. */
export class Server {
  /**
   * @param {string} dataDir
   * @param {Record<string, string>} env
   */
  constructor(dataDir, env) {
    this.dataDir = dataDir;
    this.env = env;
    /** @type {ChildProcess | null} */
    this.proc = null;
    /** Its port; 0 until the first boot. */
    this.port = 0;
    this.output = () => '';
  }

  /** @param {{ env?: Record<string, string> }} [opts] */
  static async start({ env = {} } = {}) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'wijklog-e2e-'));
    const s = new Server(dataDir, env);
    await s.boot();
    return s;
  }

  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Start the process: on a free port the first time, on the same port after that. */
  async boot() {
    const { child, port, output } = await spawnServe(BIN, { data: this.dataDir, staticDir: STATIC, port: this.port, env: this.env });
    this.proc = child;
    this.port = port;
    this.output = output;
  }

  /** What the server printed (the end of it). */
  get log() {
    return this.output();
  }

  /** Stop the process (SIGTERM, then SIGKILL after 5 s). */
  async stop() {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
    this.proc = null;
  }

  async restart() {
    await this.stop();
    await this.boot();
  }

  /** SIGKILL the server process (a crash: no graceful shutdown) and wait until it is gone. */
  async kill() {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    this.proc = null;
  }

  /**
   * @param {string} username
   * @param {{ roles?: string[], team?: string | null, name?: string }} [opts]
   */
  async addUser(username, { roles = ['boa'], team = 'team-oost', name = username } = {}) {
    const args = ['user', 'add', '--username', username, '--name', name, '--data', this.dataDir];
    for (const r of roles) args.push('--role', r);
    if (team) args.push('--team', team);
    await run(BIN, args, { input: `${PASSWORD}\n`, env: this.env });
  }

  /** @param {string} username */
  async disableUser(username) {
    await run(BIN, ['user', 'disable', username, '--data', this.dataDir], { env: this.env });
  }

  async dispose() {
    await this.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * A TCP proxy in front of the server: each phone gets its own, so that its
 * network can be cut without touching the others. cut() destroys every open
 * connection (the WebSocket dies like on a lost signal) and refuses new ones.
 */
export class Proxy {
  /** @param {number} targetPort */
  constructor(targetPort) {
    this.targetPort = targetPort;
    /** The proxy's own port (set by start). */
    this.port = 0;
    /** @type {Set<import('node:net').Socket>} */
    this.sockets = new Set();
    this.up = true;
    this.bytesUp = 0;
    this.server = createServer((client) => {
      if (!this.up) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop);
      upstream.on('error', drop);
      client.on('close', drop);
      upstream.on('close', drop);
      // Bytes sent by the browser towards the server (e.g. to see an upload in flight).
      client.on('data', (d) => {
        this.bytesUp += d.length;
      });
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  /** @param {number} targetPort */
  static async start(targetPort) {
    const p = new Proxy(targetPort);
    await new Promise((r) => p.server.listen(0, '127.0.0.1', () => r(undefined)));
    p.port = /** @type {import('node:net').AddressInfo} */ (p.server.address()).port;
    // A proxy that a failing test leaves open (its step threw before the
    // `finally` that closes it) does not keep the test process alive.
    p.server.unref();
    return p;
  }

  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  cut() {
    this.up = false;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  restore() {
    this.up = true;
  }

  async close() {
    this.cut();
    await new Promise((r) => this.server.close(() => r(undefined)));
  }
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/**
 * A phone-sized context with geolocation granted.
 * @param {Browser} browser
 * @param {{ origin?: string, offline?: boolean }} [opts]
 */
export async function newPhone(browser, { origin, offline = false } = {}) {
  const ctx = await browser.newContext({
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
    locale: 'nl-NL',
    timezoneId: 'Europe/Amsterdam',
    geolocation: { latitude: 52.2995, longitude: 5.2435, accuracy: 12 },
    permissions: origin ? ['geolocation'] : [],
    serviceWorkers: 'allow',
  });
  if (origin) await ctx.grantPermissions(['geolocation'], { origin });
  if (offline) await ctx.setOffline(true);
  return ctx;
}

/**
 * Open the app and make sure the service worker controls the page (so the next
 * load works offline). The worker never claims the page that installed it
 * (registerType 'prompt', no clientsClaim), so on a fresh context wait until it
 * is active (precache complete) and reload once.
 * @param {Page} page
 * @param {string} origin
 */
export async function openApp(page, origin) {
  await page.goto(`${origin}/`);
  const controlled = await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    return navigator.serviceWorker.controller !== null;
  });
  if (!controlled) {
    await page.reload();
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000, polling: 100 });
  }
}

/**
 * @param {Page} page
 * @param {string} username
 */
export async function login(page, username) {
  await page.getByLabel('Gebruikersnaam').fill(username);
  await page.getByLabel('Wachtwoord').fill(PASSWORD);
  await page.getByRole('button', { name: 'Inloggen' }).click();
  await page.getByRole('heading', { name: 'Overzicht', level: 1 }).waitFor();
  // The catalog arrives with the first sync.
  await waitForCatalog(page);
}

/**
 * The preamble of a phone test: a phone ({@link newPhone}, geolocation granted
 * for `origin` unless `geolocation` is false) with the app open at `origin`
 * (the server's or a proxy's) and `username` logged in. `prepare` runs on the
 * context before the first page opens (init scripts, recorders). If a step
 * fails the context is closed again; otherwise the caller closes it.
 * @param {Browser} browser
 * @param {string} origin
 * @param {string} username
 * @param {{ geolocation?: boolean, prepare?: (ctx: BrowserContext) => Promise<unknown> }} [opts]
 * @returns {Promise<{ ctx: BrowserContext, page: Page }>}
 */
export async function loggedInPhone(browser, origin, username, { geolocation = true, prepare } = {}) {
  const ctx = await newPhone(browser, geolocation ? { origin } : {});
  try {
    if (prepare) await prepare(ctx);
    const page = await ctx.newPage();
    await openApp(page, origin);
    await login(page, username);
    return { ctx, page };
  } catch (e) {
    await ctx.close().catch(() => undefined);
    throw e;
  }
}

/** @param {Page} page */
export async function waitForCatalog(page) {
  await page.locator('.shell[data-catalog="ready"]').waitFor({ timeout: 30_000 });
}

/**
 * @param {Page} page
 * @param {string} title
 * @returns {Promise<string>} the walk's document id
 */
export async function createWalk(page, title) {
  await page.getByRole('link', { name: 'Nieuwe wandeling' }).click();
  await page.getByLabel('Titel').fill(title);
  const wijk = page.getByLabel('Wijk');
  const tag = await wijk.evaluate((el) => el.tagName);
  if (tag === 'SELECT') await wijk.selectOption({ index: 1 });
  else await wijk.fill('oostermeent');
  await page.getByRole('button', { name: 'Aanmaken' }).click();
  await page.getByRole('heading', { name: title, level: 1 }).waitFor();
  return page.url().split('/walk/')[1];
}

/**
 * Quick entry: category button, optional text, save; resolves once the UI says "opgeslagen".
 * @param {Page} page
 * @param {{ text?: string, category?: string | null }} [opts]
 */
export async function addObservation(page, { text = '', category = null } = {}) {
  await page.getByTestId('add-observation').click();
  await page.getByRole('heading', { name: 'Nieuwe waarneming' }).waitFor();
  const btn = category ? page.locator(`[data-category="${category}"]`) : page.locator('[data-category]').first();
  await btn.click();
  if (text) await page.getByTestId('entry-text').fill(text);
  await page.getByTestId('entry-save').click();
  await page.getByTestId('save-state').filter({ hasText: 'opgeslagen' }).waitFor();
  await page.getByTestId('items').waitFor();
}

/**
 * @param {Page} page
 * @param {number} [timeout] ms
 */
export async function waitAllSent(page, timeout = 30_000) {
  await page.getByTestId('sync-indicator').filter({ hasText: 'alles verstuurd' }).waitFor({ timeout });
}

/** @param {Page} page */
export async function itemTexts(page) {
  return page.getByTestId('item-text').allTextContents();
}

/** Run axe-core in the page; returns serious and critical violations. */
/** @type {string | null} */
let axeSource = null;
/** @param {Page} page */
export async function axeSerious(page) {
  axeSource ??= await readFile(path.join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol, not added as an inline <script>:
  // the app's Content-Security-Policy (no inline scripts) stays in force.
  await page.evaluate(axeSource);
  const res = await page.evaluate(async () => {
    // axe-core, evaluated into the page above.
    /** @type {typeof import('axe-core')} */
    const axe = /** @type {any} */ (globalThis).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * @param {Page} page
 * @param {string} name
 */
export async function screenshot(page, name) {
  const dir = path.join(OUTPUT, 'screenshots');
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: false });
}

/** Everything stored in IndexedDB, as raw bytes per record, read by script in the page. */
/** @param {Page} page */
export async function dumpIndexedDb(page) {
  return page.evaluate(async () => {
    const dbs = await indexedDB.databases();
    const out = [];
    for (const info of dbs) {
      /** @type {IDBDatabase} */
      const db = await new Promise((res, rej) => {
        const r = indexedDB.open(/** @type {string} */ (info.name));
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      for (const storeName of db.objectStoreNames) {
        /** @type {unknown[]} */
        const values = await new Promise((res, rej) => {
          const tx = db.transaction(storeName, 'readonly');
          const r = tx.objectStore(storeName).getAll();
          r.onsuccess = () => res(r.result);
          r.onerror = () => rej(r.error);
        });
        for (const v of values) {
          // Serialise every byte buffer and string in the record.
          /** @type {string[]} */
          const parts = [];
          /** @param {any} x */
          const walk = (x) => {
            if (x == null) return;
            if (typeof x === 'string') parts.push(x);
            else if (x instanceof ArrayBuffer) parts.push(String.fromCharCode(...new Uint8Array(x)));
            else if (ArrayBuffer.isView(x)) parts.push(String.fromCharCode(...new Uint8Array(x.buffer, x.byteOffset, x.byteLength)));
            else if (typeof x === 'object' && !(x instanceof CryptoKey)) for (const k of Object.keys(x)) walk(x[k]);
          };
          walk(v);
          out.push({ db: info.name, store: storeName, text: parts.join('|') });
        }
      }
      db.close();
    }
    return out;
  });
}

/**
 * Chromium as its own process with a persistent profile, reached over CDP, so
 * a test can kill it with SIGKILL (a real crash: no unload, no flush).
 */
export class CrashableBrowser {
  /**
   * @param {ChildProcess} proc
   * @param {Browser} browser
   * @param {BrowserContext} context
   */
  constructor(proc, browser, context) {
    this.proc = proc;
    this.browser = browser;
    this.context = context;
  }

  /** @param {string} profileDir */
  static async launch(profileDir) {
    const proc = spawn(CHROMIUM, [...CHROMIUM_ARGS, `--user-data-dir=${profileDir}`, '--remote-debugging-port=0', '--window-size=360,740', 'about:blank'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    /** @type {string} */
    const wsUrl = await new Promise((resolve, reject) => {
      let buf = '';
      const t = setTimeout(() => reject(new Error(`chromium did not start:\n${buf}`)), 30_000);
      proc.stderr.on('data', (/** @type {Buffer} */ d) => {
        buf += d.toString();
        const m = buf.match(/DevTools listening on (ws:\/\/\S+)/);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
      proc.once('exit', () => reject(new Error(`chromium exited:\n${buf}`)));
    });
    const browser = await chromium.connectOverCDP(wsUrl);
    return new CrashableBrowser(proc, browser, browser.contexts()[0]);
  }

  async page() {
    const p = this.context.pages()[0] ?? (await this.context.newPage());
    await p.setViewportSize({ width: 360, height: 740 });
    return p;
  }

  /** SIGKILL the browser: nothing gets a chance to flush. */
  async crash() {
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await exited;
    await this.browser.close().catch(() => undefined);
  }

  async close() {
    await this.browser.close().catch(() => undefined);
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
  }
}

/** Create a temp directory that the caller removes. */
/** @param {string} prefix */
export async function tempDir(prefix) {
  return mkdtemp(path.join(tmpdir(), prefix));
}

export { rm };

/** Log in over REST (not through the app); returns the access token. */
/**
 * @param {string} origin
 * @param {string} username
 * @returns {Promise<string>}
 */
export async function restLogin(origin, username) {
  const r = await fetch(`${origin}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD, device_name: 'e2e' }),
  });
  if (!r.ok) throw new Error(`login ${username}: HTTP ${r.status}`);
  return (await r.json()).access_token;
}

/**
 * On a coordinator's item detail: show the follow-up and feedback editors.
 * The laptop holds only the documents it opened (the sync scope), so
 * "Bewerken" brings the item's document onto it first, unless it is there
 * already (then the editors show at once).
 * @param {Page} page
 */
export async function openEditors(page) {
  const editor = page.getByTestId('followup-editor');
  const open = page.getByTestId('open-edit');
  await editor.or(open).first().waitFor({ timeout: 30_000 });
  if (await open.isVisible()) await open.click();
  await editor.waitFor({ timeout: 30_000 });
}
