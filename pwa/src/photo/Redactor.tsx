// The redaction screen: the photo on a canvas, on which the user drags
// rectangles over faces and number plates (pointer events: touch, pen and
// mouse alike). The preview shows the pixelation exactly as it will be burned
// into the stored photo (same drawRedacted() as processPhoto()). Keyboard
// alternative: "Vlak toevoegen" adds an area in the middle; on the focused
// canvas the arrow keys move the chosen area, Shift + arrows resize it,
// Delete removes it.

import { useEffect, useRef, useState } from 'preact/hooks';
import { t, tn } from '../i18n';
import { drawRedacted, normRect, targetSize, type Rect } from './process';

/** Longest side of the on-screen preview canvas, in pixels. */
const PREVIEW_SIDE = 1000;
const STEP = 0.02;
const MIN_SIDE = 0.01;

export function Redactor({ bitmap, busy, onSave, onCancel }: { bitmap: ImageBitmap; busy: boolean; onSave: (rects: Rect[]) => void; onCancel: () => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const [rects, setRects] = useState<Rect[]>([]);
  const [sel, setSel] = useState(-1);
  const [draft, setDraft] = useState<Rect | null>(null);
  const start = useRef<{ x: number; y: number; id: number } | null>(null);
  const size = targetSize(bitmap.width, bitmap.height, PREVIEW_SIDE);

  useEffect(() => heading.current?.focus(), []);

  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const all = draft ? [...rects, normRect(draft)] : rects;
    drawRedacted(ctx, bitmap, size.width, size.height, all);
    all.forEach((r, i) => {
      ctx.lineWidth = Math.max(2, size.width / 250);
      ctx.strokeStyle = i === sel ? '#ffd43b' : '#ffffff';
      ctx.strokeRect(r.x * size.width, r.y * size.height, r.w * size.width, r.h * size.height);
    });
  }, [rects, draft, sel, bitmap]);

  function pos(e: PointerEvent): { x: number; y: number } {
    const b = canvas.current!.getBoundingClientRect();
    return { x: (e.clientX - b.left) / b.width, y: (e.clientY - b.top) / b.height };
  }

  function onDown(e: PointerEvent) {
    if (busy) return;
    e.preventDefault();
    canvas.current?.setPointerCapture(e.pointerId);
    const p = pos(e);
    start.current = { ...p, id: e.pointerId };
    setDraft({ x: p.x, y: p.y, w: 0, h: 0 });
  }

  function onMove(e: PointerEvent) {
    const s = start.current;
    if (!s || s.id !== e.pointerId) return;
    const p = pos(e);
    setDraft({ x: s.x, y: s.y, w: p.x - s.x, h: p.y - s.y });
  }

  function onUp(e: PointerEvent) {
    const s = start.current;
    if (!s || s.id !== e.pointerId) return;
    start.current = null;
    const p = pos(e);
    const r = normRect({ x: s.x, y: s.y, w: p.x - s.x, h: p.y - s.y });
    setDraft(null);
    if (r.w >= MIN_SIDE && r.h >= MIN_SIDE) {
      setRects((rs) => [...rs, r]);
      setSel(rects.length);
    }
  }

  function update(i: number, f: (r: Rect) => Rect) {
    setRects((rs) => rs.map((r, j) => (j === i ? normRect(f(r)) : r)));
  }

  function removeSelected() {
    if (sel < 0) return;
    setRects((rs) => rs.filter((_, j) => j !== sel));
    setSel(-1);
  }

  function onKey(e: KeyboardEvent) {
    if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      removeSelected();
      return;
    }
    const d: Record<string, [number, number]> = { ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, -STEP], ArrowDown: [0, STEP] };
    const v = d[e.key];
    if (!v || sel < 0) return;
    e.preventDefault();
    if (e.shiftKey) update(sel, (r) => ({ ...r, w: Math.max(MIN_SIDE, r.w + v[0]), h: Math.max(MIN_SIDE, r.h + v[1]) }));
    else update(sel, (r) => ({ ...r, x: Math.min(1 - r.w, Math.max(0, r.x + v[0])), y: Math.min(1 - r.h, Math.max(0, r.y + v[1])) }));
  }

  function addCentered() {
    setRects((rs) => [...rs, { x: 0.35, y: 0.4, w: 0.3, h: 0.2 }]);
    setSel(rects.length);
    canvas.current?.focus();
  }

  return (
    <div class="dialog-backdrop redact-backdrop">
      <div class="dialog redact" role="dialog" aria-modal="true" aria-labelledby="redact-title" aria-describedby="redact-help" data-testid="redactor">
        <h2 id="redact-title" tabIndex={-1} ref={heading}>
          {t('photos.redact.title')}
        </h2>
        <p id="redact-help" class="hint">
          {t('photos.redact.help')}
        </p>
        <canvas
          ref={canvas}
          width={size.width}
          height={size.height}
          class="redact-canvas"
          tabIndex={0}
          role="application"
          aria-label={t('photos.redact.canvas')}
          data-testid="redact-canvas"
          onPointerDown={onDown}
          onPointerMove={onMove}
          onPointerUp={onUp}
          onPointerCancel={() => {
            start.current = null;
            setDraft(null);
          }}
          onKeyDown={onKey}
        />
        <p role="status" aria-live="polite" data-testid="redact-count" data-count={rects.length}>
          {tn('photos.redact.count', rects.length)}
        </p>
        <div class="row wrap">
          <button type="button" class="btn small" onClick={addCentered} disabled={busy}>
            {t('photos.redact.add')}
          </button>
          {rects.length > 1 && (
            <button type="button" class="btn small" onClick={() => setSel((s) => (s + 1) % rects.length)} disabled={busy}>
              {t('photos.redact.next')}
            </button>
          )}
          {sel >= 0 && (
            <button type="button" class="btn small" onClick={removeSelected} disabled={busy}>
              {t('photos.redact.remove')}
            </button>
          )}
        </div>
        {busy && (
          <p role="status" class="hint">
            {t('photos.processing')}
          </p>
        )}
        <div class="row">
          <button type="button" class="btn primary" onClick={() => onSave(rects)} disabled={busy} data-testid="redact-save">
            {t('photos.redact.save')}
          </button>
          <button type="button" class="btn" onClick={onCancel} disabled={busy}>
            {t('photos.redact.cancel')}
          </button>
        </div>
      </div>
    </div>
  );
}
