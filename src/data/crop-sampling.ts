// Plain crops of a slice (no rotation or zoom; those are augment.ts's): the integer sampling matrix of a
// crop, optionally flipped, and the copy through it.
import { mat3 } from 'gl-matrix';

/** The 2-D sampling matrix: crop pixel (u, v, 1) → slice pixel (x, y, 1). */
export function sampleMatrix(x0: number, y0: number, size: number, flipX: boolean, flipY: boolean): Float32Array {
  const m = mat3.create() as Float32Array;
  mat3.fromTranslation(m, [x0, y0]);
  mat3.translate(m, m, [flipX ? size - 1 : 0, flipY ? size - 1 : 0]);
  mat3.scale(m, m, [flipX ? -1 : 1, flipY ? -1 : 1]);
  return m;
}

/**
 * Samples an S×S crop of each of `channels` planes of size W×H (src, plane after plane) through the
 * integer affine `m` (crop pixel → source pixel), writing S×S per channel into dst at dstOffset.
 */
export function resample<T extends Float32Array | Uint8Array>(
  src: T,
  W: number,
  H: number,
  channels: number,
  m: ArrayLike<number>,
  S: number,
  dst: T,
  dstOffset: number,
): void {
  const a = m[0];
  const b = m[1];
  const c = m[3];
  const d = m[4];
  const tx = m[6];
  const ty = m[7];
  for (const [u, v] of [
    [0, 0],
    [S - 1, 0],
    [0, S - 1],
    [S - 1, S - 1],
  ]) {
    const x = a * u + c * v + tx;
    const y = b * u + d * v + ty;
    if (x < 0 || y < 0 || x >= W || y >= H)
      throw new Error(`crop corner (${u}, ${v}) maps outside the ${W}×${H} slice`);
  }
  const step = a + b * W; // source index step per u
  for (let ch = 0; ch < channels; ch++) {
    const base = ch * W * H;
    let o = dstOffset + ch * S * S;
    for (let v = 0; v < S; v++) {
      let s = base + (d * v + ty) * W + (c * v + tx);
      for (let u = 0; u < S; u++, s += step) dst[o++] = src[s];
    }
  }
}
