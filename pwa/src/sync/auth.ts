// REST auth client (/api/v1/auth/*, docs/api.md). Tokens are kept only in the
// encrypted store (never in localStorage) and never logged.

import type { ServerUser } from './frames';

export interface Session {
  accessToken: string;
  /** ms since epoch when the access token expires (from expires_in). */
  accessExp: number;
  refreshToken: string;
  user: ServerUser;
  deviceId: string;
}

/** Why an auth request failed: the server said no, or we could not reach it. */
export class AuthError extends Error {
  constructor(
    readonly kind: 'refused' | 'network' | 'rate_limited' | 'server',
    readonly code: string,
  ) {
    super(`auth ${kind}: ${code}`);
    this.name = 'AuthError';
  }
}

const TIMEOUT_MS = 15_000;

async function post(path: string, body: unknown): Promise<Response> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  try {
    return await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: ctl.signal,
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new AuthError('network', 'network');
  } finally {
    clearTimeout(timer);
  }
}

async function sessionFrom(res: Response): Promise<Session> {
  if (res.ok) {
    const j = (await res.json()) as Record<string, unknown>;
    const u = (j.user ?? {}) as Record<string, unknown>;
    return {
      accessToken: String(j.access_token),
      accessExp: Date.now() + Number(j.expires_in ?? 0) * 1000,
      refreshToken: String(j.refresh_token),
      user: {
        id: String(u.id ?? ''),
        name: String(u.name ?? ''),
        roles: Array.isArray(u.roles) ? u.roles.map(String) : [],
        team: typeof u.team === 'string' ? u.team : null,
      },
      deviceId: String(j.device_id ?? ''),
    };
  }
  let code = `http_${res.status}`;
  try {
    const j = (await res.json()) as { code?: unknown };
    if (typeof j.code === 'string') code = j.code;
  } catch {
    // not JSON: keep the status code
  }
  if (res.status === 429) throw new AuthError('rate_limited', code);
  if (res.status >= 500) throw new AuthError('server', code);
  throw new AuthError('refused', code);
}

// Login-trust tokens (docs/security.md): the server gives one with every
// successful login; sent back with the next login to the same account, it
// keeps this device out of the lockout a password-guessing attack on the
// account triggers for unknown clients. It is no credential (the password
// is still needed), so it lives in localStorage, per account, and survives
// logout and the local wipe on purpose.
const TRUST_KEY = 'wijklog.loginTrust';

function trustStore(): Record<string, string> {
  try {
    const raw = globalThis.localStorage?.getItem(TRUST_KEY);
    const parsed: unknown = raw ? JSON.parse(raw) : {};
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function accountKey(username: string): string {
  return username.trim().toLowerCase();
}

export function loginTrustFor(username: string): string | undefined {
  const t = trustStore()[accountKey(username)];
  return typeof t === 'string' ? t : undefined;
}

function rememberLoginTrust(username: string, token: unknown): void {
  if (typeof token !== 'string' || token.length === 0 || token.length > 64) return;
  try {
    const all = trustStore();
    all[accountKey(username)] = token;
    globalThis.localStorage?.setItem(TRUST_KEY, JSON.stringify(all));
  } catch {
    // storage full or unavailable: the next login is simply untrusted
  }
}

export async function login(username: string, password: string, deviceName: string): Promise<Session> {
  const res = await post('/api/v1/auth/login', {
    username,
    password,
    device_name: deviceName,
    login_trust: loginTrustFor(username),
  });
  if (res.ok) {
    const body = (await res.clone().json().catch(() => ({}))) as { login_trust?: unknown };
    rememberLoginTrust(username, body.login_trust);
  }
  return sessionFrom(res);
}

export async function refresh(refreshToken: string): Promise<Session> {
  return sessionFrom(await post('/api/v1/auth/refresh', { refresh_token: refreshToken }));
}

/** Tell the server to drop the refresh token; failures are ignored (the local wipe happens anyway). */
export async function logout(refreshToken: string): Promise<void> {
  try {
    await post('/api/v1/auth/logout', { refresh_token: refreshToken });
  } catch {
    // offline: the token dies with its expiry or device revocation
  }
}
