// Photo entry points: "Foto maken" (camera, capture=environment) and "Foto
// kiezen" (gallery), then the redaction screen, then processing (redact,
// downscale, JPEG, hash). The caller decides what to do with the result:
// keep it with a new observation, or attach it to an existing one.

import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { decodeImage, processPhoto, type ProcessedPhoto, type Rect } from './process';
import { Redactor } from './Redactor';
import './photo.css';

let seq = 0;

export function PhotoPicker({ onPhoto }: { onPhoto: (p: ProcessedPhoto) => Promise<void> }) {
  const [id] = useState(() => `photo-${++seq}`);
  const [bitmap, setBitmap] = useState<ImageBitmap | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function picked(e: Event) {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    setError(null);
    try {
      setBitmap(await decodeImage(file));
    } catch {
      setError(t('photos.error.decode'));
    }
  }

  async function save(rects: Rect[]) {
    if (!bitmap) return;
    setBusy(true);
    try {
      const p = await processPhoto(bitmap, rects);
      await onPhoto(p);
      bitmap.close();
      setBitmap(null);
    } catch (err) {
      setError(t('photos.error.process', { code: (err as { code?: string }).code ?? (err as Error).name ?? 'error' }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="photo-picker">
      <div class="row wrap">
        {/* The (transparent) file input covers its label, so the whole button is the input's tap target. */}
        <label class="btn file-btn" for={`${id}-take`}>
          {t('photos.take')}
          <input id={`${id}-take`} class="file-input" type="file" accept="image/*" capture="environment" onChange={picked} data-testid="photo-input-take" />
        </label>
        <label class="btn file-btn" for={`${id}-pick`}>
          {t('photos.pick')}
          <input id={`${id}-pick`} class="file-input" type="file" accept="image/*" onChange={picked} data-testid="photo-input-pick" />
        </label>
      </div>
      {error && (
        <p class="error-text" role="alert" data-testid="photo-error">
          {error}
        </p>
      )}
      {bitmap && (
        <Redactor
          bitmap={bitmap}
          busy={busy}
          onSave={(r) => void save(r)}
          onCancel={() => {
            bitmap.close();
            setBitmap(null);
          }}
        />
      )}
    </div>
  );
}
