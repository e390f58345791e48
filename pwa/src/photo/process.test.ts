import { describe, expect, it } from 'vitest';
import { blockSize, normRect, pixelate, targetSize, toPx } from './process';

describe('targetSize', () => {
  it('scales the longest side down to the maximum, keeping the aspect ratio', () => {
    expect(targetSize(4032, 3024, 1600)).toEqual({ width: 1600, height: 1200 });
    expect(targetSize(3024, 4032, 1600)).toEqual({ width: 1200, height: 1600 });
  });
  it('never scales up', () => {
    expect(targetSize(800, 600, 1600)).toEqual({ width: 800, height: 600 });
  });
});

describe('rectangles', () => {
  it('normalises a rectangle dragged up and to the left and clamps it into the image', () => {
    expect(normRect({ x: 0.5, y: 0.5, w: -0.25, h: -0.75 })).toEqual({ x: 0.25, y: 0, w: 0.25, h: 0.5 });
  });
  it('maps fractions to whole pixels covering the region', () => {
    expect(toPx({ x: 0.25, y: 0.5, w: 0.5, h: 0.25 }, 100, 40)).toEqual({ x: 25, y: 20, w: 50, h: 10 });
  });
  it('uses blocks of at least 16 px, about a quarter of the shorter side', () => {
    expect(blockSize({ x: 0, y: 0, w: 40, h: 40 })).toBe(16);
    expect(blockSize({ x: 0, y: 0, w: 400, h: 200 })).toBe(50);
  });
});

describe('pixelate', () => {
  it('replaces each block by its mean colour and leaves pixels outside the region alone', () => {
    const w = 4;
    const h = 2;
    const data = new Uint8ClampedArray(w * h * 4);
    // Row 0: values 0, 40, 80, 120 in red; row 1: 200 each.
    [0, 40, 80, 120].forEach((v, x) => (data[x * 4] = v));
    for (let x = 0; x < w; x++) data[(w + x) * 4] = 200;
    for (let i = 3; i < data.length; i += 4) data[i] = 255;
    pixelate(data, w, h, { x: 0, y: 0, w: 2, h: 2 }, 2);
    // Block (0,0)-(1,1): mean of 0, 40, 200, 200 = 110.
    expect([data[0], data[4], data[16], data[20]]).toEqual([110, 110, 110, 110]);
    // Outside the region: unchanged.
    expect([data[8], data[12], data[24], data[28]]).toEqual([80, 120, 200, 200]);
  });
});
