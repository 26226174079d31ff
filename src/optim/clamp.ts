// clampParameters: in-place clamp of parameters (WGAN weight clipping), one
// shaders/optim/clamp.wgsl dispatch per tensor, recorded only.
import { grid1d } from '../runtime/grid.ts';
import { defineUniforms } from '../runtime/uniforms.ts';
import { Tensor } from '../tensor/tensor.ts';

/** optim/clamp.wgsl's uniforms. */
const CLAMP_PARAMS = defineUniforms('ClampParams', { count: 'u32', grid_x: 'u32', lo: 'f32', hi: 'f32' });

/** Clamp every element of every tensor to [lo, hi] in place (same tensors, same buffers). */
export function clampParameters(params: readonly Tensor[], lo: number, hi: number): void {
  const op = 'clampParameters';
  if (!Array.isArray(params)) throw new TypeError(`${op}: params must be an array of Tensors`);
  if (typeof lo !== 'number' || Number.isNaN(lo)) throw new TypeError(`${op}: lo must be a number, got ${String(lo)}`);
  if (typeof hi !== 'number' || Number.isNaN(hi)) throw new TypeError(`${op}: hi must be a number, got ${String(hi)}`);
  if (lo > hi) throw new RangeError(`${op}: lo (${lo}) is greater than hi (${hi})`);
  const buffers = params.map((p, k) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${op}: parameter ${k} is not a Tensor`);
    return p.buffer(op);
  });
  params.forEach((p, k) => {
    const rt = p.engine.runtime;
    const grid = grid1d(p.size);
    const kernel = rt.kernels.get('optim/clamp', {}, op);
    rt.dispatch(
      kernel,
      [buffers[k]],
      CLAMP_PARAMS.pack({ count: p.size, grid_x: grid.gridX, lo, hi }),
      grid.workgroups,
      op,
    );
  });
}
