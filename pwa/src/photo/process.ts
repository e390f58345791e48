// Photo processing on the device, before anything is stored: decode (EXIF
// orientation applied), burn the redactions into the pixels, downscale so the
// longest side is at most MAX_SIDE, re-encode as JPEG (the encoder writes no
// EXIF, so GPS, camera and time metadata of the original are gone), and hash
// the final bytes. The position of an observation lives in the document, never
// in the file.

/** Longest side of a stored photo, in pixels. */
export const MAX_SIDE = 1600;
/** JPEG quality of the re-encoded photo (0..1). */
export const JPEG_QUALITY = 0.8;

/** A rectangle as fractions (0..1) of the image's width and height. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A rectangle in pixels. */
export interface PxRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ProcessedPhoto {
  bytes: Uint8Array;
  /** SHA-256 of `bytes`, lowercase hex. */
  sha: string;
  width: number;
  height: number;
}

/** Output size: scaled down (never up) so that the longest side is at most `max`. */
export function targetSize(width: number, height: number, max = MAX_SIDE): { width: number; height: number } {
  const longest = Math.max(width, height);
  if (longest <= max) return { width, height };
  const f = max / longest;
  return { width: Math.max(1, Math.round(width * f)), height: Math.max(1, Math.round(height * f)) };
}

/** Clamp a fractional rectangle into the image and make width/height positive. */
export function normRect(r: Rect): Rect {
  let { x, y, w, h } = r;
  if (w < 0) {
    x += w;
    w = -w;
  }
  if (h < 0) {
    y += h;
    h = -h;
  }
  const x0 = clamp01(x);
  const y0 = clamp01(y);
  const x1 = clamp01(x + w);
  const y1 = clamp01(y + h);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** A fractional rectangle in pixels of an image of the given size (at least 1x1 when not empty). */
export function toPx(r: Rect, width: number, height: number): PxRect {
  const n = normRect(r);
  const x = Math.floor(n.x * width);
  const y = Math.floor(n.y * height);
  const x1 = Math.min(width, Math.ceil((n.x + n.w) * width));
  const y1 = Math.min(height, Math.ceil((n.y + n.h) * height));
  return { x, y, w: Math.max(0, x1 - x), h: Math.max(0, y1 - y) };
}

/**
 * Pixelation block size for a region: about four blocks across its shorter
 * side (a face becomes a 4x4 mosaic, a number plate one or two rows), and
 * never below 16 px, so details cannot be read back.
 */
export function blockSize(r: PxRect): number {
  return Math.max(16, Math.ceil(Math.min(r.w, r.h) / 4));
}

/**
 * Replace every block of `block` x `block` pixels inside `r` by its mean
 * colour, in place (RGBA, row-major, `width` pixels per row). The original
 * pixels of the region are gone: only one average per block remains.
 */
export function pixelate(data: Uint8ClampedArray, width: number, height: number, r: PxRect, block = blockSize(r)): void {
  const x0 = Math.max(0, r.x);
  const y0 = Math.max(0, r.y);
  const x1 = Math.min(width, r.x + r.w);
  const y1 = Math.min(height, r.y + r.h);
  for (let by = y0; by < y1; by += block) {
    const ey = Math.min(y1, by + block);
    for (let bx = x0; bx < x1; bx += block) {
      const ex = Math.min(x1, bx + block);
      let sr = 0;
      let sg = 0;
      let sb = 0;
      let n = 0;
      for (let y = by; y < ey; y++) {
        let i = (y * width + bx) * 4;
        for (let x = bx; x < ex; x++, i += 4) {
          sr += data[i];
          sg += data[i + 1];
          sb += data[i + 2];
          n++;
        }
      }
      if (n === 0) continue;
      const mr = Math.round(sr / n);
      const mg = Math.round(sg / n);
      const mb = Math.round(sb / n);
      for (let y = by; y < ey; y++) {
        let i = (y * width + bx) * 4;
        for (let x = bx; x < ex; x++, i += 4) {
          data[i] = mr;
          data[i + 1] = mg;
          data[i + 2] = mb;
          data[i + 3] = 255;
        }
      }
    }
  }
}

/** Decode a picked or captured file; the EXIF orientation is applied to the pixels. */
export async function decodeImage(file: Blob): Promise<ImageBitmap> {
  return createImageBitmap(file, { imageOrientation: 'from-image' });
}

type Canvas2D = OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D;

function makeCanvas(width: number, height: number): { canvas: OffscreenCanvas | HTMLCanvasElement; ctx: Canvas2D } {
  if (typeof OffscreenCanvas !== 'undefined') {
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d');
    if (ctx) return { canvas, ctx };
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d canvas');
  return { canvas, ctx };
}

/**
 * Draw `source` scaled to width x height into `ctx` and pixelate the redacted
 * rectangles there. Used both for the on-screen preview and the final photo,
 * so the user sees what will be stored.
 */
export function drawRedacted(ctx: Canvas2D, source: CanvasImageSource, width: number, height: number, rects: Rect[]): void {
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, width, height);
  for (const r of rects) {
    const px = toPx(r, width, height);
    if (px.w === 0 || px.h === 0) continue;
    const img = ctx.getImageData(px.x, px.y, px.w, px.h);
    pixelate(img.data, px.w, px.h, { x: 0, y: 0, w: px.w, h: px.h }, blockSize(px));
    ctx.putImageData(img, px.x, px.y);
  }
}

async function encodeJpeg(canvas: OffscreenCanvas | HTMLCanvasElement, quality: number): Promise<Uint8Array> {
  let blob: Blob | null;
  if ('convertToBlob' in canvas) blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
  else blob = await new Promise<Blob | null>((res) => canvas.toBlob(res, 'image/jpeg', quality));
  if (!blob || blob.type !== 'image/jpeg') throw new Error('jpeg encoding failed');
  return new Uint8Array(await blob.arrayBuffer());
}

/** SHA-256 of `bytes` as lowercase hex (WebCrypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Redact, downscale, re-encode and hash: the bytes that are stored and uploaded. */
export async function processPhoto(
  source: ImageBitmap,
  rects: Rect[],
  opts: { maxSide?: number; quality?: number } = {},
): Promise<ProcessedPhoto> {
  const { width, height } = targetSize(source.width, source.height, opts.maxSide ?? MAX_SIDE);
  const { canvas, ctx } = makeCanvas(width, height);
  drawRedacted(ctx, source, width, height, rects);
  const bytes = await encodeJpeg(canvas, opts.quality ?? JPEG_QUALITY);
  return { bytes, sha: await sha256Hex(bytes), width, height };
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}
