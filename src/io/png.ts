// PNG output for slices and segmentation overlays (pure CPU; encoding by pngjs).

import pngjs from 'pngjs';

const { PNG } = pngjs;

export type Rgb = readonly [number, number, number];

/** Colours per label value. */
export type RegionColors = Readonly<Record<number, Rgb>>;

/** BRATS label colours as in the usual viewers: 1 necrotic core red, 2 oedema green, 4 enhancing yellow. */
export const BRATS_COLORS: RegionColors = {
  1: [230, 40, 40],
  2: [40, 200, 60],
  4: [255, 215, 0],
};

/** Colour for label values missing from `regionColors`. */
const FALLBACK_COLOR: Rgb = [220, 40, 220];

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new RangeError(`image size must be positive integers, got ${width}×${height}`);
  if (width * height > 2 ** 28) throw new RangeError(`image ${width}×${height} is too large`);
}

/** Encodes an 8-bit RGBA image (row-major, top row first, 4 bytes per pixel) as a PNG file. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  checkSize(width, height);
  if (rgba.length !== width * height * 4)
    throw new RangeError(`RGBA data has ${rgba.length} bytes, expected ${width}×${height}×4 = ${width * height * 4}`);
  const png = new PNG({ width, height, colorType: 6, inputColorType: 6, bitDepth: 8, inputHasAlpha: true });
  png.data.set(rgba);
  return PNG.sync.write(png);
}

/** Decodes a PNG file into 8-bit RGBA (any colour type and bit depth pngjs reads). */
export function decodePng(bytes: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return {
    width: png.width,
    height: png.height,
    rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
  };
}

export interface GrayOptions {
  /** Value shown black. Default: the smallest finite value. */
  min?: number;
  /** Value shown white. Default: the largest finite value. */
  max?: number;
}

/**
 * Maps w×h values (row-major, x fastest) to opaque grey RGBA: min → 0, max → 255, clamped; NaN → 0.
 * Returns 4·w·h bytes.
 */
export function grayToRgba(values: ArrayLike<number>, w: number, h: number, options: GrayOptions = {}): Uint8Array {
  checkSize(w, h);
  const n = w * h;
  if (values.length !== n) throw new RangeError(`grayToRgba: ${values.length} values for a ${w}×${h} image`);
  let { min, max } = options;
  if (min === undefined || max === undefined) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === Infinity) lo = hi = 0;
    min ??= lo;
    max ??= hi;
  }
  const range = max > min ? max - min : Infinity; // constant image → black
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const t = ((values[i] - min) / range) * 255; // NaN stays NaN
    const g = t > 0 ? (t < 255 ? Math.round(t) : 255) : 0;
    out[i * 4] = g;
    out[i * 4 + 1] = g;
    out[i * 4 + 2] = g;
    out[i * 4 + 3] = 255;
  }
  return out;
}

export interface OverlayOptions {
  /** Colour per label value. Default BRATS_COLORS (1 red, 2 green, 4 yellow). */
  regionColors?: RegionColors;
  /** Integer magnification. Default 2 when the slice is at most 256 pixels on its longer side, else 1. */
  scale?: number;
  /** Opacity of the label tint inside regions, 0–1. Default 0.35. */
  tint?: number;
  /** Draw region outlines in full colour. Default true. */
  outline?: boolean;
  /** Pixels between the two panels (not magnified). Default 4. */
  gap?: number;
  /** Show row h−1 at the top (e.g. anterior up for BRATS y). Default false: row 0 at the top. */
  flipY?: boolean;
}

/**
 * Side-by-side overlay as raw RGBA: left panel = the slice in grey with the ground truth, right panel = the
 * slice with the prediction; each label tinted and outlined in its colour. `slice` holds w×h values in [0, 1]
 * (x fastest); `truth` / `pred` hold w×h label values, or null for a plain grey panel.
 */
export function overlayRgba(
  slice: ArrayLike<number>,
  truth: ArrayLike<number> | null,
  pred: ArrayLike<number> | null,
  w: number,
  h: number,
  options: OverlayOptions = {},
): { width: number; height: number; rgba: Uint8Array } {
  checkSize(w, h);
  const n = w * h;
  if (slice.length !== n) throw new RangeError(`overlay: slice has ${slice.length} values for ${w}×${h}`);
  if (truth && truth.length !== n) throw new RangeError(`overlay: truth has ${truth.length} values for ${w}×${h}`);
  if (pred && pred.length !== n) throw new RangeError(`overlay: prediction has ${pred.length} values for ${w}×${h}`);
  const colors = options.regionColors ?? BRATS_COLORS;
  const scale = options.scale ?? (Math.max(w, h) <= 256 ? 2 : 1);
  if (!Number.isInteger(scale) || scale < 1 || scale > 16)
    throw new RangeError(`overlay: scale must be an integer in 1..16, got ${scale}`);
  const tint = options.tint ?? 0.35;
  if (!(tint >= 0 && tint <= 1)) throw new RangeError(`overlay: tint must be in [0, 1], got ${tint}`);
  const outline = options.outline ?? true;
  const gap = options.gap ?? 4;
  if (!Number.isInteger(gap) || gap < 0)
    throw new RangeError(`overlay: gap must be a non-negative integer, got ${gap}`);
  const flipY = options.flipY ?? false;

  const pw = w * scale;
  const width = 2 * pw + gap;
  const height = h * scale;
  const rgba = new Uint8Array(width * height * 4);
  // Gap: dark grey.
  for (let i = 0; i < width * height; i++) {
    rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = 40;
    rgba[i * 4 + 3] = 255;
  }

  // One source-resolution panel, then nearest-neighbour magnification into place.
  const panel = new Uint8Array(n * 3);
  const drawPanel = (labels: ArrayLike<number> | null, x0: number): void => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const v = slice[i];
        const g = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
        let r = g;
        let gg = g;
        let b = g;
        const lab = labels ? labels[i] : 0;
        if (lab !== 0) {
          const c = colors[lab] ?? FALLBACK_COLOR;
          const edge =
            outline &&
            (x === 0 ||
              x === w - 1 ||
              y === 0 ||
              y === h - 1 ||
              labels![i - 1] !== lab ||
              labels![i + 1] !== lab ||
              labels![i - w] !== lab ||
              labels![i + w] !== lab);
          const a = edge ? 1 : tint;
          r = Math.round(g * (1 - a) + c[0] * a);
          gg = Math.round(g * (1 - a) + c[1] * a);
          b = Math.round(g * (1 - a) + c[2] * a);
        }
        panel[i * 3] = r;
        panel[i * 3 + 1] = gg;
        panel[i * 3 + 2] = b;
      }
    }
    for (let oy = 0; oy < height; oy++) {
      const sy0 = Math.floor(oy / scale);
      const sy = flipY ? h - 1 - sy0 : sy0;
      for (let ox = 0; ox < pw; ox++) {
        const s = (sy * w + Math.floor(ox / scale)) * 3;
        const o = (oy * width + x0 + ox) * 4;
        rgba[o] = panel[s];
        rgba[o + 1] = panel[s + 1];
        rgba[o + 2] = panel[s + 2];
      }
    }
  };
  drawPanel(truth, 0);
  drawPanel(pred, pw + gap);
  return { width, height, rgba };
}

/** overlayRgba encoded as PNG (the same arguments). */
export function overlayPng(...args: Parameters<typeof overlayRgba>): Buffer {
  const { width, height, rgba } = overlayRgba(...args);
  return encodePng(width, height, rgba);
}
