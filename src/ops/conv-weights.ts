// The weight matrix in the conv kernels' layout (weight_layout.wgsl), cached with the weight's storage
// until an optimizer step writes the weight: src/ops/conv-launch.ts and conv-tiled.ts read it.
import { grid1d } from '../runtime/grid.ts';
import type { Engine } from '../tensor/engine.ts';
import { fmtShape } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { WEIGHT_LAYOUT } from './conv-layouts.ts';

/** Taps along one axis of a weight matrix: k0, k0 + step, … (n of them), optionally in reverse order. */
export interface TapAxis {
  k0: number;
  n: number;
  step: number;
  flip: boolean;
}

/**
 * The weight as the kernels read it: wt[k, co] with k = (ci·nh + i)·nw + j and the output channels
 * padded to a multiple of 8 with zeros (one vec4 load = 4 output channels of one tap). `coAxis` says
 * which of w's first two axes is the kernel's output channel: 0 for forward.wgsl ([Cout, Cin, kh, kw]),
 * 1 for transpose.wgsl ([Cin_t, Cout_t, kh, kw]). Tap i of the matrix is w's tap rows.k0 + i·rows.step
 * (the last one first when rows.flip), and likewise for columns; by default every tap in order.
 * Padding channels included. The matrix is cached with w's storage (Storage.derived) and rebuilt by
 * one weight_layout.wgsl pass only after something wrote w (an optimizer step): a SegAN step reads
 * each weight in several convolutions (forward passes, dX) between two updates. Owned by the cache:
 * do not dispose it.
 */
export function transposedWeight(
  e: Engine,
  w: Tensor,
  coAxis: 0 | 1,
  rows?: TapAxis,
  cols?: TapAxis,
  tile = 8,
): { wt: Tensor; coutPad: number } {
  const [a, b, kh, kw] = w.shape;
  const r = rows ?? { k0: 0, n: kh, step: 1, flip: false };
  const c = cols ?? { k0: 0, n: kw, step: 1, flip: false };
  const cout = coAxis === 0 ? a : b;
  const cin = coAxis === 0 ? b : a;
  const coutPad = Math.ceil(cout / tile) * tile;
  const walk = (x: TapAxis) => `${x.k0},${x.n},${x.step},${+x.flip}`;
  const key = `weight_layout:${w.shape.join('x')}:${coAxis}:${walk(r)}:${walk(c)}:${tile}`;
  const wt = w.storage('conv').derived(key, () => layoutWeight(e, w, coAxis, r, c, cout, cin, coutPad));
  return { wt, coutPad };
}

/** One weight_layout.wgsl pass: w in the kernels' layout as a new [cin·r.n·c.n, coutPad] tensor. */
function layoutWeight(
  e: Engine,
  w: Tensor,
  coAxis: 0 | 1,
  r: TapAxis,
  c: TapAxis,
  cout: number,
  cin: number,
  coutPad: number,
): Tensor {
  const [, b, kh, kw] = w.shape;
  const wt = e.empty([cin * r.n * c.n, coutPad], { category: 'scratch' });
  // One pass (weight_layout.wgsl): wt[(ci·r.n + i)·c.n + j, co] = w's tap (row r.k0 ± i·r.step, column
  // c.k0 ± j·c.step), reversed axes starting from their last tap; padding channels written as zeros.
  const count = wt.size / 4;
  const grid = grid1d(count, 64, e.runtime.report.limits.maxComputeWorkgroupsPerDimension ?? 65535);
  const sCi = coAxis === 0 ? kh * kw : b * kh * kw;
  const sCo = coAxis === 0 ? b * kh * kw : kh * kw;
  const u = WEIGHT_LAYOUT.pack({
    count,
    grid_x: grid.gridX,
    c4: coutPad / 4,
    Cout: cout,
    nr: r.n,
    nc: c.n,
    s_ci: sCi,
    s_co: sCo,
    kw,
    r0: r.flip ? r.k0 + (r.n - 1) * r.step : r.k0,
    rstep: r.flip ? -r.step : r.step,
    c0: c.flip ? c.k0 + (c.n - 1) * c.step : c.k0,
    cstep: c.flip ? -c.step : c.step,
  });
  e.runtime.dispatch(
    e.runtime.kernels.get('conv/weight_layout', {}, 'conv.weight'),
    [wt.buffer(), w.buffer('conv')],
    u,
    grid.workgroups,
    'conv.weight',
    { bytes: 4 * (w.size + wt.size), shape: fmtShape(w.shape) },
  );
  return wt;
}
