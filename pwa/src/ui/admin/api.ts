// REST calls of the admin area (docs/api.md "Admin"): JSON in and out, the
// access token from the app (refreshed when nearly expired, and once more
// when the server says the token is no longer valid). Errors carry the
// server's stable code; the UI translates codes, never shows raw messages.

import { app } from '../../app';
import { AuthError } from '../../sync/auth';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`api ${status}: ${code}`);
    this.name = 'ApiError';
  }
}

const TIMEOUT_MS = 20_000;

async function send(method: string, path: string, token: string, body?: unknown): Promise<Response> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  try {
    return await fetch(path, {
      method,
      headers: body === undefined ? { authorization: `Bearer ${token}` } : { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      signal: ctl.signal,
    });
  } catch {
    throw new ApiError(0, 'network');
  } finally {
    clearTimeout(timer);
  }
}

/** One API call; resolves with the parsed JSON body (undefined for 204). */
export async function api<T>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let token: string;
  try {
    token = await app.restToken();
  } catch (e) {
    throw new ApiError(401, e instanceof AuthError ? e.code : 'network');
  }
  let res = await send(method, path, token, body);
  if (res.status === 401) {
    // The access token may have expired in between: refresh once and retry.
    try {
      token = await app.restToken(true);
    } catch (e) {
      throw new ApiError(401, e instanceof AuthError ? e.code : 'network');
    }
    res = await send(method, path, token, body);
  }
  if (res.status === 204) return undefined as T;
  let json: unknown = null;
  try {
    json = await res.json();
  } catch {
    // not JSON
  }
  if (!res.ok) {
    const code = (json as { code?: unknown } | null)?.code;
    throw new ApiError(res.status, typeof code === 'string' ? code : `http_${res.status}`);
  }
  return json as T;
}

export interface Account {
  id: string;
  username: string;
  name: string;
  roles: string[];
  team: string | null;
  disabled: boolean;
  created_at: number;
  active_devices: number;
  last_seen_at: number | null;
}

export interface DeviceRow {
  id: string;
  name: string;
  created_at: number;
  last_seen_at: number;
  revoked_at: number | null;
  signed_out_at: number | null;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string | null;
  action: string;
  subject: string | null;
  detail: unknown;
}
