// The one REST client of the app (docs/api.md): every call to /api/v1/...
// that needs the user goes through `Api.fetch`. It sends the access token as
// a bearer token (the session refreshes it first when it is nearly expired),
// and when the server still answers 401 it asks for a forced refresh and tries
// once more. Every failure is an ApiError with the server's stable `code`
// (`network` when the server could not be reached; `session_ended` or
// `revoked` when the user must log in again). What a revoked device means
// (wipe, dialog) is decided in one place, the session, not here.

/** A failed API call: HTTP status (0: not reached) and the server's stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message = `api ${status}: ${code}`,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * An access token, refreshed first when nearly expired or when `force` is
 * set (after a 401). Rejects with an ApiError when there is none to have.
 */
export type TokenSource = (force: boolean) => Promise<string>;

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface ApiRequest {
  method?: Method;
  /** Sent as JSON when present. */
  body?: unknown;
  /** Give up waiting for the answer's headers after this long (none: wait). */
  timeoutMs?: number;
}

/** JSON calls wait this long for an answer. */
export const JSON_TIMEOUT_MS = 20_000;

export class Api {
  constructor(
    private readonly token: TokenSource,
    private readonly doFetch: typeof fetch = (...a: Parameters<typeof fetch>) => fetch(...a),
  ) {}

  /** One call: resolves with the (2xx) response, rejects with an ApiError. */
  async fetch(path: string, req: ApiRequest = {}): Promise<Response> {
    let res = await this.send(path, req, await this.token(false));
    if (res.status === 401) {
      // The access token may have expired in between: refresh once and retry.
      res = await this.send(path, req, await this.token(true));
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  /** One JSON call: resolves with the parsed body (undefined for 204). */
  async json<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(path, { method, body, timeoutMs: JSON_TIMEOUT_MS });
    if (res.status === 204) return undefined as T;
    try {
      return (await res.json()) as T;
    } catch {
      throw new ApiError(res.status, 'invalid_response', 'the answer is not JSON');
    }
  }

  private async send(path: string, req: ApiRequest, token: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const ctl = new AbortController();
    const timer = req.timeoutMs === undefined ? null : setTimeout(() => ctl.abort(), req.timeoutMs);
    try {
      return await this.doFetch(path, {
        method: req.method ?? 'GET',
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        cache: 'no-store',
        credentials: 'omit',
        signal: ctl.signal,
      });
    } catch {
      throw new ApiError(0, 'network', 'no connection to the server');
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }
}

/** The ApiError of a refused call: the body's `code` and `message` when it is the server's JSON error. */
export async function errorOf(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText;
  try {
    const b = (await res.json()) as { code?: unknown; message?: unknown };
    if (typeof b.code === 'string') code = b.code;
    if (typeof b.message === 'string') message = b.message;
  } catch {
    // not JSON (a proxy's error page): the status says it all
  }
  return new ApiError(res.status, code, message);
}
