// The session's tokens against a small in-test auth server that behaves like
// the real one where it matters: refresh tokens rotate, and presenting a used
// one again revokes the device. Together with the one REST client (net/api.ts).

import { describe, expect, it } from 'vitest';
import { SessionAuth, REFRESH_MARGIN_MS, type AuthRest, type SessionHost } from './session';
import { Api, ApiError } from '../net/api';
import { AuthError, type Session } from '../sync/auth';

const USER = { id: 'boa-1', name: 'Boa Een', roles: ['boa'], team: 'team-oost' };
const HOUR = 3_600_000;

/** Refresh tokens rotate; a used one, or any after `revoke()`, is answered `revoked`. */
class AuthServer implements AuthRest {
  refreshes = 0;
  loggedOut: string[] = [];
  offline = false;
  private n = 0;
  private live = new Set<string>();
  private used = new Set<string>();
  private expired = new Set<string>();
  constructor(private now: () => number) {}
  private issue(): Session {
    const s: Session = { accessToken: `a${++this.n}`, accessExp: this.now() + HOUR, refreshToken: `r${this.n}`, user: USER, deviceId: 'dev-1' };
    this.live.add(s.refreshToken);
    return s;
  }
  async login(): Promise<Session> {
    return this.issue();
  }
  async refresh(token: string): Promise<Session> {
    this.refreshes++;
    await Promise.resolve();
    if (this.offline) throw new AuthError('network', 'network');
    if (this.expired.has(token)) throw new AuthError('refused', 'invalid_token');
    if (this.used.has(token) || !this.live.has(token)) {
      this.live.clear();
      throw new AuthError('refused', 'revoked');
    }
    this.live.delete(token);
    this.used.add(token);
    return this.issue();
  }
  async logout(token: string): Promise<void> {
    this.loggedOut.push(token);
    this.live.delete(token);
  }
  revoke(): void {
    this.live.clear();
  }
  expire(token: string): void {
    this.expired.add(token);
  }
}

function harness() {
  let now = 1_767_225_600_000;
  const server = new AuthServer(() => now);
  const saved: Session[] = [];
  let revoked = 0;
  const host: SessionHost = {
    save: async (s) => void saved.push(s),
    revoked: () => void revoked++,
    changed: () => undefined,
  };
  const auth = new SessionAuth(host, server, () => now);
  return { server, auth, saved, revoked: () => revoked, advance: (ms: number) => (now += ms) };
}

async function loggedIn() {
  const h = harness();
  await h.auth.login('boa', 'geheim', 'Browser', async () => undefined);
  return h;
}

describe('SessionAuth', () => {
  it('uses the access token until shortly before it expires, then refreshes and stores the new session', async () => {
    const h = await loggedIn();
    expect(await h.auth.accessToken(false)).toBe('a1');
    h.advance(HOUR - REFRESH_MARGIN_MS - 1);
    expect(await h.auth.accessToken(false)).toBe('a1');
    expect(h.server.refreshes).toBe(0);
    h.advance(2);
    expect(await h.auth.accessToken(false)).toBe('a2');
    expect(h.auth.session?.refreshToken).toBe('r2');
    expect(h.saved.map((s) => s.refreshToken)).toEqual(['r1', 'r2']);
  });

  it('refreshes once for callers asking at the same time (a rotated refresh token presented twice would revoke the device)', async () => {
    const h = await loggedIn();
    const tokens = await Promise.all([h.auth.accessToken(true), h.auth.restToken(true), h.auth.uploadToken(true)]);
    expect(tokens).toEqual(['a2', 'a2', 'a2']);
    expect(h.server.refreshes).toBe(1);
    expect(h.revoked()).toBe(0);
  });

  it('a revoked device is handled once, whoever notices it; REST callers get ApiError revoked, uploads null', async () => {
    const h = await loggedIn();
    h.server.revoke();
    await expect(h.auth.restToken(true)).rejects.toMatchObject({ status: 401, code: 'revoked' });
    expect(await h.auth.uploadToken(true)).toBeNull();
    h.auth.revoked(); // close code 4003 from the sync connection
    expect(h.revoked()).toBe(1);
    expect(h.auth.authNeeded).toBe(false);
  });

  it('a refused session asks for a new login and keeps the device: ApiError session_ended', async () => {
    const h = await loggedIn();
    h.server.expire('r1');
    await expect(h.auth.restToken(true)).rejects.toEqual(new ApiError(401, 'session_ended', 'log in again'));
    expect(h.auth.authNeeded).toBe(true);
    expect(h.revoked()).toBe(0);
    await h.auth.login('boa', 'geheim', 'Browser', async () => undefined);
    expect(h.auth.authNeeded).toBe(false);
  });

  it('no connection while refreshing: ApiError network, and the session stays', async () => {
    const h = await loggedIn();
    h.server.offline = true;
    await expect(h.auth.restToken(true)).rejects.toMatchObject({ status: 0, code: 'network' });
    await expect(h.auth.accessToken(true)).rejects.toBeInstanceOf(AuthError);
    expect(h.auth.session?.refreshToken).toBe('r1');
    h.server.offline = false;
    expect(await h.auth.accessToken(true)).toBe('a2');
  });

  it('a login that the app refuses (another user with unsent work) gives the new refresh token back', async () => {
    const h = await loggedIn();
    await expect(
      h.auth.login('ander', 'geheim', 'Browser', async () => {
        throw new AuthError('refused', 'wrong_user');
      }),
    ).rejects.toMatchObject({ code: 'wrong_user' });
    expect(h.server.loggedOut).toEqual(['r2']);
    expect(h.auth.session?.refreshToken).toBe('r1');
  });

  it('a logout or wipe during a refresh does not bring the session back', async () => {
    const h = await loggedIn();
    const p = h.auth.accessToken(true);
    h.auth.clear();
    expect(await p).toBe('a2');
    expect(h.auth.session).toBeNull();
    expect(await h.auth.accessToken(false)).toBe('refused');
  });
});

describe('Api (with the session as its token source)', () => {
  function recordingServer(answer: (auth: string, n: number) => Response) {
    const calls: { url: string; auth: string; method: string; body: string | null }[] = [];
    const f: typeof fetch = async (url, init) => {
      const auth = new Headers(init?.headers).get('authorization') ?? '';
      calls.push({ url: String(url), auth, method: init?.method ?? 'GET', body: (init?.body as string | undefined) ?? null });
      return answer(auth, calls.length);
    };
    return { calls, f };
  }
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  it('sends the bearer token; after a 401 refreshes once and retries once', async () => {
    const h = await loggedIn();
    const { calls, f } = recordingServer((auth) => (auth === 'Bearer a2' ? json(200, { ok: 1 }) : json(401, { code: 'unauthenticated' })));
    const api = new Api((force) => h.auth.restToken(force), f);
    expect(await api.json('POST', '/api/v1/x', { a: 1 })).toEqual({ ok: 1 });
    expect(calls.map((c) => [c.auth, c.method, c.body])).toEqual([
      ['Bearer a1', 'POST', '{"a":1}'],
      ['Bearer a2', 'POST', '{"a":1}'],
    ]);
    expect(h.server.refreshes).toBe(1);
  });

  it("a second 401 is the caller's ApiError with the server's code; no third try", async () => {
    const h = await loggedIn();
    const { calls, f } = recordingServer(() => json(401, { code: 'unauthenticated', message: 'token expired' }));
    const api = new Api((force) => h.auth.restToken(force), f);
    await expect(api.fetch('/api/v1/items')).rejects.toEqual(new ApiError(401, 'unauthenticated', 'token expired'));
    expect(calls).toHaveLength(2);
  });

  it('refusals carry the stable code (or http_<status> without a JSON body); 204 is undefined; no network is code network', async () => {
    const h = await loggedIn();
    const answers = [json(409, { code: 'username_taken', message: 'taken' }), new Response('<html>', { status: 502 }), new Response(null, { status: 204 })];
    const api = new Api((force) => h.auth.restToken(force), async () => answers.shift()!);
    await expect(api.json('POST', '/a')).rejects.toMatchObject({ status: 409, code: 'username_taken' });
    await expect(api.json('GET', '/b')).rejects.toMatchObject({ status: 502, code: 'http_502' });
    expect(await api.json('DELETE', '/c')).toBeUndefined();
    const offline = new Api((force) => h.auth.restToken(force), async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(offline.json('GET', '/d')).rejects.toMatchObject({ status: 0, code: 'network' });
  });

  it('a revoked device: no request is sent and the device is wiped once', async () => {
    const h = await loggedIn();
    h.advance(HOUR);
    h.server.revoke();
    const { calls, f } = recordingServer(() => json(200, {}));
    const api = new Api((force) => h.auth.restToken(force), f);
    await expect(api.json('GET', '/api/v1/people')).rejects.toMatchObject({ status: 401, code: 'revoked' });
    await expect(api.json('GET', '/api/v1/people')).rejects.toMatchObject({ code: 'revoked' });
    expect(calls).toHaveLength(0);
    expect(h.revoked()).toBe(1);
  });
});
