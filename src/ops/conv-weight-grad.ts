// The convolution weight gradient without autograd: dW split over image rows into partials (portable
// weight_grad.wgsl, or weight_grad_sg.wgsl on lavapipe) or over pixels (tiled_weight_grad.wgsl), the
// partials summed in a fixed order by a column reduction.
import type { PooledBuffer } from '../runtime/pool.ts';
import type { TileConfig } from '../runtime/tuner.ts';
import type { Engine } from '../tensor/engine.ts';
import { fmtShape } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { packWeightGrad, type ConvGeometry } from './conv-layouts.ts';
import { coTile, sgForwardFits, useSubgroups } from './conv-launch.ts';
import { chooseConvTile, launchWeightGradTiled, sumPartials, useTiles } from './conv-tiled.ts';
import { output } from './util.ts';

/**
 * dW[co, (ci, ki, kj)] = Σ dy[n, co, oy, ox] · x[n, ci, oy·sh − pt + ki·dh, ox·sw − pl + kj·dw],
 * as a tensor [Cout, Cin, kh, kw] (Cout = dy's channels, Cin = x's channels).
 */
export function launchWeightGrad(
  e: Engine,
  x: Tensor,
  dy: Tensor,
  g: ConvGeometry,
  op: string,
  forced?: TileConfig,
): Tensor {
  const [N, Cin, , W] = x.shape;
  const [, Cout, OH, OW] = dy.shape;
  const taps = Cin * g.kh * g.kw;
  const dw = output(e, [Cout, Cin, g.kh, g.kw], op);
  if (dw.size === 0) return dw;
  const rows = N * OH;
  if (rows === 0 || OW === 0) {
    e.fill(dw, 0);
    return dw;
  }
  const rt = e.runtime;
  if (useTiles(e)) {
    const relaunch = ([xs, dys]: Tensor[], t: TileConfig) => launchWeightGrad(e, xs, dys, g, op, t);
    const c = chooseConvTile(e, 'conv2d.dW', { a: x, b: dy, g, OH, OW, rows: Cout }, relaunch, forced);
    launchWeightGradTiled(e, dw, x, dy, g, op, c);
    return dw;
  }
  const sg = useSubgroups(e);
  const co = sg ? coTile(e, Cout) : 8; // output channels per thread
  // Subgroup kernel: one kernel row per thread (ROW) for kernels 4 wide, and 3 wide (3 of the 4 tap
  // slots used, but a 3×3 row's 4 pixels read 6 columns instead of 12 scalar loads).
  const rowMode =
    sg &&
    e.runtime.policy.conv.xRuns &&
    sgForwardFits(g.kw, g.sw, g.pl, g.dw) &&
    (g.kw === 4 || (g.kw === 3 && e.runtime.policy.conv.wgRows3));
  const tapGroups = rowMode ? Cin * g.kh : Math.ceil(taps / 4);
  const threadsPerChunk = tapGroups * Math.ceil(Cout / co);
  const target = rt.policy.threads.conv;
  const maxChunksByMemory = Math.max(1, Math.floor((64 * 2 ** 20) / (Cout * taps * 4)));
  const maxDim = rt.report.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  let chunks = Math.max(1, Math.min(rows, maxChunksByMemory, maxDim, Math.round(target / threadsPerChunk)));
  const rowsPerChunk = Math.ceil(rows / chunks);
  chunks = Math.ceil(rows / rowsPerChunk);
  const part: PooledBuffer =
    chunks === 1 ? dw.buffer() : rt.alloc(chunks * Cout * taps * 4, 'scratch', `${op}.partials`);
  const u = packWeightGrad(x.shape, dy.shape, g, { rowsPerChunk, pixelsPerChunk: 0 });
  const cost = {
    flops: 2 * N * OH * OW * Cout * taps,
    bytes: 4 * (x.size + dy.size + chunks * Cout * taps),
    shape: `${fmtShape(x.shape)}*${fmtShape(dy.shape)}`,
  };
  if (sg) {
    // Channel group = workgroup y, so a subgroup shares its dy values; dy bound twice (f32 and vec4).
    const wgSize = Math.min(64, Math.max(8, 2 ** Math.ceil(Math.log2(tapGroups))));
    const xMode = W % 4 === 0 ? 2 : 1;
    const defs = {
      DY_VEC4: OW % 4 === 0 ? 'true' : 'false',
      WG: wgSize,
      CO16: co === 16 ? 'true' : 'false',
      ROW: rowMode ? 'true' : 'false',
      KW: rowMode ? g.kw : 4,
      SW: rowMode ? g.sw : 1,
      PW: rowMode ? g.pl : 0,
      DW: rowMode ? g.dw : 1,
      X_MODE: xMode,
    };
    const k = rt.kernels.get('conv/weight_grad_sg', defs, op);
    const dyb = dy.buffer(op);
    const xb = x.buffer(op);
    rt.dispatch(
      k,
      [part, xb, dyb, dyb, xb],
      u,
      [Math.ceil(tapGroups / wgSize), Math.ceil(Cout / co), chunks],
      op,
      cost,
    );
  } else {
    const k = rt.kernels.get('conv/weight_grad', {}, op);
    rt.dispatch(
      k,
      [part, x.buffer(op), dy.buffer(op)],
      u,
      [Math.ceil((Math.ceil(taps / 4) * Math.ceil(Cout / 8)) / 64), 1, chunks],
      op,
      cost,
    );
  }
  if (chunks > 1) sumPartials(e, part, chunks, Cout * taps, dw, op);
  return dw;
}
