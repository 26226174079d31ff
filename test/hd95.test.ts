// The 95 % Hausdorff distance (src/segan/distance.ts) against hand-made volumes with known answers and
// a brute-force reference (every surface voxel against every other), with anisotropic spacing; the
// BraTS conventions for empty masks; the scores' summary, table and CSV.
import { describe, expect, it } from 'vitest';
import { EMPTY_HD95, hd95, percentile, type Vec3 } from '../src/segan/distance.ts';
import { scoresCsv, scoresTable, summarize, type CaseScores } from '../src/segan/metrics.ts';
import { scoreCase } from '../src/segan/infer.ts';

const vol = (shape: Vec3, fill: (x: number, y: number, z: number) => boolean) => {
  const [X, Y, Z] = shape;
  const m = new Uint8Array(X * Y * Z);
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++) m[x + X * (y + Y * z)] = fill(x, y, z) ? 1 : 0;
  return m;
};

/** Brute force, written independently: surface voxels (6-neighbourhood, border outside), all pairs. */
function hd95Reference(a: Uint8Array, b: Uint8Array, shape: Vec3, spacing: Vec3): number {
  const [X, Y, Z] = shape;
  const at = (m: Uint8Array, x: number, y: number, z: number) =>
    x >= 0 && y >= 0 && z >= 0 && x < X && y < Y && z < Z && m[x + X * (y + Y * z)] === 1;
  const surf = (m: Uint8Array) => {
    const out: Vec3[] = [];
    for (let z = 0; z < Z; z++)
      for (let y = 0; y < Y; y++)
        for (let x = 0; x < X; x++) {
          if (!at(m, x, y, z)) continue;
          const n = [
            [1, 0, 0],
            [-1, 0, 0],
            [0, 1, 0],
            [0, -1, 0],
            [0, 0, 1],
            [0, 0, -1],
          ];
          if (n.some(([dx, dy, dz]) => !at(m, x + dx, y + dy, z + dz))) out.push([x, y, z]);
        }
    return out;
  };
  const sa = surf(a);
  const sb = surf(b);
  const dist = (p: Vec3, q: Vec3) =>
    Math.hypot((p[0] - q[0]) * spacing[0], (p[1] - q[1]) * spacing[1], (p[2] - q[2]) * spacing[2]);
  const d = [
    ...sa.map((p) => Math.min(...sb.map((q) => dist(p, q)))),
    ...sb.map((p) => Math.min(...sa.map((q) => dist(p, q)))),
  ];
  d.sort((u, v) => u - v);
  const r = 0.95 * (d.length - 1);
  return d[Math.floor(r)] + (d[Math.ceil(r)] - d[Math.floor(r)]) * (r - Math.floor(r));
}

describe('hd95', () => {
  it("follows BraTS's convention for empty masks", () => {
    const shape: Vec3 = [4, 5, 6];
    const empty = new Uint8Array(120);
    const one = vol(shape, (x, y, z) => x === 1 && y === 2 && z === 3);
    expect(hd95(empty, empty, shape, [1, 1, 1])).toBe(0);
    expect(hd95(one, empty, shape, [1, 1, 1])).toBe(EMPTY_HD95);
    expect(hd95(empty, one, shape, [1, 1, 1])).toBe(373.13);
    expect(hd95(one, one, shape, [1, 1, 1])).toBe(0);
  });

  it('two single voxels: their distance in mm (anisotropic spacing)', () => {
    const shape: Vec3 = [6, 7, 12];
    const a = vol(shape, (x, y, z) => x === 2 && y === 3 && z === 4);
    const b = vol(shape, (x, y, z) => x === 2 && y === 3 && z === 9);
    expect(hd95(a, b, shape, [1, 1, 2.5])).toBeCloseTo(12.5, 12);
    const c = vol(shape, (x, y, z) => x === 5 && y === 0 && z === 4);
    expect(hd95(a, c, shape, [0.5, 2, 1])).toBeCloseTo(Math.hypot(3 * 0.5, 3 * 2), 12);
  });

  it('a cube shifted along x: hd95 is the shift in mm', () => {
    const shape: Vec3 = [20, 12, 12];
    const a = vol(shape, (x, y, z) => x >= 2 && x <= 7 && y >= 2 && y <= 7 && z >= 2 && z <= 7);
    const b = vol(shape, (x, y, z) => x >= 5 && x <= 10 && y >= 2 && y <= 7 && z >= 2 && z <= 7);
    // every face voxel's nearest counterpart is 3 voxels away along x, or closer; the 95th percentile is 3 voxels
    expect(hd95(a, b, shape, [0.8, 1, 1])).toBeCloseTo(hd95Reference(a, b, shape, [0.8, 1, 1]), 10);
    expect(hd95(a, b, shape, [0.8, 1, 1])).toBeCloseTo(2.4, 10);
  });

  it('a mask filling the volume: its border is its surface', () => {
    const shape: Vec3 = [5, 5, 5];
    const all = vol(shape, () => true);
    const centre = vol(shape, (x, y, z) => x === 2 && y === 2 && z === 2);
    expect(hd95(all, centre, shape, [1, 1, 1])).toBeCloseTo(hd95Reference(all, centre, shape, [1, 1, 1]), 10);
  });

  it('random blobs against the brute-force reference, anisotropic spacings', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let t = 0; t < 12; t++) {
      const shape: Vec3 = [6 + Math.floor(rnd() * 8), 5 + Math.floor(rnd() * 8), 4 + Math.floor(rnd() * 6)];
      const spacing: Vec3 = [0.5 + rnd() * 2, 0.5 + rnd() * 2, 0.5 + rnd() * 4];
      const blob = (p: number) => vol(shape, () => rnd() < p);
      const a = blob(0.3);
      const b = blob(0.15);
      if (!a.some(Boolean) || !b.some(Boolean)) continue;
      expect(hd95(a, b, shape, spacing), `case ${t}`).toBeCloseTo(hd95Reference(a, b, shape, spacing), 9);
    }
  });

  it("percentile interpolates linearly like numpy's", () => {
    expect(percentile([1, 2, 3, 4], 95)).toBeCloseTo(3.85, 12);
    expect(percentile([5], 95)).toBe(5);
    expect(percentile([3, 1, 2], 50)).toBe(2);
  });

  it('refuses masks that do not match the volume', () => {
    expect(() => hd95(new Uint8Array(5), new Uint8Array(6), [2, 3, 1], [1, 1, 1])).toThrow(
      /masks of 5 and 6 voxels for a 2×3×1 volume/,
    );
  });
});

describe('scores with HD95', () => {
  const shape: Vec3 = [10, 10, 6];
  const truth = vol(shape, (x, y, z) =>
    (x >= 2 && x <= 6 && y >= 2 && y <= 6 && z >= 1 && z <= 4 ? (x === 4 && y === 4 ? 4 : 2) : 0) > 0 ? true : false,
  );
  it(
    'scoreCase adds hd95 beside dice when the grid is known; ' +
      'summary has mean, sd and median; table and CSV show it',
    () => {
      const labels = new Uint8Array(truth.length).map((_, i) => (truth[i] ? 2 : 0));
      const shifted = new Uint8Array(truth.length);
      for (let i = 0; i < truth.length; i++) if (labels[i] && (i % 10) + 1 < 10) shifted[i + 1] = 2;
      const a = scoreCase('A', labels, labels, 1, false, { shape, spacing: [1, 1, 3] });
      const b = scoreCase('B', shifted, labels, 1, false, { shape, spacing: [1, 1, 3] });
      expect(a.regions.whole).toEqual({ dice: 1, precision: 1, sensitivity: 1, hd95: 0 });
      expect(b.regions.whole!.hd95).toBeCloseTo(1, 12);
      const cases: CaseScores[] = [a, b];
      const hd = summarize(cases).find((s) => s.region === 'whole' && s.metric === 'hd95')!;
      expect(hd).toMatchObject({ mean: 0.5, sd: 0.5, median: 0.5 });
      expect(scoresTable(cases)).toMatch(/whole HD95/);
      expect(scoresTable(cases).split('\n').at(-1)).toMatch(/^median/);
      expect(scoresCsv(cases).split('\n')[0]).toBe('case,region,dice,precision,sensitivity,hd95');
      expect(scoresCsv(cases).split('\n')[2]).toMatch(/^B,whole,.*,1$/);
      // without a grid: no hd95 (and the CSV column stays empty)
      expect(scoreCase('C', labels, labels, 1).regions.whole!.hd95).toBeUndefined();
    },
  );
});
