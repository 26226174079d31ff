import path from 'node:path';
import { mat4, vec4 } from 'gl-matrix';
import { describe, expect, it } from 'vitest';
import { readNifti } from '../../src/data/nifti.ts';
import {
  CANONICAL,
  canonicalTransform,
  fromCanonical,
  orientationCode,
  reorientToCanonical,
  toCanonical,
  type Shape3,
} from '../../src/data/orientation.ts';
import { HAS_EDGE, NIFTI_EDGE, SKIP_NOTE, firstDifference } from './helpers.ts';

/** All 48 signed axis permutations as affines (voxel sizes 1, 2, 3 on the source axes, some offset). */
function signedPermutations(): Array<{ affine: Float64Array; name: string }> {
  const perms = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  const out: Array<{ affine: Float64Array; name: string }> = [];
  for (const p of perms)
    for (let s = 0; s < 8; s++) {
      const m = new Float64Array(16);
      mat4.identity(m);
      for (let i = 0; i < 3; i++) {
        for (let r = 0; r < 3; r++) m[i * 4 + r] = 0;
        m[i * 4 + p[i]] = (s & (1 << i) ? -1 : 1) * (i + 1); // voxel axis i → world axis p[i]
      }
      m[12] = 10;
      m[13] = -20;
      m[14] = 5;
      out.push({ affine: m, name: orientationCode(m) });
    }
  return out;
}

function worldOf(affine: Float64Array, i: number, j: number, k: number): number[] {
  const v = vec4.fromValues(i, j, k, 1);
  vec4.transformMat4(v, v, affine);
  return [v[0], v[1], v[2]];
}

describe('orientation', () => {
  it('names axes like nibabel (direction each voxel axis increases towards)', () => {
    const m = new Float64Array(16);
    mat4.identity(m);
    expect(orientationCode(m)).toBe('RAS');
    m[0] = -1;
    m[5] = -1;
    expect(orientationCode(m)).toBe('LPS');
    expect(CANONICAL).toBe('LPS');
  });

  it(
    'toCanonical then fromCanonical is the identity for all ' +
      '48 axis orders and flips, and world positions are kept',
    () => {
      const shape: Shape3 = [5, 4, 3];
      const n = 60;
      const data = Float32Array.from({ length: n }, (_, i) => i + 1);
      const seen = new Set<string>();
      for (const { affine, name } of signedPermutations()) {
        seen.add(name);
        const c = toCanonical({ data, shape, affine, voxelSize: [1, 2, 3] });
        expect(c.orientation, name).toBe('LPS');
        expect(orientationCode(c.affine)).toBe('LPS');
        expect(c.transform.sourceOrientation).toBe(name);
        expect(c.transform.identity).toBe(name === 'LPS');
        expect(c.shape[0] * c.shape[1] * c.shape[2]).toBe(n);
        // every voxel lands where the canonical affine says the same world point is
        const [X, Y] = c.shape;
        for (let idx = 0; idx < n; idx += 7) {
          const v = c.data[idx] - 1; // the source linear index this canonical voxel came from
          const si = v % 5;
          const sj = Math.floor(v / 5) % 4;
          const sk = Math.floor(v / 20);
          const ci = idx % X;
          const cj = Math.floor(idx / X) % Y;
          const ck = Math.floor(idx / (X * Y));
          const w1 = worldOf(affine, si, sj, sk);
          const w2 = worldOf(c.affine, ci, cj, ck);
          w1.forEach((w, a) => expect(w2[a]).toBeCloseTo(w, 9));
          expect(c.data[idx]).toBe(data[v]);
        }
        const back = fromCanonical(c.data, c.transform);
        expect(firstDifference(back, data)).toBe(-1);
        // a label map in another type maps back too
        const labels = Uint8Array.from(data, (x) => x % 5);
        expect(Array.from(fromCanonical(reorientToCanonical(labels, c.transform), c.transform))).toEqual(
          Array.from(labels),
        );
        expect(c.voxelSize).toEqual(
          [0, 1, 2].map((a) => Math.hypot(c.affine[a * 4], c.affine[a * 4 + 1], c.affine[a * 4 + 2])),
        );
      }
      expect(seen.size).toBe(48);
    },
  );

  it('keeps a volume that is already LPS unchanged (same array)', () => {
    const m = new Float64Array(16);
    mat4.identity(m);
    m[0] = -1;
    m[5] = -1;
    const data = new Float32Array(24);
    const c = toCanonical({ data, shape: [2, 3, 4], affine: m });
    expect(c.transform.identity).toBe(true);
    expect(c.data).toBe(data);
    expect(firstDifference(c.affine, m)).toBe(-1);
  });

  it('assigns oblique axes to the nearest canonical axis', () => {
    const m = new Float64Array(16);
    mat4.identity(m);
    mat4.rotateZ(m, m, 0.3); // 17° in-plane rotation of a RAS grid
    const t = canonicalTransform(m, [4, 5, 6]);
    expect(t.sourceOrientation).toBe('RAS');
    expect(t.perm).toEqual([0, 1, 2]);
    expect(t.flip).toEqual([true, true, false]);
    expect(() => fromCanonical(new Float32Array(5), t)).toThrow(/5 voxels given for a 4×5×6 grid/);
  });

  it.skipIf(!HAS_EDGE)(`real files: a permuted pair and a sheared 4-D file ${HAS_EDGE ? '' : SKIP_NOTE}`, async () => {
    const air = await readNifti(path.join(NIFTI_EDGE, 'nifti-reader-js/air.hdr.gz')); // AIR
    const c = toCanonical(air);
    expect(c.transform.sourceOrientation).toBe('AIR');
    expect(c.shape).toEqual([64, 79, 67]);
    expect(firstDifference(fromCanonical(c.data, c.transform), air.data)).toBe(-1);
    const sheared = await readNifti(path.join(NIFTI_EDGE, 'nibabel/example4d.nii.gz'), { frame: 1 });
    const s = toCanonical(sheared);
    expect(s.transform.sourceOrientation).toBe('LAS');
    expect(s.orientation).toBe('LPS');
    expect(firstDifference(fromCanonical(s.data, s.transform), sheared.data)).toBe(-1);
  });
});
