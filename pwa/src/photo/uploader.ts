// The photo uploader: sends the photos of the outbox to the server, one at a
// time, oldest first, with `PUT /api/v1/blobs/{sha256}` (body = the bytes,
// access token as bearer). The server answers 201 for a new photo and 200 for
// one it already has, so a retry after a lost answer is simply a success.
//
// Outcomes of one attempt:
// - 200/201: the photo leaves the outbox.
// - 401: the access token is refreshed once and the photo is tried again; if
//   the refresh is refused the uploader waits for a new login (kick()).
// - network error, timeout (60 s plus the photo's size at 4 KB/s), 408/425/429,
//   5xx, 400 incomplete_body: retried
//   after a backoff delay with jitter (sync/backoff.ts); the outbox is left
//   as it is, so a reload or a crash in between changes nothing.
// - any other 4xx (too_large, unsupported_type, hash_mismatch, forbidden, ...):
//   the refusal {code, message} is stored with the photo, which stays in the
//   outbox and is skipped until the user retries or discards it.

import { backoffDelay } from '../sync/backoff';
import type { PhotoInfo, PhotoRefusal } from '../store/db';

export interface UploadHost {
  /** The outbox, oldest first. */
  list(): Promise<PhotoInfo[]>;
  /** The bytes of a photo in the outbox (null: gone meanwhile). */
  read(sha: string): Promise<Uint8Array | null>;
  /** The server has the photo: remove it from the outbox. */
  uploaded(sha: string): Promise<void>;
  /** The server refused the photo: keep it, with the reason. */
  refused(info: PhotoInfo, refusal: PhotoRefusal): Promise<void>;
  /** An access token (refreshed when nearly expired, or always when `force`); null when a new login is needed. */
  token(force: boolean): Promise<string | null>;
  /** State changed (for the indicator). */
  changed(): void;
}

export interface UploaderOptions {
  base?: string;
  fetch?: typeof fetch;
  random?: () => number;
  setTimer?: (f: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
  /**
   * Abort one upload (a silently dead connection) after timeoutMs plus the
   * time the photo needs at minBytesPerSec, so a slow but working link is
   * never cut off.
   */
  timeoutMs?: number;
  minBytesPerSec?: number;
}

export type UploaderState = 'idle' | 'uploading' | 'retry_wait' | 'auth_needed' | 'stopped';

type Outcome = { kind: 'ok' } | { kind: 'retry' } | { kind: 'unauthenticated' } | { kind: 'refused'; refusal: PhotoRefusal };

/** One PUT of one photo, classified. Never throws. */
export async function putPhoto(
  doFetch: typeof fetch,
  base: string,
  token: string,
  sha: string,
  bytes: Uint8Array,
  timeoutMs: number,
): Promise<Outcome> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  let res: Response;
  try {
    res = await doFetch(`${base}/api/v1/blobs/${sha}`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/jpeg' },
      body: new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }),
      signal: ctl.signal,
      cache: 'no-store',
    });
  } catch {
    return { kind: 'retry' };
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 200 || res.status === 201) return { kind: 'ok' };
  let body: { code?: unknown; message?: unknown } = {};
  try {
    body = await res.json();
  } catch {
    // not JSON (a proxy's error page): classified by status alone
  }
  const code = typeof body.code === 'string' ? body.code : `http_${res.status}`;
  const message = typeof body.message === 'string' ? body.message : '';
  if (res.status === 401) return { kind: 'unauthenticated' };
  if (res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500 || code === 'incomplete_body') {
    return { kind: 'retry' };
  }
  if (res.status >= 400) return { kind: 'refused', refusal: { code, message, status: res.status } };
  return { kind: 'retry' };
}

export class PhotoUploader {
  state: UploaderState = 'idle';
  /** The photo being uploaded now. */
  current: string | null = null;
  private attempt = 0;
  private timer: unknown = null;
  private running = false;
  private again = false;
  private readonly o: Required<UploaderOptions>;

  constructor(
    private readonly host: UploadHost,
    opts: UploaderOptions = {},
  ) {
    this.o = {
      base: opts.base ?? '',
      fetch: opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a)),
      random: opts.random ?? Math.random,
      setTimer: opts.setTimer ?? ((f, ms) => setTimeout(f, ms)),
      clearTimer: opts.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>)),
      timeoutMs: opts.timeoutMs ?? 60_000,
      minBytesPerSec: opts.minBytesPerSec ?? 4096,
    };
  }

  /** Start (or restart at once, skipping a backoff wait): after boot, login, a new photo, being online. */
  kick(): void {
    if (this.state === 'stopped') return;
    if (this.timer !== null) {
      this.o.clearTimer(this.timer);
      this.timer = null;
    }
    if (this.running) {
      this.again = true;
      return;
    }
    void this.run();
  }

  /** Stop for good (logout, wipe). */
  stop(): void {
    this.state = 'stopped';
    if (this.timer !== null) this.o.clearTimer(this.timer);
    this.timer = null;
  }

  /** Resolves when the current run is over (for tests). */
  private done: Promise<void> = Promise.resolve();
  settled(): Promise<void> {
    return this.done;
  }

  private run(): Promise<void> {
    this.running = true;
    this.done = this.loop()
      .catch(() => this.schedule())
      .finally(() => {
        this.running = false;
        this.current = null;
        if (this.again && this.state !== 'stopped') {
          this.again = false;
          this.kick();
        }
        this.host.changed();
      });
    return this.done;
  }

  private async loop(): Promise<void> {
    let refreshed = false;
    // Listed but without bytes (removed meanwhile): skipped for this run.
    const gone = new Set<string>();
    for (;;) {
      if (this.state === 'stopped') return;
      this.again = false;
      const next = (await this.host.list()).find((p) => !p.refused && !gone.has(p.sha));
      if (!next) {
        this.state = 'idle';
        return;
      }
      const bytes = await this.host.read(next.sha);
      if (!bytes) {
        gone.add(next.sha);
        continue;
      }
      const token = await this.host.token(refreshed);
      if (!token) {
        this.state = 'auth_needed';
        return;
      }
      this.state = 'uploading';
      this.current = next.sha;
      this.host.changed();
      const timeout = this.o.timeoutMs + Math.ceil((bytes.length / this.o.minBytesPerSec) * 1000);
      const out = await putPhoto(this.o.fetch, this.o.base, token, next.sha, bytes, timeout);
      if ((this.state as UploaderState) === 'stopped') return;
      if (out.kind === 'ok') {
        this.attempt = 0;
        refreshed = false;
        await this.host.uploaded(next.sha);
      } else if (out.kind === 'refused') {
        this.attempt = 0;
        await this.host.refused(next, out.refusal);
      } else if (out.kind === 'unauthenticated' && !refreshed) {
        refreshed = true;
      } else {
        this.schedule();
        return;
      }
    }
  }

  private schedule(): void {
    if (this.state === 'stopped') return;
    this.state = 'retry_wait';
    const delay = backoffDelay(this.attempt++, this.o.random);
    this.timer = this.o.setTimer(() => {
      this.timer = null;
      this.kick();
    }, delay);
  }
}
