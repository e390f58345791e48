// `wijklog serve` as a child process for the JavaScript tests (the browser
// tests here and the node tests in tests/node): one way to start it on
// 127.0.0.1, wait for the line it prints once it listens and read the port
// from it, with its output kept so that a failed start says why. Node's own
// modules only, so that both test packages can import it.

import { spawn } from 'node:child_process';

/** @typedef {import('node:child_process').ChildProcess} ChildProcess */

/**
 * Starts `bin serve` on 127.0.0.1:`port` (0: any free port) with `data` as
 * its data directory and `staticDir` as the app, the test's environment plus
 * `WIJKLOG_LOG_FILTER=warn` plus `env`. Resolves once the server listens;
 * rejects, with what it printed, if it exits first.
 * @param {string} bin
 * @param {{ data: string, staticDir: string, port?: number, env?: Record<string, string> }} opts
 * @returns {Promise<{ child: ChildProcess, port: number, output: () => string }>}
 */
export function spawnServe(bin, { data, staticDir, port = 0, env = {} }) {
  const child = spawn(bin, ['serve', '--bind', `127.0.0.1:${port}`, '--data', data, '--static', staticDir], {
    env: { ...process.env, WIJKLOG_LOG_FILTER: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The last 100 to 200 kB of stdout and stderr together, for the messages.
  let log = '';
  /** @param {Buffer} d */
  const keep = (d) => {
    log += d.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  const output = () => log;
  return new Promise((resolve, reject) => {
    let line = '';
    let listening = false;
    child.stdout?.on('data', (/** @type {Buffer} */ d) => {
      keep(d);
      if (listening) return;
      line += d.toString();
      const m = line.match(/wijklog listening on port (\d+)/);
      if (m) {
        listening = true;
        line = '';
        resolve({ child, port: Number(m[1]), output });
      } else {
        line = line.slice(line.lastIndexOf('\n') + 1);
      }
    });
    child.stderr?.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!listening) reject(new Error(`wijklog serve exited (${code ?? signal}) before it listened:\n${log}`));
    });
  });
}
