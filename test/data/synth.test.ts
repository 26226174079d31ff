import { describe, expect, it } from 'vitest';
import {
  generatePhantom,
  generatePhantomSlices,
  MODALITIES,
  Tissue,
  TUMOUR_VOLUME_BOUNDS,
  type Phantom,
} from '../../src/data/synth.ts';

// A 2 mm grid over the BRATS field of view: 1/8 of the voxels, same anatomy.
const COARSE = { shape: [120, 120, 78] as [number, number, number], spacing: [2, 2, 2] as [number, number, number] };

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function mean(values: Float32Array, mask: (i: number) => boolean): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++)
    if (mask(i)) {
      s += values[i];
      n++;
    }
  if (n === 0) throw new Error('empty mask');
  return s / n;
}

function samePhantom(a: Phantom, b: Phantom): boolean {
  return (
    MODALITIES.every((m) => bytesOf(a.images[m]).equals(bytesOf(b.images[m]))) &&
    bytesOf(a.seg).equals(bytesOf(b.seg)) &&
    bytesOf(a.tissue).equals(bytesOf(b.tissue))
  );
}

describe('generatePhantom', () => {
  it('is deterministic: the same seed gives identical bytes; other seeds differ', () => {
    const a = generatePhantom(7, COARSE);
    const b = generatePhantom(7, COARSE);
    expect(samePhantom(a, b)).toBe(true);
    expect(samePhantom(a, generatePhantom(8, COARSE))).toBe(false);
    // Large and negative seeds are fine and distinct.
    expect(samePhantom(generatePhantom(2 ** 40 + 7, COARSE), a)).toBe(false);
    expect(samePhantom(generatePhantom(-7, COARSE), a)).toBe(false);
  });

  it('default: 240×240×155, x fastest, under a second (time printed), deterministic', () => {
    const t0 = performance.now();
    const p = generatePhantom(3);
    const ms = performance.now() - t0;
    console.log(`generatePhantom(3) 240×240×155: ${ms.toFixed(0)} ms`);
    expect(p.shape).toEqual([240, 240, 155]);
    expect(p.spacing).toEqual([1, 1, 1]);
    for (const m of MODALITIES) expect(p.images[m].length).toBe(240 * 240 * 155);
    expect(p.seg.length).toBe(240 * 240 * 155);
    // Head-room for loaded CI machines; measured ≈ 0.6–0.9 s on one core (see src/data/synth.ts).
    expect(ms).toBeLessThan(3000);
    // Layout: the first tumour's centre, at index x + X·(y + Y·z), is necrotic core.
    const t = p.info.tumours[0];
    const [x, y, z] = t.centreVoxel.map(Math.round);
    expect(p.seg[x + 240 * (y + 240 * z)]).toBe(1);
    // Intensities are int16-like: integers, mostly within 0..1500.
    let over = 0;
    let nonInt = 0;
    for (const v of p.images.t1c) {
      if (v > 1500) over++;
      if (v !== Math.round(v)) nonInt++;
    }
    expect(nonInt).toBe(0);
    expect(over / p.images.t1c.length).toBeLessThan(0.005);
    const q = generatePhantom(3);
    expect(samePhantom(p, q)).toBe(true);
  });

  it('labels are within {0, 1, 2, 4}, with 1, 2 and 4 all present for typical seeds', () => {
    for (let seed = 0; seed < 6; seed++) {
      const p = generatePhantom(seed, COARSE);
      const seen = new Set<number>(p.seg);
      for (const v of seen) expect([0, 1, 2, 4]).toContain(v);
      expect(seen).toEqual(new Set([0, 1, 2, 4]));
      const c = p.info.labelCounts;
      expect(c[0] + c[1] + c[2] + c[4]).toBe(p.seg.length);
      expect(c[4]).toBe(p.seg.filter((v) => v === 4).length);
    }
  });

  it('whole-tumour volume lies within TUMOUR_VOLUME_BOUNDS; size and count vary by seed', () => {
    const volumes: number[] = [];
    let small = 0;
    let two = 0;
    for (let seed = 100; seed < 124; seed++) {
      const p = generatePhantom(seed, { ...COARSE, noise: 0 });
      const c = p.info.labelCounts;
      const mm3 = (c[1] + c[2] + c[4]) * 8;
      expect(mm3).toBeGreaterThanOrEqual(TUMOUR_VOLUME_BOUNDS.min);
      expect(mm3).toBeLessThanOrEqual(TUMOUR_VOLUME_BOUNDS.max);
      volumes.push(mm3);
      if (p.info.tumours[0].small) small++;
      if (p.info.tumours.length === 2) two++;
    }
    expect(Math.max(...volumes) / Math.min(...volumes)).toBeGreaterThan(5);
    expect(small).toBeGreaterThan(0);
    expect(two).toBeGreaterThan(0);
  });

  it('tumour options: none, small, two blobs', () => {
    const none = generatePhantom(5, { ...COARSE, tumours: 0 });
    expect(none.seg.every((v) => v === 0)).toBe(true);
    expect(none.info.tumours).toEqual([]);
    const small = generatePhantom(5, { ...COARSE, tumourSize: 'small', tumours: 1 });
    const c = small.info.labelCounts;
    expect(small.info.tumours[0].small).toBe(true);
    expect((c[1] + c[2] + c[4]) * 8).toBeLessThan(8000);
    expect(c[2] + c[4]).toBeGreaterThan(0);
    const two = generatePhantom(5, { ...COARSE, tumours: 2, tumourSize: 'typical' });
    expect(two.info.tumours.length).toBe(2);
  });

  it('shows each label with the designed contrast per modality', () => {
    const p = generatePhantom(11, { ...COARSE, tumourSize: 'typical', tumours: 1 });
    const { t1, t1c, t2, flair } = p.images;
    const wm = (i: number) => p.tissue[i] === Tissue.WhiteMatter;
    const oed = (i: number) => p.seg[i] === 2;
    const enh = (i: number) => p.seg[i] === 4;
    const nec = (i: number) => p.seg[i] === 1;
    const core = (i: number) => p.seg[i] === 1 || p.seg[i] === 4;
    const vent = (i: number) => p.tissue[i] === Tissue.Ventricle;
    // FLAIR: bright oedema; dark CSF.
    expect(mean(flair, oed)).toBeGreaterThan(1.5 * mean(flair, wm));
    expect(mean(flair, vent)).toBeLessThan(0.6 * mean(flair, wm));
    // T2: bright oedema and necrosis, bright CSF.
    expect(mean(t2, oed)).toBeGreaterThan(1.5 * mean(t2, wm));
    expect(mean(t2, nec)).toBeGreaterThan(1.5 * mean(t2, wm));
    expect(mean(t2, vent)).toBeGreaterThan(1.5 * mean(t2, wm));
    // T1c: bright enhancing rim, dark necrosis.
    expect(mean(t1c, enh)).toBeGreaterThan(1.2 * mean(t1c, wm));
    expect(mean(t1c, enh)).toBeGreaterThan(2 * mean(t1c, nec));
    expect(mean(t1c, nec)).toBeLessThan(mean(t1c, wm));
    // T1: tumour slightly dark.
    expect(mean(t1, core)).toBeLessThan(0.9 * mean(t1, wm));
    expect(mean(t1, oed)).toBeLessThan(mean(t1, wm));
    // Grey/white contrast exists (T1: WM brighter; T2: GM brighter).
    const gm = (i: number) => p.tissue[i] === Tissue.GreyMatter;
    expect(mean(t1, wm)).toBeGreaterThan(1.15 * mean(t1, gm));
    expect(mean(t2, gm)).toBeGreaterThan(1.15 * mean(t2, wm));
  });

  it('background is exactly 0 and the head is non-zero', () => {
    const p = generatePhantom(2, COARSE);
    const n = p.seg.length;
    let head = 0;
    let bad = 0; // background ≠ 0, or head ≤ 0
    for (let i = 0; i < n; i++) {
      const bg = p.tissue[i] === Tissue.Background;
      for (const m of MODALITIES) if (bg ? p.images[m][i] !== 0 : !(p.images[m][i] > 0)) bad++;
      if (bg && p.seg[i] !== 0) bad++;
      if (!bg) head++;
    }
    expect(bad).toBe(0);
    // Corners are background; the head fills a good part of the FOV.
    const [X, Y, Z] = p.shape;
    for (const i of [0, X - 1, X * (Y - 1), X * Y * Z - 1]) expect(p.images.flair[i]).toBe(0);
    expect(head / n).toBeGreaterThan(0.25);
    expect(head / n).toBeLessThan(0.6);
    // All anatomy classes occur.
    const classes = new Set(p.tissue);
    for (const t of Object.values(Tissue)) expect(classes.has(t)).toBe(true);
  });

  it('skullStrip removes scalp and skull; noise 0 and quantize false give smooth float data', () => {
    const p = generatePhantom(4, { ...COARSE, skullStrip: true });
    expect(p.tissue.includes(Tissue.Scalp)).toBe(false);
    expect(p.tissue.includes(Tissue.Skull)).toBe(false);
    const clean = generatePhantom(4, { ...COARSE, noise: 0, bias: 0, quantize: false });
    // Without noise or bias, deep white matter takes its nominal intensity (times texture ≤ a few %).
    const nominal = clean.info.intensities.wm.t1;
    const wmVals = clean.images.t1.filter((_, i) => clean.tissue[i] === Tissue.WhiteMatter);
    const mid = wmVals.sort()[wmVals.length >> 1];
    expect(Math.abs(mid / nominal - 1)).toBeLessThan(0.08);
    expect(clean.images.t1.some((v) => v !== Math.round(v))).toBe(true);
    // Segmentation does not depend on noise.
    expect(bytesOf(clean.seg).equals(bytesOf(generatePhantom(4, COARSE).seg))).toBe(true);
  });

  it('rejects bad seeds and options', () => {
    expect(() => generatePhantom(1.5)).toThrow(RangeError);
    expect(() => generatePhantom(Number.NaN)).toThrow(/seed/);
    expect(() => generatePhantom(1, { shape: [0, 10, 10] })).toThrow(/shape/);
    expect(() => generatePhantom(1, { shape: [10, 10, 10], spacing: [1, -1, 1] })).toThrow(/spacing/);
    expect(() => generatePhantom(1, { shape: [10, 10, 10], noise: -1 })).toThrow(/noise/);
    expect(() => generatePhantom(1, { shape: [10, 10, 10], tumours: 3 as 2 })).toThrow(/tumours/);
  });
});

describe('generatePhantomSlices', () => {
  it('gives a small stack through the tumour, deterministic', () => {
    const p = generatePhantomSlices(9, { size: 32, slices: 3 });
    expect(p.shape).toEqual([32, 32, 3]);
    expect(p.spacing).toEqual([7.5, 7.5, 3]);
    for (const m of MODALITIES) expect(p.images[m].length).toBe(32 * 32 * 3);
    // The middle slice is centred on the first tumour.
    expect(p.info.tumours[0].centreVoxel[2]).toBeCloseTo(1, 6);
    const mid = p.seg.subarray(32 * 32, 2 * 32 * 32);
    expect(mid.some((v) => v !== 0)).toBe(true);
    expect(samePhantom(p, generatePhantomSlices(9, { size: 32, slices: 3 }))).toBe(true);
    const healthy = generatePhantomSlices(9, { size: 16, slices: 2, tumours: 0 });
    expect(healthy.shape).toEqual([16, 16, 2]);
    expect(healthy.seg.every((v) => v === 0)).toBe(true);
    expect(healthy.images.flair.some((v) => v > 0)).toBe(true);
    expect(() => generatePhantomSlices(9, { size: 0 })).toThrow(/positive integers/);
  });

  it("an override equal to the seed's own choice changes nothing", () => {
    const p = generatePhantomSlices(21, { size: 24, slices: 2 });
    const same = generatePhantomSlices(21, {
      size: 24,
      slices: 2,
      tumours: p.info.tumours.length as 1 | 2,
      tumourSize: p.info.tumours[0].small ? 'small' : 'typical',
    });
    expect(samePhantom(p, same)).toBe(true);
  });

  it('samples the same world as generatePhantom', () => {
    const s = generatePhantomSlices(12, { size: 120, slices: 1, noise: 0 });
    const z = s.origin[2]; // world z of the slice
    const full = generatePhantom(12, { shape: [120, 120, 1], spacing: [2, 2, 1], origin: [1, 1, z], noise: 0 });
    expect(bytesOf(s.seg).equals(bytesOf(full.seg))).toBe(true);
    expect(bytesOf(s.images.flair).equals(bytesOf(full.images.flair))).toBe(true);
  });
});
