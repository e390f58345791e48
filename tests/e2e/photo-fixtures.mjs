// Test photos for the photo tests and the photo benchmark, made in the page
// (no binary fixtures in the repository): a canvas filled with a mosaic of
// random-coloured blocks (deterministic PRNG), optionally with per-pixel noise
// (like a real phone photo's sensor noise and texture, which is what makes
// photos large), encoded by the browser's JPEG encoder, and optionally with an
// APP1 "Exif" segment spliced in right after SOI. The Exif segment is a
// minimal valid TIFF structure: IFD0 with a GPSInfo pointer to a GPS IFD
// holding GPSLatitudeRef "N" and GPSLatitude 52° 17' 58.20" — the kind of
// metadata that must never leave the phone.

/**
 * Runs in the page: returns the JPEG as base64.
 * @param {{ width: number, height: number, seed?: number, block?: number, noise?: number, quality?: number, exif?: boolean }} opts
 * @returns {Promise<string>}
 */
export async function makeTestJpegInPage({ width, height, seed = 1, block = 24, noise = 0, quality = 0.92, exif = false }) {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d context');
  for (let y = 0; y < height; y += block) {
    for (let x = 0; x < width; x += block) {
      ctx.fillStyle = `rgb(${Math.floor(rnd() * 256)},${Math.floor(rnd() * 256)},${Math.floor(rnd() * 256)})`;
      ctx.fillRect(x, y, block, block);
    }
  }
  if (noise > 0) {
    const img = ctx.getImageData(0, 0, width, height);
    const d = img.data;
    for (let i = 0; i < d.length; i += 4) {
      const n = (rnd() - 0.5) * 2 * noise;
      d[i] += n;
      d[i + 1] += n * 0.8 + (rnd() - 0.5) * noise;
      d[i + 2] += n * 0.6 + (rnd() - 0.5) * noise;
    }
    ctx.putImageData(img, 0, 0);
  }
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
  let bytes = new Uint8Array(await blob.arrayBuffer());
  if (exif) {
    // TIFF (little endian): header, IFD0 (1 entry: GPSInfo), GPS IFD (2 entries), latitude rationals.
    const tiff = new DataView(new ArrayBuffer(80));
    tiff.setUint16(0, 0x4949); // "II"
    tiff.setUint16(2, 42, true);
    tiff.setUint32(4, 8, true); // IFD0 at 8
    tiff.setUint16(8, 1, true);
    tiff.setUint16(10, 0x8825, true); // GPSInfo
    tiff.setUint16(12, 4, true); // LONG
    tiff.setUint32(14, 1, true);
    tiff.setUint32(18, 26, true); // GPS IFD at 26
    tiff.setUint32(22, 0, true); // no next IFD
    tiff.setUint16(26, 2, true);
    tiff.setUint16(28, 0x0001, true); // GPSLatitudeRef
    tiff.setUint16(30, 2, true); // ASCII
    tiff.setUint32(32, 2, true);
    tiff.setUint8(36, 0x4e); // "N\0"
    tiff.setUint16(40, 0x0002, true); // GPSLatitude
    tiff.setUint16(42, 5, true); // RATIONAL
    tiff.setUint32(44, 3, true);
    tiff.setUint32(48, 56, true); // data at 56
    tiff.setUint32(52, 0, true); // no next IFD
    [52, 1, 17, 1, 5820, 100].forEach((v, i) => tiff.setUint32(56 + i * 4, v, true));
    const body = new Uint8Array(tiff.buffer);
    const len = 2 + 6 + body.length;
    const app1 = new Uint8Array(2 + len);
    app1.set([0xff, 0xe1, len >> 8, len & 0xff, 0x45, 0x78, 0x69, 0x66, 0, 0]); // FFE1, length, "Exif\0\0"
    app1.set(body, 10);
    const out = new Uint8Array(bytes.length + app1.length);
    out.set(bytes.subarray(0, 2)); // SOI
    out.set(app1, 2);
    out.set(bytes.subarray(2), 2 + app1.length);
    bytes = out;
  }
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/**
 * The marker segments of a JPEG before its scan data.
 * @param {Uint8Array} buf
 * @returns {{ marker: number, offset: number, length: number }[]}
 */
export function jpegSegments(buf) {
  if (buf[0] !== 0xff || buf[1] !== 0xd8) throw new Error('not a JPEG (no SOI)');
  const out = [];
  let i = 2;
  while (i + 4 <= buf.length) {
    if (buf[i] !== 0xff) throw new Error(`bad marker at ${i}`);
    const marker = buf[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    const length = (buf[i + 2] << 8) | buf[i + 3];
    out.push({ marker, offset: i, length });
    if (marker === 0xda) break; // start of scan: the rest is image data
    i += 2 + length;
  }
  return out;
}

/**
 * Whether the JPEG carries an APP1 segment (Exif or XMP metadata).
 * @param {Uint8Array} buf
 */
export function hasApp1(buf) {
  return jpegSegments(buf).some((s) => s.marker === 0xe1);
}

/**
 * Width and height from the JPEG's SOF segment.
 * @param {Uint8Array} buf
 */
export function jpegSize(buf) {
  const sof = jpegSegments(buf).find((s) => s.marker >= 0xc0 && s.marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(s.marker));
  if (!sof) throw new Error('no SOF segment');
  const o = sof.offset + 4;
  return { height: (buf[o + 1] << 8) | buf[o + 2], width: (buf[o + 3] << 8) | buf[o + 4] };
}

/**
 * Runs in the page: decodes two images (base64) with createImageBitmap, draws
 * both at width x height, and returns for each region (fractions) the mean
 * absolute difference per channel value (0..255) between them.
 * @param {{ a: string, b: string, width: number, height: number, regions: { x: number, y: number, w: number, h: number }[] }} opts
 * @returns {Promise<number[]>}
 */
export async function compareRegionsInPage({ a, b, width, height, regions }) {
  /** @param {string} b64 */
  const decode = async (b64) => {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }));
    const c = new OffscreenCanvas(width, height);
    const ctx = c.getContext('2d');
    if (!ctx) throw new Error('no 2d context');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bmp, 0, 0, width, height);
    return ctx.getImageData(0, 0, width, height).data;
  };
  const [da, db] = [await decode(a), await decode(b)];
  return regions.map((r) => {
    const x0 = Math.round(r.x * width);
    const y0 = Math.round(r.y * height);
    const x1 = Math.round((r.x + r.w) * width);
    const y1 = Math.round((r.y + r.h) * height);
    let sum = 0;
    let n = 0;
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const i = (y * width + x) * 4;
        sum += Math.abs(da[i] - db[i]) + Math.abs(da[i + 1] - db[i + 1]) + Math.abs(da[i + 2] - db[i + 2]);
        n += 3;
      }
    }
    return sum / n;
  });
}
