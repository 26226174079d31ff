// The workgroup-tiled conv kernels (the hardware plan, and any plan under precision 'f16'):
// tiled_forward.wgsl (forward, and transposed convs phase by phase) and tiled_weight_grad.wgsl, their
// tile from the tuner, their operands float32 or float16 copies. src/ops/conv.ts decides when.
import { grid1d } from '../runtime/grid.ts';
import type { PooledBuffer } from '../runtime/pool.ts';
import { defineUniforms } from '../runtime/uniforms.ts';
import { tileTemplate, type TileConfig } from '../runtime/tuner.ts';
import type { Engine } from '../tensor/engine.ts';
import { fmtShape } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { packForward, packWeightGrad, type ConvGeometry, type ForwardDispatch } from './conv-layouts.ts';
import { launchReduce } from './reduce.ts';
import { chooseTile } from './util.ts';

// ---- the tiled kernels (hardware plan) ----------------------------------------------------------

export function useTiles(e: Engine): boolean {
  return e.runtime.policy.conv.family === 'tiled';
}

export function tileDefines(e: Engine, c: TileConfig): Record<string, number | string> {
  const f16 = e.runtime.policy.precision === 'f16';
  return { ...tileTemplate(c), ELEM: f16 ? 'f16' : 'f32', ENABLE_F16: f16 ? 'enable f16;' : '' };
}

/** pack_f16.wgsl's uniforms. */
const PACK_F16 = defineUniforms('PackF16', {
  pairs: { type: 'u32', doc: 'output words: ceil(n / 2)' },
  n: { type: 'u32', doc: 'values' },
  grid_x: { type: 'u32', doc: 'threads along x' },
});

/**
 * The buffer a tiled kernel reads for t: t's own (float32), or under precision 'f16' a float16 copy
 * (pack_f16.wgsl), cached with t's storage like the weight layout: forward and dW share x's copy,
 * dX and dW share dy's, and a weight's copy lives until the next optimizer step.
 */
export function operand(e: Engine, t: Tensor, op: string): PooledBuffer {
  if (e.runtime.policy.precision !== 'f16') return t.buffer(op);
  const half = t.storage(op).derived(`f16:${t.size}`, () => {
    const out = e.empty([Math.max(1, Math.ceil(t.size / 2))], { category: 'scratch' }, `${op}.f16`);
    const pairs = Math.ceil(t.size / 2);
    const grid = grid1d(pairs, 64, e.runtime.report.limits.maxComputeWorkgroupsPerDimension ?? 65535);
    const u = PACK_F16.pack({ pairs, n: t.size, grid_x: grid.gridX });
    e.runtime.dispatch(
      e.runtime.kernels.get('copy/pack_f16', {}, `${op}.f16`),
      [out.buffer(), t.buffer(op)],
      u,
      grid.workgroups,
      `${op}.f16`,
      { bytes: 6 * t.size, shape: fmtShape(t.shape) },
    );
    return out;
  });
  return half.buffer(op);
}

/** A conv's shape as the tuner's key: inputs, geometry, output size. */
function shapeKey(x: Tensor, w: Tensor, g: ConvGeometry, OH: number, OW: number): string {
  return (
    `${x.shape.join('x')}*${w.shape.join('x')} s${g.sh},${g.sw} p${g.pt},${g.pb},${g.pl},${g.pr} ` +
    `d${g.dh},${g.dw} o${OH}x${OW}${x.engine.runtime.policy.precision === 'f16' ? ' f16' : ''}`
  );
}

/** The tile of one conv kernel family for operands a (x) and b (w or dy): `forced`, else the tuner's. */
export function chooseConvTile(
  e: Engine,
  family: string,
  on: { a: Tensor; b: Tensor; g: ConvGeometry; OH: number; OW: number; rows: number },
  launch: (inputs: Tensor[], c: TileConfig) => Tensor,
  forced: TileConfig | undefined,
): TileConfig {
  const key = shapeKey(on.a, on.b, on.g, on.OH, on.OW);
  return chooseTile(e, family, key, on.rows, [on.a.shape, on.b.shape], launch, forced);
}

/** One tiled_forward.wgsl dispatch: x [N, Cin, H, W] ⊛ wt [Cin·kh·kw, coutPad] into (part of) y. */
export function dispatchTiledForward(e: Engine, d: ForwardDispatch, c: TileConfig): void {
  const { y, x, wt, coutPad, bias, g, act, slope, op } = d;
  const [N, Cin] = x.shape;
  const [, Cout, outH, outW] = y.shape;
  const tilesN = Math.ceil((N * g.OH * g.OW) / (c.wgN * c.tn));
  const gridX = Math.min(tilesN, e.runtime.report.limits.maxComputeWorkgroupsPerDimension ?? 65535);
  const u = packForward(x.shape, y.shape, g, { coutPad, hasBias: Boolean(bias), act, slope, coGroups: 0, gridX });
  const k = e.runtime.kernels.get('conv/tiled_forward', tileDefines(e, c), op);
  const elem = e.runtime.policy.precision === 'f16' ? 2 : 4;
  const cost = {
    flops: 2 * N * Cout * g.OH * g.OW * Cin * g.kh * g.kw,
    bytes: elem * (x.size + wt.size) + (4 * y.size * g.OH * g.OW) / (outH * outW),
    shape: `${fmtShape(x.shape)}*${fmtShape(wt.shape)}`,
  };
  e.runtime.dispatch(
    k,
    [y.buffer(), operand(e, x, op), operand(e, wt, op), bias ? bias.buffer(op) : wt.buffer()],
    u,
    [gridX, Math.ceil(Cout / (c.wgM * c.tm)), Math.ceil(tilesN / gridX)],
    op,
    cost,
  );
}

/** tiled_weight_grad.wgsl into dw, split over the pixels into partials summed in order (see the kernel). */
export function launchWeightGradTiled(
  e: Engine,
  dw: Tensor,
  x: Tensor,
  dy: Tensor,
  g: ConvGeometry,
  op: string,
  c: TileConfig,
): void {
  const rt = e.runtime;
  const [N, Cin] = x.shape;
  const [, Cout, OH, OW] = dy.shape;
  const taps = Cin * g.kh * g.kw;
  const pixels = N * OH * OW;
  const tiles = Math.ceil(Cout / (c.wgM * c.tm)) * Math.ceil(taps / (c.wgN * c.tn));
  // Enough workgroups to fill the GPU (policy.threads.conv threads), at least 256 pixels per partial,
  // and at most 64 MiB of partials.
  const maxChunksByMemory = Math.max(1, Math.floor((64 * 2 ** 20) / (Cout * taps * 4)));
  const maxDim = rt.report.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  let chunks = Math.max(
    1,
    Math.min(
      Math.ceil(pixels / 256),
      maxChunksByMemory,
      maxDim,
      Math.round(rt.policy.threads.conv / (c.wgM * c.wgN) / tiles),
    ),
  );
  const perChunk = Math.ceil(Math.ceil(pixels / chunks) / c.tk) * c.tk;
  chunks = Math.ceil(pixels / perChunk);
  const part: PooledBuffer =
    chunks === 1 ? dw.buffer() : rt.alloc(chunks * Cout * taps * 4, 'scratch', `${op}.partials`);
  const u = packWeightGrad(x.shape, dy.shape, g, { rowsPerChunk: 0, pixelsPerChunk: perChunk });
  const elem = rt.policy.precision === 'f16' ? 2 : 4;
  const cost = {
    flops: 2 * pixels * Cout * taps,
    bytes: elem * (x.size + dy.size) + 4 * chunks * Cout * taps,
    shape: `${fmtShape(x.shape)}*${fmtShape(dy.shape)}`,
  };
  const k = rt.kernels.get('conv/tiled_weight_grad', tileDefines(e, c), op);
  rt.dispatch(
    k,
    [part, operand(e, x, op), operand(e, dy, op)],
    u,
    [Math.ceil(taps / (c.wgN * c.tn)), Math.ceil(Cout / (c.wgM * c.tm)), chunks],
    op,
    cost,
  );
  if (chunks > 1) sumPartials(e, part, chunks, Cout * taps, dw, op);
}

/** dw = Σ over chunks, in order, of the [chunks, cols] weight-gradient partials (a column reduction); frees them. */
export function sumPartials(e: Engine, part: PooledBuffer, chunks: number, cols: number, dw: Tensor, op: string): void {
  const rt = e.runtime;
  launchReduce(
    rt,
    'sum',
    part,
    { numOut: cols, redSize: chunks, outShape: [cols], outStrides: [1], redShape: [chunks], redStrides: [cols] },
    dw.buffer(),
    1,
    op,
  );
  rt.release(part);
}
