// Photo URLs for the screens: the app's cache (urlCache.ts).

import { app } from '../app';
import type { PhotoSize } from './urlCache';

/** Blob URL of a photo (`sha` = 64 hex), or null when it cannot be shown now. */
export function photoUrl(sha: string, size: PhotoSize): Promise<string | null> {
  return app.photoUrls.get(sha, size);
}

/** Drop the cached URLs of one photo (e.g. its local copy was just discarded). */
export function forgetPhotoUrl(sha: string): void {
  app.photoUrls.forget(sha);
}
