// Convolutions (NCHW, float32, groups = 1), torch.nn.functional semantics:
//   conv2d(x, w, bias, { stride, padding, dilation, activation?, slope? })        w: [Cout, Cin, kh, kw]
//   convTranspose2d(x, w, bias, { stride, padding, outputPadding, dilation })    w: [Cin, Cout, kh, kw]
// Kernels (shaders/conv/), three families chosen by the engine's policy (runtime/policy.ts, conv.family):
//   portable (any adapter):
//     forward.wgsl        implicit GEMM with a fused bias + ReLU/LeakyReLU epilogue
//     transpose.wgsl      transposed conv in gather form (phase-decomposed), also conv2d's dX
//     weight_grad.wgsl    dW split over pixels into partials, summed in a fixed order (no atomics)
//   lavapipe with subgroups:
//     forward_sg.wgsl     forward with weights shared by subgroupBroadcast; transposed convs (and
//                         conv2d's dX) run through it as stride-1 phase convs
//     weight_grad_sg.wgsl dW with dy shared by subgroupBroadcast
//   tiled (the hardware plan: GPUs; launchers in conv-tiled.ts), tile shapes from the tuner (runtime/tuner.ts):
//     tiled_forward.wgsl      workgroup-tiled implicit GEMM, fused epilogue; transposed convs (and
//                             conv2d's dX) run through it as stride-1 phase convs
//     tiled_weight_grad.wgsl  dW as a workgroup-tiled GEMM split over pixels, partials summed in order
//   all:
//     weight_layout.wgsl  the weight matrix (and phase sub-kernels) in the kernels' layout, one pass
// Backward of conv2d: dŷ = dy·act'(y); dX = convTranspose(dŷ, w); dW = weight_grad(x, dŷ); dbias = Σ dŷ.
// Backward of convTranspose2d: dX = conv2d(dy, w); dW = weight_grad(dy, x); dbias = Σ dy.
import { record } from '../autograd/graph.ts';
import { launchMap } from '../runtime/map.ts';
import { grid1d } from '../runtime/grid.ts';
import { CONV_FORWARD, CONV_TRANSPOSE, CONV_WEIGHT_GRAD, WEIGHT_LAYOUT, type ConvGeometry, type SgGrid } from './conv-layouts.ts';
import { dispatchTiledForward, launchWeightGradTiled, shapeKey, useTiles } from './conv-tiled.ts';
import type { TileConfig } from '../runtime/tuner.ts';
import type { PooledBuffer } from '../runtime/pool.ts';
import type { Engine } from '../tensor/engine.ts';
import { fmtShape, ShapeError } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { launchReduce, sum } from './reduce.ts';
import { assertTensor, chooseTile, dense, output, sameEngine } from './util.ts';

type Pair = number | readonly [number, number];
export type Activation = 'relu' | 'leakyRelu';

export interface Conv2dOptions {
  stride?: Pair;
  /** A number, [h, w] (symmetric), or [top, bottom, left, right]. */
  padding?: number | readonly [number, number] | readonly [number, number, number, number];
  dilation?: Pair;
  /** Fused into the kernel's epilogue (and its derivative into backward). */
  activation?: Activation;
  /** LeakyReLU slope (default 0.01, as PyTorch). */
  slope?: number;
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
}

function pair(op: string, name: string, v: Pair | undefined, dflt: number, min: number): [number, number] {
  const p = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.length !== 2 || !p.every((n) => Number.isInteger(n) && n >= min)) {
    throw new RangeError(`${op}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p as [number, number];
}

function padding4(op: string, v: Conv2dOptions['padding']): [number, number, number, number] {
  if (Array.isArray(v) && v.length === 4) {
    if (!v.every((n) => Number.isInteger(n) && n >= 0)) throw new RangeError(`${op}: padding must be non-negative integers, got ${JSON.stringify(v)}`);
    return [v[0], v[1], v[2], v[3]];
  }
  const [ph, pw] = pair(op, 'padding', v as Pair | undefined, 0, 0);
  return [ph, ph, pw, pw];
}

function actCode(op: string, activation: Activation | undefined): number {
  if (activation === undefined) return 0;
  if (activation === 'relu') return 1;
  if (activation === 'leakyRelu') return 2;
  throw new TypeError(`${op}: activation must be 'relu' or 'leakyRelu', got '${String(activation)}'`);
}

function check4d(op: string, what: string, t: Tensor): void {
  if (t.rank !== 4) throw new ShapeError(`${op}: ${what} must be 4-D, got ${fmtShape(t.shape)}`);
}

function checkBias(op: string, bias: Tensor | null | undefined, channels: number, w: Tensor): void {
  if (bias === null || bias === undefined) return;
  assertTensor(bias, op, 'bias');
  if (bias.rank !== 1 || bias.shape[0] !== channels) {
    throw new ShapeError(`${op}: bias ${fmtShape(bias.shape)} does not match weight ${fmtShape(w.shape)} (expected [${channels}])`);
  }
}


/**
 * Which kernels the convolutions use: the engine's policy (src/runtime/policy.ts). 'subgroup': the
 * subgroup kernels (*_sg.wgsl: lavapipe with 'subgroups', 8 or 16 lanes; the kernels need at least 8,
 * and other adapters do not promise that, e.g. SwiftShader has 4); 'portable': the others.
 */
function useSubgroups(e: Engine): boolean {
  return e.runtime.policy.conv.family === 'subgroup';
}

// ---- weight layouts -----------------------------------------------------------------------------

/** Taps along one axis of a weight matrix: k0, k0 + step, … (n of them), optionally in reverse order. */
interface TapAxis {
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
function transposedWeight(e: Engine, w: Tensor, coAxis: 0 | 1, rows?: TapAxis, cols?: TapAxis, tile = 8): { wt: Tensor; coutPad: number } {
  const [a, b, kh, kw] = w.shape;
  const r = rows ?? { k0: 0, n: kh, step: 1, flip: false };
  const c = cols ?? { k0: 0, n: kw, step: 1, flip: false };
  const cout = coAxis === 0 ? a : b;
  const cin = coAxis === 0 ? b : a;
  const coutPad = Math.ceil(cout / tile) * tile;
  const key = `weight_layout:${w.shape.join('x')}:${coAxis}:${r.k0},${r.n},${r.step},${+r.flip}:${c.k0},${c.n},${c.step},${+c.flip}:${tile}`;
  const wt = w.storage('conv').derived(key, () => layoutWeight(e, w, coAxis, r, c, cout, cin, coutPad));
  return { wt, coutPad };
}

/** One weight_layout.wgsl pass: w in the kernels' layout as a new [cin·r.n·c.n, coutPad] tensor. */
function layoutWeight(e: Engine, w: Tensor, coAxis: 0 | 1, r: TapAxis, c: TapAxis, cout: number, cin: number, coutPad: number): Tensor {
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
  e.runtime.dispatch(e.runtime.kernels.get('conv/weight_layout', {}, 'conv.weight'), [wt.buffer(), w.buffer('conv')], u, grid.workgroups, 'conv.weight', { bytes: 4 * (w.size + wt.size), shape: fmtShape(w.shape) });
  return wt;
}

// ---- raw launchers (no autograd) ----------------------------------------------------------------


/** Output channels per thread in the subgroup kernels: 16 (each input load feeds twice the FMAs) when Cout > 8. */
function coTile(e: Engine, cout: number): 8 | 16 {
  return cout > 8 && e.runtime.policy.conv.co16 ? 16 : 8;
}

/** forward_sg.wgsl also has a 4-channel tile, for Cout ≤ 4 (SegAN's last layer has K = 1 or 3). */
function coTileFwd(e: Engine, cout: number): 4 | 8 | 16 {
  return cout <= 4 && e.runtime.policy.conv.co4 ? 4 : coTile(e, cout);
}

/** Can forward_sg.wgsl run this geometry (kernel rows at most 4 taps wide, run of columns in 8 vec4)? */
function sgForwardFits(kw: number, sw: number, pw: number, dw: number): boolean {
  return kw >= 1 && kw <= 4 && pw >= 0 && 3 * sw + (kw - 1) * dw + 4 <= 32;
}

/** One forward_sg.wgsl dispatch: x [N, Cin, H, W] ⊛ wt [Cin·kh·kw, coutPad] into (part of) y. */
function dispatchForwardSg(e: Engine, y: Tensor, x: Tensor, wt: Tensor, coutPad: number, bias: Tensor | null, g: SgGrid, act: number, slope: number, op: string): void {
  const [N, Cin, H, W] = x.shape;
  const [, Cout, outH, outW] = y.shape;
  const co = coTileFwd(e, Cout);
  const coGroups = coutPad / co;
  const u = CONV_FORWARD.pack({
    N, Cin, H, W, Cout, OH: g.OH, OW: g.OW, co_groups: coGroups,
    kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, ph: g.ph, pw: g.pw, dh: g.dh, dw: g.dw,
    cout_pad: coutPad, act, slope, has_bias: bias ? 1 : 0,
    out_sh: g.outSh, out_sw: g.outSw, out_ry: g.ry, out_rx: g.rx, out_h: outH, out_w: outW, grid_x: 0,
  });
  // x: aligned vec4 runs when rows are vec4-aligned; else the run as scalars when it is shorter than
  // 4 loads per tap (3×3 stride 1: 6 < 12), else 4 scalar loads per tap.
  const run = 3 * g.sw + (g.kw - 1) * g.dw + 1;
  const xMode = W % 4 === 0 && e.runtime.policy.conv.xRuns ? 2 : run < 4 * g.kw && e.runtime.policy.conv.xRuns ? 1 : 0;
  const k = e.runtime.kernels.get('conv/forward_sg', { KW: g.kw, SW: g.sw, PW: g.pw, DW: g.dw, X_MODE: xMode, CO: co }, op);
  const cost = { flops: 2 * N * Cout * g.OH * g.OW * Cin * g.kh * g.kw, bytes: 4 * (x.size + wt.size + (y.size * g.OH * g.OW) / (outH * outW)), shape: `${fmtShape(x.shape)}*${fmtShape(wt.shape)}` };
  const xb = x.buffer(op);
  e.runtime.dispatch(k, [y.buffer(), xb, wt.buffer(), bias ? bias.buffer(op) : wt.buffer(), xb], u, [Math.ceil((N * g.OH * Math.ceil(g.OW / 4)) / 64), 1, coGroups], op, cost);
}

function launchForward(e: Engine, x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, act: number, slope: number, OH: number, OW: number, forced?: TileConfig): Tensor {
  const [N, Cin, H, W] = x.shape;
  const Cout = w.shape[0];
  const y = output(e, [N, Cout, OH, OW], 'conv2d');
  if (y.size === 0) return y;
  if (useTiles(e)) {
    const c = chooseTile(e, 'conv2d.forward', shapeKey(x, w, g, OH, OW), Cout, [x.shape, w.shape], ([xs, ws], t) => launchForward(e, xs, ws, null, g, act, slope, OH, OW, t), forced);
    const { wt, coutPad } = transposedWeight(e, w, 0, undefined, undefined, 4);
    dispatchTiledForward(e, y, x, wt, coutPad, bias, { kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, ph: g.pt, pw: g.pl, dh: g.dh, dw: g.dw, OH, OW, outSh: 1, outSw: 1, ry: 0, rx: 0 }, act, slope, 'conv2d', c);
    return y;
  }
  if (useSubgroups(e) && sgForwardFits(g.kw, g.sw, g.pl, g.dw) && N * OH * Math.ceil(OW / 4) <= 64 * 65535) {
    const { wt, coutPad } = transposedWeight(e, w, 0, undefined, undefined, coTileFwd(e, Cout));
    dispatchForwardSg(e, y, x, wt, coutPad, bias, { kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, ph: g.pt, pw: g.pl, dh: g.dh, dw: g.dw, OH, OW, outSh: 1, outSw: 1, ry: 0, rx: 0 }, act, slope, 'conv2d');
    return y;
  }
  const { wt, coutPad } = transposedWeight(e, w, 0);
  const coGroups = coutPad / 8;
  const u = CONV_FORWARD.pack({
    N, Cin, H, W, Cout, OH, OW, co_groups: coGroups,
    kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, ph: g.pt, pw: g.pl, dh: g.dh, dw: g.dw,
    cout_pad: coutPad, act, slope, has_bias: bias ? 1 : 0,
    out_sh: 1, out_sw: 1, out_ry: 0, out_rx: 0, out_h: OH, out_w: OW, grid_x: 0,
  });
  const wg: [number, number, number] = [Math.ceil((OH * Math.ceil(OW / 4)) / 64), 1, N * coGroups];
  const cost = { flops: 2 * N * Cout * OH * OW * Cin * g.kh * g.kw, bytes: 4 * (x.size + wt.size + y.size), shape: `${fmtShape(x.shape)}*${fmtShape(w.shape)}` };
  e.runtime.dispatch(e.runtime.kernels.get('conv/forward', {}, 'conv2d'), [y.buffer(), x.buffer('conv2d'), wt.buffer(), bias ? bias.buffer('conv2d') : wt.buffer()], u, wg, 'conv2d', cost);
  return y;
}

/**
 * The phases of a transposed convolution (dilation 1) as stride-1 convolutions (sub-pixel form): output
 * pixels with oy ≡ ry (mod sh) receive exactly the kernel rows ki ≡ ry + ph (mod sh), ki = ki0 + a·sh,
 * from input row iy = qy + c0 − a (oy = ry + qy·sh, c0 = (ry + ph − ki0) / sh). With the rows reversed
 * (i = n − 1 − a) that is a stride-1 conv with leading padding n − 1 − c0. Likewise for columns. Null
 * when some phase has no taps or needs a negative padding (the gather kernel handles those).
 */
function phaseAxes(k: number, s: number, p: number, out: number): { axis: TapAxis; pad: number; r: number; count: number }[] | null {
  const phases = [];
  for (let r = 0; r < s; r++) {
    const count = Math.max(0, Math.ceil((out - r) / s));
    const k0 = (r + p) % s;
    const n = k0 < k ? Math.ceil((k - k0) / s) : 0;
    const pad = n - 1 - (r + p - k0) / s;
    if (count > 0 && (n === 0 || pad < 0)) return null;
    phases.push({ axis: { k0, n, step: s, flip: true }, pad, r, count });
  }
  return phases;
}

/**
 * forward_sg.wgsl for a transposed conv, one dispatch per phase (sh·sw of them), each with its own
 * reversed sub-kernel of the taps that reach it. Null when the geometry does not fit.
 */
function transposePhases(g: ConvGeometry, OH: number, OW: number) {
  if (g.dh !== 1 || g.dw !== 1) return null;
  const rows = phaseAxes(g.kh, g.sh, g.pt, OH);
  const cols = phaseAxes(g.kw, g.sw, g.pl, OW);
  return rows && cols ? { rows, cols } : null;
}

/**
 * forward_sg.wgsl (tile null) or tiled_forward.wgsl (with that tile) for a transposed conv, one
 * dispatch per phase (sh·sw of them), each with its own reversed sub-kernel of the taps that reach it.
 * Null when the geometry does not fit.
 */
function launchTransposeByPhases(e: Engine, x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, OH: number, OW: number, op: string, tile: TileConfig | null = null): Tensor | null {
  const phases = transposePhases(g, OH, OW);
  if (!phases) return null;
  const { rows, cols } = phases;
  const [N] = x.shape;
  if (!tile) {
    if (!cols.every((c) => c.count === 0 || sgForwardFits(c.axis.n, 1, c.pad, 1))) return null;
    if (rows.some((r) => cols.some((c) => N * r.count * Math.ceil(c.count / 4) > 64 * 65535))) return null;
  }
  const y = output(e, [N, w.shape[1], OH, OW], op);
  for (const r of rows) {
    for (const c of cols) {
      if (r.count === 0 || c.count === 0) continue;
      const grid = { kh: r.axis.n, kw: c.axis.n, sh: 1, sw: 1, ph: r.pad, pw: c.pad, dh: 1, dw: 1, OH: r.count, OW: c.count, outSh: g.sh, outSw: g.sw, ry: r.r, rx: c.r };
      if (tile) {
        const { wt, coutPad } = transposedWeight(e, w, 1, r.axis, c.axis, 4);
        dispatchTiledForward(e, y, x, wt, coutPad, bias, grid, 0, 0, op, tile);
      } else {
        const { wt, coutPad } = transposedWeight(e, w, 1, r.axis, c.axis, coTileFwd(e, w.shape[1]));
        dispatchForwardSg(e, y, x, wt, coutPad, bias, grid, 0, 0, op);
      }
    }
  }
  return y;
}

/** Transposed convolution of x [N, Cin_t, IH, IW] with w read as [Cin_t, Cout_t, kh, kw]. */
function launchTranspose(e: Engine, x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, OH: number, OW: number, op: string, forced?: TileConfig): Tensor {
  const [N, Cin, IH, IW] = x.shape;
  const Cout = w.shape[1];
  if (useTiles(e) && N * Cout * OH * OW > 0 && transposePhases(g, OH, OW)) {
    const c = chooseTile(e, 'conv2d.dX', shapeKey(x, w, g, OH, OW), Cout, [x.shape, w.shape], ([xs, ws], t) => launchTranspose(e, xs, ws, null, g, OH, OW, op, t), forced);
    const y = launchTransposeByPhases(e, x, w, bias, g, OH, OW, op, c);
    if (y) return y;
  }
  if (useSubgroups(e) && N * Cout * OH * OW > 0) {
    const y = launchTransposeByPhases(e, x, w, bias, g, OH, OW, op);
    if (y) return y;
  }
  const y = output(e, [N, Cout, OH, OW], op);
  if (y.size === 0) return y;
  const { wt, coutPad } = transposedWeight(e, w, 1);
  const coGroups = coutPad / 8;
  const qh = Math.ceil(OH / g.sh);
  const qw = Math.ceil(OW / g.sw);
  const u = CONV_TRANSPOSE.pack({
    N, Cin, IH, IW, Cout, OH, OW, co_groups: coGroups,
    kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, ph: g.pt, pw: g.pl, dh: g.dh, dw: g.dw,
    cout_pad: coutPad, has_bias: bias ? 1 : 0, qh, qw,
  });
  const k = e.runtime.kernels.get('conv/transpose', {}, op);
  const wg: [number, number, number] = [Math.ceil((qh * Math.ceil(qw / 4)) / 64), 1, N * g.sh * g.sw * coGroups];
  const cost = { flops: 2 * N * Cin * IH * IW * Cout * g.kh * g.kw, bytes: 4 * (x.size + wt.size + y.size), shape: `${fmtShape(x.shape)}*${fmtShape(w.shape)}` };
  e.runtime.dispatch(k, [y.buffer(), x.buffer(op), wt.buffer(), bias ? bias.buffer(op) : wt.buffer()], u, wg, op, cost);
  return y;
}

/**
 * dW[co, (ci, ki, kj)] = Σ dy[n, co, oy, ox] · x[n, ci, oy·sh − pt + ki·dh, ox·sw − pl + kj·dw],
 * as a tensor [Cout, Cin, kh, kw] (Cout = dy's channels, Cin = x's channels).
 */
function launchWeightGrad(e: Engine, x: Tensor, dy: Tensor, g: ConvGeometry, op: string, forced?: TileConfig): Tensor {
  const [N, Cin, H, W] = x.shape;
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
    const c = chooseTile(e, 'conv2d.dW', shapeKey(x, dy, g, OH, OW), Cout, [x.shape, dy.shape], ([xs, dys], t) => launchWeightGrad(e, xs, dys, g, op, t), forced);
    launchWeightGradTiled(e, dw, x, dy, g, op, c);
    return dw;
  }
  const sg = useSubgroups(e);
  const co = sg ? coTile(e, Cout) : 8; // output channels per thread
  // Subgroup kernel: one kernel row per thread (ROW) for kernels 4 wide, and 3 wide (3 of the 4 tap
  // slots used, but a 3×3 row's 4 pixels read 6 columns instead of 12 scalar loads).
  const rowMode = sg && e.runtime.policy.conv.xRuns && sgForwardFits(g.kw, g.sw, g.pl, g.dw) && (g.kw === 4 || (g.kw === 3 && e.runtime.policy.conv.wgRows3));
  const tapGroups = rowMode ? Cin * g.kh : Math.ceil(taps / 4);
  const threadsPerChunk = tapGroups * Math.ceil(Cout / co);
  const target = rt.policy.threads.conv;
  const maxChunksByMemory = Math.max(1, Math.floor((64 * 2 ** 20) / (Cout * taps * 4)));
  const maxDim = rt.report.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  let chunks = Math.max(1, Math.min(rows, maxChunksByMemory, maxDim, Math.round(target / threadsPerChunk)));
  const rowsPerChunk = Math.ceil(rows / chunks);
  chunks = Math.ceil(rows / rowsPerChunk);
  const part: PooledBuffer = chunks === 1 ? dw.buffer() : rt.alloc(chunks * Cout * taps * 4, 'scratch', `${op}.partials`);
  const u = CONV_WEIGHT_GRAD.pack({
    N, Cin, H, W, Cout, OH, OW, taps,
    kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, ph: g.pt, pw: g.pl, dh: g.dh, dw: g.dw,
    rows_per_chunk: rowsPerChunk, pixels_per_chunk: 0,
  });
  const cost = { flops: 2 * N * OH * OW * Cout * taps, bytes: 4 * (x.size + dy.size + chunks * Cout * taps), shape: `${fmtShape(x.shape)}*${fmtShape(dy.shape)}` };
  if (sg) {
    // Channel group = workgroup y, so a subgroup shares its dy values; dy bound twice (f32 and vec4).
    const wgSize = Math.min(64, Math.max(8, 2 ** Math.ceil(Math.log2(tapGroups))));
    const xMode = W % 4 === 0 ? 2 : 1;
    const defs = { DY_VEC4: OW % 4 === 0 ? 'true' : 'false', WG: wgSize, CO16: co === 16 ? 'true' : 'false', ROW: rowMode ? 'true' : 'false', KW: rowMode ? g.kw : 4, SW: rowMode ? g.sw : 1, PW: rowMode ? g.pl : 0, DW: rowMode ? g.dw : 1, X_MODE: xMode };
    const k = rt.kernels.get('conv/weight_grad_sg', defs, op);
    const dyb = dy.buffer(op);
    const xb = x.buffer(op);
    rt.dispatch(k, [part, xb, dyb, dyb, xb], u, [Math.ceil(tapGroups / wgSize), Math.ceil(Cout / co), chunks], op, cost);
  } else {
    const k = rt.kernels.get('conv/weight_grad', {}, op);
    rt.dispatch(k, [part, x.buffer(op), dy.buffer(op)], u, [Math.ceil((Math.ceil(taps / 4) * Math.ceil(Cout / 8)) / 64), 1, chunks], op, cost);
  }
  if (chunks > 1) {
    // Σ over chunks, in order: a column reduction of the [chunks, Cout·taps] partials.
    const cols = Cout * taps;
    launchReduce(rt, 'sum', part, { numOut: cols, redSize: chunks, outShape: [cols], outStrides: [1], redShape: [chunks], redStrides: [cols] }, dw.buffer(), 1, op);
    rt.release(part);
  }
  return dw;
}

/** dŷ = g · act'(y) for a fused activation (from the output: the activations keep the sign). */
function activationGrad(e: Engine, g: Tensor, y: Tensor, act: number, slope: number, op: string): Tensor {
  if (act === 0) return g;
  const out = output(e, g.shape, `${op}.activation`);
  const expr = act === 1 ? 'select(0.0, g, y > 0.0)' : 'select(g * p0, g, y > 0.0)';
  launchMap(e.runtime, `${op}.activation`, expr, ['g', 'y'], [dense(g, op), dense(y, op)], dense(out, op), g.shape, slope);
  return out;
}

function outSize(op: string, x: Tensor, w: Tensor, size: number, k: number, s: number, p0: number, p1: number, d: number): number {
  const o = Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;
  if (o < 1) throw new ShapeError(`${op}: input ${fmtShape(x.shape)} is too small for kernel ${fmtShape(w.shape)} with this stride/padding/dilation (output size ${o})`);
  return o;
}

// ---- public ops ---------------------------------------------------------------------------------

export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  assertTensor(x, op, 'input');
  assertTensor(w, op, 'weight');
  check4d(op, 'input', x);
  check4d(op, 'weight', w);
  const e = sameEngine(op, x, w, ...(bias ? [bias] : []));
  const [, Cin, H, W] = x.shape;
  const [Cout, wCin, kh, kw] = w.shape;
  if (wCin !== Cin) throw new ShapeError(`${op}: input ${fmtShape(x.shape)} has ${Cin} channels but weight ${fmtShape(w.shape)} expects ${wCin}`);
  checkBias(op, bias, Cout, w);
  const [sh, sw] = pair(op, 'stride', opts.stride, 1, 1);
  const [dh, dw] = pair(op, 'dilation', opts.dilation, 1, 1);
  const [pt, pb, pl, pr] = padding4(op, opts.padding);
  const act = actCode(op, opts.activation);
  const slope = opts.slope ?? 0.01;
  // backward reads the sign of the saved output, which matches the input's only for slope >= 0
  if (!(slope >= 0) || !Number.isFinite(slope)) throw new RangeError(`${op}: slope must be a finite number >= 0, got ${slope}`);
  const g: ConvGeometry = { kh, kw, sh, sw, pt, pb, pl, pr, dh, dw };
  const OH = outSize(op, x, w, H, kh, sh, pt, pb, dh);
  const OW = outSize(op, x, w, W, kw, sw, pl, pr, dw);
  const y = launchForward(e, x, w, bias, g, act, slope, OH, OW);
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(y, op, inputs, (gy, needs) => {
    const dpre = activationGrad(e, gy, y, act, slope, op);
    const dx = needs[0] ? launchTranspose(e, dpre, w, null, g, H, W, 'conv2d.dx') : null;
    const dwt = needs[1] ? launchWeightGrad(e, x, dpre, g, 'conv2d.dw') : null;
    const db = bias && needs[2] ? sum(dpre, [0, 2, 3]) : null;
    return bias ? [dx, dwt, db] : [dx, dwt];
  });
}

export function convTranspose2d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  assertTensor(x, op, 'input');
  assertTensor(w, op, 'weight');
  check4d(op, 'input', x);
  check4d(op, 'weight', w);
  const e = sameEngine(op, x, w, ...(bias ? [bias] : []));
  const [, Cin, IH, IW] = x.shape;
  const [wCin, Cout, kh, kw] = w.shape;
  if (wCin !== Cin) throw new ShapeError(`${op}: input ${fmtShape(x.shape)} has ${Cin} channels but weight ${fmtShape(w.shape)} expects ${wCin}`);
  checkBias(op, bias, Cout, w);
  const [sh, sw] = pair(op, 'stride', opts.stride, 1, 1);
  const [dh, dw] = pair(op, 'dilation', opts.dilation, 1, 1);
  const [ph, pw] = pair(op, 'padding', opts.padding, 0, 0);
  const [oph, opw] = pair(op, 'outputPadding', opts.outputPadding, 0, 0);
  if (oph >= Math.max(sh, dh) || opw >= Math.max(sw, dw)) throw new RangeError(`${op}: outputPadding must be smaller than stride or dilation (PyTorch's rule)`);
  const OH = (IH - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const OW = (IW - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  if (OH < 1 || OW < 1) throw new ShapeError(`${op}: input ${fmtShape(x.shape)} with weight ${fmtShape(w.shape)} gives an empty output (${OH}x${OW})`);
  // The equivalent conv2d (whose input gradient this is) has padding ph on top and ph − oph at the bottom.
  const g: ConvGeometry = { kh, kw, sh, sw, pt: ph, pb: ph - oph, pl: pw, pr: pw - opw, dh, dw };
  const y = launchTranspose(e, x, w, bias, g, OH, OW, op);
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(y, op, inputs, (gy, needs) => {
    const dx = needs[0] ? launchForward(e, gy, w, null, g, 0, 0, IH, IW) : null;
    const dwt = needs[1] ? launchWeightGrad(e, gy, x, g, `${op}.dw`) : null;
    const db = bias && needs[2] ? sum(gy, [0, 2, 3]) : null;
    return bias ? [dx, dwt, db] : [dx, dwt];
  });
}

