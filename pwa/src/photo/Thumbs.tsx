// Photos of an observation or note: thumbnails (local copy while the photo
// is in the outbox, otherwise from the server), with the upload state, and
// for a photo the server refused the reason in Dutch with "Opnieuw
// proberen" / "Foto weggooien". Also the strip of new, not yet saved photos
// of the entry forms.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { t, type MsgKey, tn } from '../i18n';
import { useApp } from '../ui/hooks';
import type { PhotoRefusal } from '../store/db';
import type { ProcessedPhoto } from './process';
import { forgetPhotoUrl, photoUrl } from './urls';
import './photo.css';

const REF = /^sha256:([0-9a-f]{64})$/;

/** The Dutch (or English) sentence for a refusal. */
export function refusalText(r: PhotoRefusal): string {
  const known = ['too_large', 'unsupported_type', 'hash_mismatch', 'invalid_hash', 'forbidden'];
  const reason = known.includes(r.code) ? t(`photos.refused.${r.code}` as MsgKey) : t('photos.refused.other', { code: r.code });
  return t('photos.refused', { reason });
}

/** The 64-hex digests of an item's photo references, in order (anything else is ignored). */
export function photoShas(refs: readonly string[]): string[] {
  return refs.map((r) => REF.exec(r)?.[1]).filter((x): x is string => !!x);
}

function Thumb({ sha, n }: { sha: string; n: number }) {
  const app = useApp();
  const [url, setUrl] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const state = app.photoState(sha);
  useEffect(() => {
    let live = true;
    void photoUrl(sha, 'thumb').then((u) => live && setUrl(u));
    return () => {
      live = false;
    };
  }, [sha, app.conn, state.kind]);
  return (
    <li class="thumb" data-testid="photo" data-sha={sha} data-state={state.kind}>
      {url ? (
        <button type="button" class="thumb-btn" onClick={() => setOpen(true)} data-testid="photo-open">
          <img src={url} alt={t('photos.thumb_alt', { n })} width={96} height={96} />
        </button>
      ) : (
        <span class="thumb-missing">{t('photos.unavailable')}</span>
      )}
      {open && <PhotoViewer sha={sha} n={n} onClose={() => setOpen(false)} />}
      {state.kind === 'waiting' && <span class="badge">{t('photos.waiting_badge')}</span>}
      {state.kind === 'uploading' && <span class="badge">{t('photos.uploading_badge')}</span>}
      {state.kind === 'refused' && state.info.refused && (
        <div class="refused" role="alert">
          <p class="error-text" data-testid="photo-refused" data-code={state.info.refused.code}>
            {refusalText(state.info.refused)}
          </p>
          <div class="row wrap">
            <button type="button" class="btn small" onClick={() => void app.retryPhoto(sha)} data-testid="photo-retry">
              {t('photos.retry')}
            </button>
            <button
              type="button"
              class="btn small danger"
              data-testid="photo-discard"
              onClick={() => {
                if (!confirm(t('photos.discard_confirm'))) return;
                forgetPhotoUrl(sha);
                void app.discardPhoto(sha);
              }}
            >
              {t('photos.discard')}
            </button>
          </div>
        </div>
      )}
    </li>
  );
}

/** The photo at full size (local copy, or GET /api/v1/blobs/{sha}), in a dialog. */
function PhotoViewer({ sha, n, onClose }: { sha: string; n: number; onClose: () => void }) {
  const [url, setUrl] = useState<string | null | undefined>(undefined);
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    close.current?.focus();
    let live = true;
    void photoUrl(sha, 'full').then((u) => live && setUrl(u));
    return () => {
      live = false;
    };
  }, [sha]);
  return (
    <div class="dialog-backdrop" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <div class="dialog photo-view" role="dialog" aria-modal="true" aria-labelledby={`pv-${sha}`} data-testid="photo-viewer">
        <h2 id={`pv-${sha}`}>{t('photos.thumb_alt', { n })}</h2>
        {url ? <img src={url} alt={t('photos.thumb_alt', { n })} data-testid="photo-full" /> : <p class="hint">{url === null ? t('photos.unavailable') : t('app.loading')}</p>}
        <button ref={close} type="button" class="btn" onClick={onClose}>
          {t('photos.close')}
        </button>
      </div>
    </div>
  );
}

/**
 * The photos referenced by an item (`sha256:<hex>`; anything else is ignored),
 * as thumbnails (96 px in the field app; `large`: 160 px, the coordinator's
 * gallery); each opens the full-size viewer.
 */
export function PhotoStrip({ refs, large = false, testId }: { refs: string[]; large?: boolean; testId?: string }) {
  const shas = photoShas(refs);
  if (shas.length === 0) return null;
  return (
    <ul class={large ? 'thumbs large' : 'thumbs'} aria-label={t('photos.heading')} data-testid={testId}>
      {shas.map((sha, i) => (
        <Thumb key={sha} sha={sha} n={i + 1} />
      ))}
    </ul>
  );
}

/**
 * One row's photos in a table cell: the first thumbnail (fetched only once
 * the cell scrolls into view) and "+N" for the others; a link to the item.
 */
export function PhotoCell({ refs, href }: { refs: string[]; href: string }) {
  const shas = photoShas(refs);
  const [url, setUrl] = useState<string | null | undefined>(undefined);
  const ref = useRef<HTMLAnchorElement>(null);
  const first = shas[0];
  useEffect(() => {
    if (!first || !ref.current) return;
    let live = true;
    const load = () => void photoUrl(first, 'thumb').then((u) => live && setUrl(u));
    // Only the rows on screen fetch their thumbnail (a long list stays cheap).
    if (typeof IntersectionObserver === 'undefined') {
      load();
      return () => {
        live = false;
      };
    }
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        io.disconnect();
        load();
      }
    });
    io.observe(ref.current);
    return () => {
      live = false;
      io.disconnect();
    };
  }, [first]);
  if (!first) return <span aria-hidden="true">–</span>;
  const label = tn('photos.count', shas.length);
  return (
    <a ref={ref} href={href} class="photo-cell" data-testid="row-photo" data-count={shas.length} title={label}>
      {url ? <img src={url} alt={label} width={56} height={56} /> : <span class="thumb-missing small">{url === null ? '?' : <span class="sr-only">{label}</span>}</span>}
      {shas.length > 1 && <span class="photo-more">+{shas.length - 1}</span>}
    </a>
  );
}

/** New photos of an entry form, shown from their bytes until the form is saved. */
export function NewPhotos({ photos, onRemove }: { photos: ProcessedPhoto[]; onRemove: (sha: string) => void }) {
  const urls = useMemo(() => photos.map((p) => URL.createObjectURL(new Blob([p.bytes as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }))), [photos]);
  useEffect(() => () => urls.forEach((u) => URL.revokeObjectURL(u)), [urls]);
  if (photos.length === 0) return null;
  return (
    <div>
      <p class="hint">{tn('photos.pending_new', photos.length)}</p>
      <ul class="thumbs" aria-label={t('photos.heading')}>
        {photos.map((p, i) => (
          <li class="thumb" key={p.sha} data-testid="new-photo" data-sha={p.sha} data-size={p.bytes.length} data-width={p.width} data-height={p.height}>
            <img src={urls[i]} alt={t('photos.new_alt', { n: i + 1 })} width={96} height={96} />
            <button type="button" class="btn small" onClick={() => onRemove(p.sha)}>
              {t('photos.remove_new')}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
