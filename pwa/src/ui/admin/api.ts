// REST calls of the admin area (docs/api.md "Admin"): JSON in and out through
// the app's one REST client (net/api.ts: token, one retry after a 401, one
// ApiError). Errors carry the server's stable code; the UI translates codes,
// never shows raw messages.

import { app } from '../../app';
import type { Method } from '../../net/api';

export { ApiError } from '../../net/api';

/** One API call (the app's one REST client); resolves with the parsed JSON body (undefined for 204). */
export function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  return app.api.json<T>(method, path, body);
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
