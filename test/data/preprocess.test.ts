import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCase } from '../../src/data/brats.ts';
import {
  centerCropOffset,
  cropVolume,
  MEDIAN_SPAN,
  normaliseIntensity,
  percentiles,
  preprocessCase,
  uncropVolume,
} from '../../src/data/preprocess.ts';
import { mulberry32 } from '../../src/data/rng.ts';
import { BRATS_DEV, HAS_BRATS, SKIP_NOTE } from './helpers.ts';

/** numpy.percentile (linear) on a sorted copy. */
function refPercentile(values: Float32Array, p: number): number {
  const s = Float64Array.from(values).sort();
  const pos = (p / 100) * (s.length - 1);
  const k = Math.floor(pos);
  return k + 1 < s.length ? s[k] + (pos - k) * (s[k + 1] - s[k]) : s[k];
}

describe('preprocessing', () => {
  it('percentiles match numpy’s linear definition (including ties and tiny inputs)', () => {
    const rand = mulberry32(7);
    for (const n of [1, 2, 3, 10, 101, 1000, 5000]) {
      for (const ties of [false, true]) {
        const v = Float32Array.from({ length: n }, () => (ties ? Math.floor(rand() * 5) : rand() * 1000));
        for (const p of [0, 2, 50, 98, 100]) {
          const got = percentiles(Float32Array.from(v), [p])[0];
          expect(got).toBeCloseTo(refPercentile(v, p), 3);
        }
        const [a, b] = percentiles(Float32Array.from(v), [2, 98]);
        expect(a).toBeCloseTo(refPercentile(v, 2), 3);
        expect(b).toBeCloseTo(refPercentile(v, 98), 3);
      }
    }
  });

  it('normalises the brain (voxels > 0) to [0, 1], keeps background 0', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => (i < 300 ? 0 : i < 310 ? -5 : i - 309));
    const { data: out, stats } = normaliseIntensity(data);
    expect(stats.brainVoxels).toBe(690);
    expect(stats.lowValue).toBeCloseTo(
      refPercentile(
        data.filter((v) => v > 0),
        2,
      ),
      4,
    );
    expect(stats.highValue).toBeCloseTo(
      refPercentile(
        data.filter((v) => v > 0),
        98,
      ),
      4,
    );
    for (let i = 0; i < 310; i++) expect(out[i]).toBe(0);
    expect(Math.min(...out)).toBe(0);
    expect(Math.max(...out)).toBe(1);
    const ones = out.filter((v) => v === 1).length;
    expect(ones).toBeGreaterThanOrEqual(13); // the top 2 % clip to 1
    expect(ones).toBeLessThanOrEqual(15);
    expect(normaliseIntensity(new Float32Array(10)).data.every((v) => v === 0)).toBe(true);
    expect(Array.from(normaliseIntensity(Float32Array.from([0, 5, 5, 5])).data)).toEqual([0, 1, 1, 1]);
  });

  it("'median': 0 stays 0, MEDIAN_SPAN brain medians map to 1; a scan's gain and tails leave the bulk", () => {
    // brain 1..689 (median 345), negative and zero voxels are background
    const data = Float32Array.from({ length: 1000 }, (_, i) => (i < 300 ? 0 : i < 310 ? -5 : i - 309));
    const { data: out, stats } = normaliseIntensity(data, { normalise: 'median' });
    const median = refPercentile(
      data.filter((v) => v > 0),
      50,
    );
    expect([stats.brainVoxels, stats.lowValue]).toEqual([690, 0]);
    expect(stats.highValue).toBeCloseTo(MEDIAN_SPAN * median, 4);
    for (let i = 0; i < 310; i++) expect(out[i]).toBe(0);
    for (let i = 310; i < 1000; i++) expect(out[i]).toBeCloseTo(Math.min(1, data[i] / (MEDIAN_SPAN * median)), 6);
    // the same brain scanned with 7× the gain, and with a tail of 50 very bright voxels (5 %) added: its median
    // voxel still maps to 1/MEDIAN_SPAN (the percentile mapping moves it)
    const brain = Float32Array.from({ length: 1001 }, (_, i) => 100 + i);
    const mid = 500;
    const scaled = brain.map((v) => 7 * v);
    const tailed = Float32Array.from([...brain, ...Array.from({ length: 50 }, () => 5000)]);
    expect(normaliseIntensity(scaled, { normalise: 'median' }).data[mid]).toBeCloseTo(1 / MEDIAN_SPAN, 6);
    const withTail = normaliseIntensity(tailed, { normalise: 'median' }).data[mid];
    expect(Math.abs(withTail - 1 / MEDIAN_SPAN)).toBeLessThan(0.02);
    const byPercentile = normaliseIntensity(tailed).data[mid];
    expect(Math.abs(byPercentile - normaliseIntensity(brain).data[mid])).toBeGreaterThan(0.3);
    expect(normaliseIntensity(new Float32Array(10), { normalise: 'median' }).data.every((v) => v === 0)).toBe(true);
  });

  it('crops and un-crops, zero-padding where the crop is larger than the volume', () => {
    const shape: [number, number, number] = [6, 5, 4];
    const data = Uint8Array.from({ length: 120 }, (_, i) => i + 1);
    expect(centerCropOffset(shape, [4, 5, 2])).toEqual([1, 0, 1]);
    const off = centerCropOffset(shape, [4, 7, 2]);
    expect(off).toEqual([1, -1, 1]);
    const c = cropVolume(data, shape, off, [4, 7, 2]);
    expect(c.length).toBe(56);
    expect(c[0]).toBe(0); // row y = -1 is padding
    expect(c[4]).toBe(data[1 + 6 * (0 + 5 * 1)]);
    const back = uncropVolume(c, shape, off, [4, 7, 2]);
    for (let z = 0; z < 4; z++)
      for (let y = 0; y < 5; y++)
        for (let x = 0; x < 6; x++) {
          const i = x + 6 * (y + 5 * z);
          const inside = x >= 1 && x < 5 && z >= 1 && z < 3;
          expect(back[i]).toBe(inside ? data[i] : 0);
        }
  });

  it.skipIf(!HAS_BRATS)(
    `a real case: [128, 3, 180, 180] in [0, 1], labels [128, 180, 180] ${HAS_BRATS ? '' : SKIP_NOTE}`,
    async () => {
      const c = await loadCase(path.join(BRATS_DEV, 'Brats18_TCIA10_628_1'));
      const p = preprocessCase(c);
      expect(p.cropShape).toEqual([180, 180, 128]);
      expect(p.cropOffset).toEqual([30, 30, 13]);
      expect(p.image.length).toBe(128 * 3 * 180 * 180);
      expect(p.label.length).toBe(128 * 180 * 180);
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < p.image.length; i++) {
        const v = p.image[i];
        if (v < min) min = v;
        if (v > max) max = v;
      }
      expect(min).toBe(0);
      expect(max).toBe(1);
      // background (0 in the source) stays 0; check slice z = 64 of t2 (m = 1) against the source
      const z = 64;
      const plane = 180 * 180;
      const src = c.images[1];
      let brain = 0;
      for (let y = 0; y < 180; y++)
        for (let x = 0; x < 180; x++) {
          const s = src[x + 30 + 240 * (y + 30 + 240 * (z + 13))];
          const v = p.image[(z * 3 + 1) * plane + y * 180 + x];
          if (s <= 0) expect(v).toBe(0);
          else brain++;
          expect(p.label[z * plane + y * 180 + x]).toBe(c.seg![x + 30 + 240 * (y + 30 + 240 * (z + 13))]);
        }
      expect(brain).toBeGreaterThan(5000);
      for (const s of p.stats) {
        expect(s.brainVoxels).toBeGreaterThan(1e6);
        expect(s.highValue).toBeGreaterThan(s.lowValue);
      }
      // the whole tumour lies inside the crop
      const count = (a: Uint8Array) => {
        let k = 0;
        for (let i = 0; i < a.length; i++) if (a[i] > 0) k++;
        return k;
      };
      const tumourIn = count(p.label);
      const tumourAll = count(c.seg!);
      expect(tumourIn).toBe(tumourAll);
      console.log(
        `preprocess ${c.id}: ${p.stats
          .map((s) => `${s.modality} p2=${s.lowValue} p98=${s.highValue} brain=${s.brainVoxels}`)
          .join('; ')}`,
      );
    },
  );
});
