import { describe, expect, it } from 'vitest';
import { PhotoUploader, type UploadHost } from './uploader';
import type { PhotoInfo, PhotoRefusal } from '../store/db';

function fakeHost(shas: string[]) {
  const outbox = new Map<string, PhotoInfo>(shas.map((sha, i) => [sha, { sha, size: 3, addedAt: i, refused: null }]));
  const tokens: boolean[] = [];
  const host: UploadHost = {
    list: async () => [...outbox.values()],
    read: async (sha) => (outbox.has(sha) ? new Uint8Array([1, 2, 3]) : null),
    uploaded: async (sha) => void outbox.delete(sha),
    refused: async (info: PhotoInfo, refusal: PhotoRefusal) => void outbox.set(info.sha, { ...info, refused: refusal }),
    token: async (force) => {
      tokens.push(force);
      return force ? 'fresh' : 'stale';
    },
    changed: () => undefined,
  };
  return { host, outbox, tokens };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** Timers that fire only when the test says so. */
function manualTimers() {
  const pending: { f: () => void; ms: number }[] = [];
  return {
    pending,
    setTimer: (f: () => void, ms: number) => pending.push({ f, ms }),
    clearTimer: () => undefined,
  };
}

describe('PhotoUploader', () => {
  it('uploads one photo at a time, oldest first, and treats "already stored" (200) as success', async () => {
    const { host, outbox } = fakeHost(['a'.repeat(64), 'b'.repeat(64)]);
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const up = new PhotoUploader(host, {
      fetch: async (url) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        calls.push(String(url));
        await Promise.resolve();
        inFlight--;
        return json(calls.length === 1 ? 201 : 200, { status: 'x' });
      },
    });
    up.kick();
    await up.settled();
    expect(calls).toEqual([`/api/v1/blobs/${'a'.repeat(64)}`, `/api/v1/blobs/${'b'.repeat(64)}`]);
    expect(maxInFlight).toBe(1);
    expect(outbox.size).toBe(0);
    expect(up.state).toBe('idle');
  });

  it('keeps a refused photo with the server\'s reason and goes on with the next', async () => {
    const { host, outbox } = fakeHost(['a'.repeat(64), 'b'.repeat(64)]);
    const up = new PhotoUploader(host, {
      fetch: async (url) =>
        String(url).includes('aaaa') ? json(413, { code: 'too_large', message: 'The photo is larger than the server accepts.' }) : json(201, {}),
    });
    up.kick();
    await up.settled();
    expect([...outbox.keys()]).toEqual(['a'.repeat(64)]);
    expect(outbox.get('a'.repeat(64))?.refused).toEqual({ code: 'too_large', message: 'The photo is larger than the server accepts.', status: 413 });
  });

  it('retries after a network error or a 5xx with a growing, jittered delay, keeping the photo', async () => {
    const { host, outbox } = fakeHost(['c'.repeat(64)]);
    const timers = manualTimers();
    let n = 0;
    const up = new PhotoUploader(host, {
      random: () => 0.5,
      setTimer: timers.setTimer,
      clearTimer: timers.clearTimer,
      fetch: async () => {
        n++;
        if (n === 1) throw new TypeError('Failed to fetch');
        if (n === 2) return json(503, { code: 'unavailable', message: '' });
        return json(201, {});
      },
    });
    up.kick();
    await up.settled();
    expect(up.state).toBe('retry_wait');
    expect(outbox.size).toBe(1);
    expect(timers.pending.map((t) => t.ms)).toEqual([750]);
    timers.pending[0].f();
    await up.settled();
    expect(timers.pending.map((t) => t.ms)).toEqual([750, 1500]);
    timers.pending[1].f();
    await up.settled();
    expect(outbox.size).toBe(0);
    expect(n).toBe(3);
  });

  it('refreshes the token once after a 401 and uploads with the new one', async () => {
    const { host, outbox, tokens } = fakeHost(['d'.repeat(64)]);
    const auths: string[] = [];
    const up = new PhotoUploader(host, {
      fetch: async (_url, init) => {
        const a = new Headers(init?.headers).get('Authorization') ?? '';
        auths.push(a);
        return a === 'Bearer fresh' ? json(201, {}) : json(401, { code: 'unauthenticated', message: '' });
      },
    });
    up.kick();
    await up.settled();
    expect(auths).toEqual(['Bearer stale', 'Bearer fresh']);
    expect(tokens).toEqual([false, true]);
    expect(outbox.size).toBe(0);
  });

  it('stops after stop(): nothing more is sent', async () => {
    const { host, outbox } = fakeHost(['e'.repeat(64)]);
    let calls = 0;
    const up = new PhotoUploader(host, { fetch: async () => (calls++, json(201, {})) });
    up.stop();
    up.kick();
    await up.settled();
    expect(calls).toBe(0);
    expect(outbox.size).toBe(1);
  });

  it('skips a listed photo whose bytes are gone instead of spinning on it', async () => {
    const { host, outbox } = fakeHost(['f'.repeat(64), '0'.repeat(64)]);
    host.read = async (sha) => (sha.startsWith('f') ? null : new Uint8Array([1]));
    const calls: string[] = [];
    const up = new PhotoUploader(host, { fetch: async (url) => (calls.push(String(url)), json(201, {})) });
    up.kick();
    await up.settled();
    expect(calls).toEqual([`/api/v1/blobs/${'0'.repeat(64)}`]);
    expect([...outbox.keys()]).toEqual(['f'.repeat(64)]);
    expect(up.state).toBe('idle');
  });

  it('aborts an upload that gets no answer in time and retries it later, keeping the photo', async () => {
    const { host, outbox } = fakeHost(['1'.repeat(64)]);
    const timers = manualTimers();
    const up = new PhotoUploader(host, {
      timeoutMs: 20,
      minBytesPerSec: 3000, // 3 bytes: +1 ms
      setTimer: timers.setTimer,
      clearTimer: timers.clearTimer,
      fetch: (_url, init) =>
        new Promise<Response>((_res, rej) => init?.signal?.addEventListener('abort', () => rej(new DOMException('aborted', 'AbortError')))),
    });
    up.kick();
    await up.settled();
    expect(up.state).toBe('retry_wait');
    expect(timers.pending).toHaveLength(1);
    expect(outbox.size).toBe(1);
  });
});
