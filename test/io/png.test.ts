import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';
import { BRATS_COLORS, decodePng, encodePng, grayToRgba, overlayPng, overlayRgba } from '../../src/io/png.ts';

const { PNG } = pngjs;

function pixel(img: { width: number; rgba: Uint8Array }, x: number, y: number): number[] {
  const o = (y * img.width + x) * 4;
  return Array.from(img.rgba.subarray(o, o + 4));
}

describe('encodePng', () => {
  it('round-trips through pngjs exactly', () => {
    const w = 7;
    const h = 5;
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 37 + 11) & 255;
    const png = encodePng(w, h, rgba);
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const back = PNG.sync.read(png);
    expect([back.width, back.height]).toEqual([w, h]);
    expect(Array.from(back.data)).toEqual(Array.from(rgba));
    const mine = decodePng(png);
    expect(Array.from(mine.rgba)).toEqual(Array.from(rgba));
  });

  it('rejects wrong sizes', () => {
    expect(() => encodePng(2, 2, new Uint8Array(15))).toThrow(/expected 2×2×4 = 16/);
    expect(() => encodePng(0, 2, new Uint8Array(0))).toThrow(/positive integers/);
    expect(() => encodePng(1.5, 2, new Uint8Array(12))).toThrow(RangeError);
  });
});

describe('grayToRgba', () => {
  it('maps [min, max] to 0..255, clamps, NaN → 0, opaque', () => {
    const v = Float32Array.from([0, 50, 100, -10, 200, NaN]);
    const out = grayToRgba(v, 6, 1, { min: 0, max: 100 });
    expect(Array.from({ length: 6 }, (_, i) => out[i * 4])).toEqual([0, 128, 255, 0, 255, 0]);
    for (let i = 0; i < 6; i++) {
      expect(out[i * 4 + 1]).toBe(out[i * 4]);
      expect(out[i * 4 + 2]).toBe(out[i * 4]);
      expect(out[i * 4 + 3]).toBe(255);
    }
  });

  it('defaults to the data range; a constant image is black', () => {
    const out = grayToRgba(Float32Array.from([2, 4, 3, 4]), 2, 2);
    expect([out[0], out[4], out[8], out[12]]).toEqual([0, 255, 128, 255]);
    expect(grayToRgba(Float32Array.from([5, 5]), 2, 1)[0]).toBe(0);
    expect(() => grayToRgba(new Float32Array(3), 2, 2)).toThrow(/3 values for a 2×2/);
  });
});

describe('overlay', () => {
  // 20×10 slice at 0.5 grey, a 6×4 truth region of label 2 with a 2×2 core of label 1, prediction label 4.
  const w = 20;
  const h = 10;
  const slice = new Float32Array(w * h).fill(0.5);
  const truth = new Uint8Array(w * h);
  const pred = new Uint8Array(w * h);
  for (let y = 3; y < 7; y++) for (let x = 5; x < 11; x++) truth[y * w + x] = 2;
  for (let y = 4; y < 6; y++) for (let x = 7; x < 9; x++) truth[y * w + x] = 1;
  for (let y = 2; y < 8; y++) for (let x = 12; x < 16; x++) pred[y * w + x] = 4;

  it('is side by side, doubled when small, with the gap between panels', () => {
    const img = overlayRgba(slice, truth, pred, w, h);
    expect(img.width).toBe(2 * 2 * w + 4);
    expect(img.height).toBe(2 * h);
    const png = overlayPng(slice, truth, pred, w, h);
    const back = PNG.sync.read(png);
    expect([back.width, back.height]).toEqual([84, 20]);
    expect(Array.from(back.data)).toEqual(Array.from(img.rgba));
    // Large slices are not magnified; scale and gap can be set.
    const big = overlayRgba(new Float32Array(300 * 10), null, null, 300, 10);
    expect([big.width, big.height]).toEqual([604, 10]);
    const custom = overlayRgba(slice, null, null, w, h, { scale: 3, gap: 0 });
    expect([custom.width, custom.height]).toEqual([120, 30]);
  });

  it('tints regions, outlines them in full colour, and leaves the rest grey', () => {
    const img = overlayRgba(slice, truth, pred, w, h, { scale: 1, gap: 2 });
    const grey = [128, 128, 128, 255];
    expect(pixel(img, 0, 0)).toEqual(grey); // outside regions, left panel
    expect(pixel(img, w + 2, 0)).toEqual(grey); // right panel
    expect(pixel(img, w, 0)).toEqual([40, 40, 40, 255]); // gap
    // Truth outline (edge of label 2) is pure colour; core of label 1 is outlined red.
    expect(pixel(img, 5, 3).slice(0, 3)).toEqual([...BRATS_COLORS[2]]);
    expect(pixel(img, 7, 4).slice(0, 3)).toEqual([...BRATS_COLORS[1]]);
    // Interior of the prediction region is a tint: between grey and yellow.
    const inner = pixel(img, w + 2 + 13, 4);
    const c = BRATS_COLORS[4];
    expect(inner.slice(0, 3)).toEqual([0, 1, 2].map((k) => Math.round(128 * 0.65 + c[k] * 0.35)));
    // The truth does not appear on the right, nor the prediction on the left.
    expect(pixel(img, w + 2 + 5, 3)).toEqual(grey);
    expect(pixel(img, 13, 4)).toEqual(grey);
  });

  it('honours regionColors, flipY and outline: false', () => {
    const colors = { 1: [0, 0, 255] as const, 2: [0, 255, 255] as const };
    const img = overlayRgba(slice, truth, null, w, h, { scale: 1, regionColors: colors, outline: false, tint: 1 });
    expect(pixel(img, 5, 3).slice(0, 3)).toEqual([0, 255, 255]);
    expect(pixel(img, 7, 4).slice(0, 3)).toEqual([0, 0, 255]);
    const flipped = overlayRgba(slice, truth, null, w, h, {
      scale: 1,
      regionColors: colors,
      outline: false,
      tint: 1,
      flipY: true,
    });
    expect(pixel(flipped, 5, h - 1 - 3).slice(0, 3)).toEqual([0, 255, 255]);
  });

  it('rejects mismatched inputs', () => {
    expect(() => overlayPng(slice, new Uint8Array(3), null, w, h)).toThrow(/truth has 3 values/);
    expect(() => overlayPng(slice, null, new Uint8Array(3), w, h)).toThrow(/prediction has 3 values/);
    expect(() => overlayPng(new Float32Array(5), null, null, w, h)).toThrow(/slice has 5 values/);
    expect(() => overlayPng(slice, null, null, w, h, { scale: 0 })).toThrow(/scale/);
  });
});
