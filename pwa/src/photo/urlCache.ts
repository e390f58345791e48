// Object URLs for showing photos. A photo still in the outbox is shown from
// its local (decrypted) copy, so it is visible offline at once; otherwise it
// is fetched from the server (GET /api/v1/blobs/{sha}[/thumb]) into a blob
// URL. Only successes are cached; all URLs are revoked on logout or wipe.

export interface PhotoSource {
  /** The bytes of a photo still in the outbox, or null. */
  local(sha: string): Promise<Uint8Array | null>;
  /** An authenticated GET (the app's Api.fetch): a 2xx response, or it rejects. */
  fetch(path: string): Promise<Response>;
}

export type PhotoSize = 'thumb' | 'full';

export class PhotoUrls {
  private cache = new Map<string, Promise<string | null>>();

  constructor(private readonly source: PhotoSource) {}

  /** Blob URL of a photo (`sha` = 64 hex), or null when it cannot be shown now. */
  get(sha: string, size: PhotoSize): Promise<string | null> {
    const key = `${size}:${sha}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.load(sha, size).then((url) => {
        if (!url) this.cache.delete(key);
        return url;
      });
      this.cache.set(key, p);
    }
    return p;
  }

  /** Forget (and revoke) every URL: after logout or wipe nothing of the photos stays reachable. */
  clear(): void {
    for (const p of this.cache.values()) void p.then((u) => u && URL.revokeObjectURL(u));
    this.cache.clear();
  }

  /** Drop the cached URLs of one photo (e.g. its local copy was just discarded). */
  forget(sha: string): void {
    for (const size of ['thumb', 'full']) {
      const key = `${size}:${sha}`;
      const p = this.cache.get(key);
      if (p) void p.then((u) => u && URL.revokeObjectURL(u));
      this.cache.delete(key);
    }
  }

  private async load(sha: string, size: PhotoSize): Promise<string | null> {
    const local = await this.source.local(sha);
    if (local) return URL.createObjectURL(new Blob([local as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
    try {
      const res = await this.source.fetch(`/api/v1/blobs/${sha}${size === 'thumb' ? '/thumb' : ''}`);
      return URL.createObjectURL(await res.blob());
    } catch {
      return null;
    }
  }
}
