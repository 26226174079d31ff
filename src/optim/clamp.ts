// clampParameters: in-place clamp of parameters (WGAN weight clipping), one
// shaders/optim/clamp.wgsl dispatch per tensor, recorded only.
import { grid1d, Uniforms } from '../runtime/grid.ts';
import { Tensor } from '../tensor/tensor.ts';

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
    rt.dispatch(kernel, [buffers[k]], new Uniforms(4).u32(p.size, grid.gridX).f32(lo, hi).done(), grid.workgroups, op);
  });
}
