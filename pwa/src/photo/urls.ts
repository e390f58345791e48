// Object URLs for showing photos. A photo still in the outbox is shown from
// its local (decrypted) copy, so it is visible offline at once; otherwise it
// is fetched from the server (GET /api/v1/blobs/{sha}[/thumb] with the access
// token) into a blob URL. Only successes are cached; all URLs are revoked on
// logout or wipe.

import { app } from '../app';

const cache = new Map<string, Promise<string | null>>();

/** Blob URL of a photo (`sha` = 64 hex), or null when it cannot be shown now. */
export function photoUrl(sha: string, size: 'thumb' | 'full'): Promise<string | null> {
  const key = `${size}:${sha}`;
  let p = cache.get(key);
  if (!p) {
    p = load(sha, size).then((url) => {
      if (!url) cache.delete(key);
      return url;
    });
    cache.set(key, p);
  }
  return p;
}

async function load(sha: string, size: 'thumb' | 'full'): Promise<string | null> {
  const local = await app.localPhoto(sha);
  if (local) return URL.createObjectURL(new Blob([local as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
  for (const force of [false, true]) {
    const token = await app.apiToken(force);
    if (!token) return null;
    let res: Response;
    try {
      res = await fetch(`/api/v1/blobs/${sha}${size === 'thumb' ? '/thumb' : ''}`, {
        headers: { Authorization: `Bearer ${token}` },
      });
    } catch {
      return null;
    }
    if (res.status === 401 && !force) continue;
    if (!res.ok) return null;
    return URL.createObjectURL(await res.blob());
  }
  return null;
}

/** Forget (and revoke) every URL: after logout or wipe nothing of the photos stays reachable. */
export function clearPhotoUrls(): void {
  for (const p of cache.values()) void p.then((u) => u && URL.revokeObjectURL(u));
  cache.clear();
}

/** Drop the cached URLs of one photo (e.g. its local copy was just discarded). */
export function forgetPhotoUrl(sha: string): void {
  for (const size of ['thumb', 'full']) {
    const key = `${size}:${sha}`;
    const p = cache.get(key);
    if (p) void p.then((u) => u && URL.revokeObjectURL(u));
    cache.delete(key);
  }
}
