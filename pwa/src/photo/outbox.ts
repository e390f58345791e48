// The photo outbox: processed photos stored on this device (encrypted, in the
// same transaction as the edit that references them) until the server has
// them. The uploader (uploader.ts) sends them one at a time; a photo the server
// refuses stays, with the reason, until the user retries or discards it.

import { PhotoUploader, type UploaderOptions } from './uploader';
import type { ProcessedPhoto } from './process';
import type { LocalStore, PhotoInfo } from '../store/db';
import type { WriteQueue } from '../store/queue';
import type { PhotoWrite } from '../model/repository';

export type PhotoState = { kind: 'sent' } | { kind: 'waiting' } | { kind: 'uploading' } | { kind: 'refused'; info: PhotoInfo };

export interface OutboxHost {
  /** The open local store (throws StoreError 'unavailable' when there is none). */
  store(): LocalStore;
  /** The queue every write of the app goes through. */
  readonly queue: WriteQueue;
  /** An access token for uploads (refreshed when nearly expired, or always when `force`); null when a new login is needed. */
  token(force: boolean): Promise<string | null>;
  /** The outbox or the upload state changed. */
  changed(): void;
  /** A photo left the outbox (e.g. to log out once everything is sent). */
  left(): Promise<void>;
  /** A write failed: shown in the header's banner. */
  storeError(e: unknown): void;
}

export class PhotoOutbox {
  /** Oldest first: processed photos not yet confirmed by the server. */
  photos: PhotoInfo[] = [];
  uploader: PhotoUploader | null = null;

  constructor(
    private readonly host: OutboxHost,
    private readonly uploaderOptions: UploaderOptions = {},
  ) {}

  /** What the store holds (at boot). */
  restore(photos: PhotoInfo[]): void {
    this.photos = photos;
  }

  /** A processed photo as it is written together with the edit that references it. */
  static write(p: ProcessedPhoto, now = Date.now()): PhotoWrite {
    return { info: { sha: p.sha, size: p.bytes.length, addedAt: now, refused: null }, bytes: p.bytes };
  }

  /** Photos just committed with an edit: into the outbox, and send them. */
  added(writes: PhotoWrite[]): void {
    if (writes.length === 0) return;
    for (const it of writes) this.photos = [...this.photos.filter((p) => p.sha !== it.info.sha), it.info];
    this.host.changed();
    this.kick();
  }

  /** Start sending (after boot or login). */
  start(): void {
    this.uploader?.stop();
    this.uploader = new PhotoUploader(
      {
        list: async () => this.photos,
        read: (sha) => this.host.store().getPhoto(sha),
        uploaded: async (sha) => {
          await this.host.queue.run(() => this.host.store().deletePhoto(sha));
          this.photos = this.photos.filter((p) => p.sha !== sha);
          this.host.changed();
          await this.host.left();
        },
        refused: async (info, refusal) => {
          const next = { ...info, refused: refusal };
          await this.host.queue.run(() => this.host.store().putPhotoInfo(next));
          this.photos = this.photos.map((p) => (p.sha === info.sha ? next : p));
          this.host.changed();
        },
        token: (force) => this.host.token(force),
        changed: () => this.host.changed(),
      },
      this.uploaderOptions,
    );
    this.uploader.kick();
  }

  /** Send now (skipping a backoff wait): a new photo, the network is back. */
  kick(): void {
    this.uploader?.kick();
  }

  stop(): void {
    this.uploader?.stop();
  }

  /** Forget everything (the local data is being wiped). */
  clear(): void {
    this.uploader?.stop();
    this.uploader = null;
    this.photos = [];
  }

  /** Where a photo stands on this device: in the outbox (waiting, uploading, refused) or not (sent). */
  state(sha: string): PhotoState {
    const p = this.photos.find((x) => x.sha === sha);
    if (!p) return { kind: 'sent' };
    if (p.refused) return { kind: 'refused', info: p };
    return this.uploader?.current === sha ? { kind: 'uploading' } : { kind: 'waiting' };
  }

  /** The user asks to send a refused photo again. */
  async retry(sha: string): Promise<void> {
    const p = this.photos.find((x) => x.sha === sha);
    if (!p) return;
    const next = { ...p, refused: null };
    await this.host.queue.run(() => this.host.store().putPhotoInfo(next)).catch((e) => this.host.storeError(e));
    this.photos = this.photos.map((x) => (x.sha === sha ? next : x));
    this.host.changed();
    this.kick();
  }

  /** The user gives up on a refused photo: it leaves the outbox (the reference in the document stays). */
  async discard(sha: string): Promise<void> {
    await this.host.queue.run(() => this.host.store().deletePhoto(sha)).catch((e) => this.host.storeError(e));
    this.photos = this.photos.filter((x) => x.sha !== sha);
    this.host.changed();
    await this.host.left();
  }

  /** The bytes of a photo still in the outbox (for showing it offline), or null. */
  async local(sha: string): Promise<Uint8Array | null> {
    if (!this.photos.some((p) => p.sha === sha)) return null;
    let store: LocalStore;
    try {
      store = this.host.store();
    } catch {
      return null;
    }
    return store.getPhoto(sha).catch(() => null);
  }
}
