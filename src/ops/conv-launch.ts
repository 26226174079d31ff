// The convolution launchers without autograd: conv2d's forward (launchForward) and the transposed
// convolution (launchTranspose, also conv2d's dX), each choosing among the portable, subgroup and tiled
// kernels by the engine's policy (the kernels: the header of src/ops/conv.ts).
import type { TileConfig } from '../runtime/tuner.ts';
import type { Engine } from '../tensor/engine.ts';
import { fmtShape } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import {
  CONV_TRANSPOSE,
  convGeometry,
  packForward,
  type ConvGeometry,
  type ForwardDispatch,
  type SgGrid,
} from './conv-layouts.ts';
import { chooseConvTile, dispatchTiledForward, useTiles } from './conv-tiled.ts';
import { transposedWeight, type TapAxis } from './conv-weights.ts';
import { output } from './util.ts';

/**
 * Which kernels the convolutions use: the engine's policy (src/runtime/policy.ts). 'subgroup': the
 * subgroup kernels (*_sg.wgsl: lavapipe with 'subgroups', 8 or 16 lanes; the kernels need at least 8,
 * and other adapters do not promise that, e.g. SwiftShader has 4); 'portable': the others.
 */
export function useSubgroups(e: Engine): boolean {
  return e.runtime.policy.conv.family === 'subgroup';
}

/** Output channels per thread in the subgroup kernels: 16 (each input load feeds twice the FMAs) when Cout > 8. */
export function coTile(e: Engine, cout: number): 8 | 16 {
  return cout > 8 && e.runtime.policy.conv.co16 ? 16 : 8;
}

/** forward_sg.wgsl also has a 4-channel tile, for Cout ≤ 4 (SegAN's last layer has K = 1 or 3). */
function coTileFwd(e: Engine, cout: number): 4 | 8 | 16 {
  return cout <= 4 && e.runtime.policy.conv.co4 ? 4 : coTile(e, cout);
}

/** Can forward_sg.wgsl run this geometry (kernel rows at most 4 taps wide, run of columns in 8 vec4)? */
export function sgForwardFits(kw: number, sw: number, pw: number, dw: number): boolean {
  return kw >= 1 && kw <= 4 && pw >= 0 && 3 * sw + (kw - 1) * dw + 4 <= 32;
}

/** One forward_sg.wgsl dispatch: x [N, Cin, H, W] ⊛ wt [Cin·kh·kw, coutPad] into (part of) y. */
function dispatchForwardSg(e: Engine, d: ForwardDispatch): void {
  const { y, x, wt, coutPad, bias, g, act, slope, op } = d;
  const [N, Cin, , W] = x.shape;
  const [, Cout, outH, outW] = y.shape;
  const co = coTileFwd(e, Cout);
  const coGroups = coutPad / co;
  const u = packForward(x.shape, y.shape, g, { coutPad, hasBias: Boolean(bias), act, slope, coGroups, gridX: 0 });
  // x: aligned vec4 runs when rows are vec4-aligned; else the run as scalars when it is shorter than
  // 4 loads per tap (3×3 stride 1: 6 < 12), else 4 scalar loads per tap.
  const run = 3 * g.sw + (g.kw - 1) * g.dw + 1;
  const xMode = W % 4 === 0 && e.runtime.policy.conv.xRuns ? 2 : run < 4 * g.kw && e.runtime.policy.conv.xRuns ? 1 : 0;
  const k = e.runtime.kernels.get(
    'conv/forward_sg',
    { KW: g.kw, SW: g.sw, PW: g.pw, DW: g.dw, X_MODE: xMode, CO: co },
    op,
  );
  const cost = {
    flops: 2 * N * Cout * g.OH * g.OW * Cin * g.kh * g.kw,
    bytes: 4 * (x.size + wt.size + (y.size * g.OH * g.OW) / (outH * outW)),
    shape: `${fmtShape(x.shape)}*${fmtShape(wt.shape)}`,
  };
  const xb = x.buffer(op);
  e.runtime.dispatch(
    k,
    [y.buffer(), xb, wt.buffer(), bias ? bias.buffer(op) : wt.buffer(), xb],
    u,
    [Math.ceil((N * g.OH * Math.ceil(g.OW / 4)) / 64), 1, coGroups],
    op,
    cost,
  );
}

/** The grid of a plain (not transposed) convolution: every output pixel, stride 1 in the output. */
function forwardGrid(g: ConvGeometry, OH: number, OW: number): SgGrid {
  return {
    ...convGeometry(g),
    OH,
    OW,
    outSh: 1,
    outSw: 1,
    ry: 0,
    rx: 0,
  };
}

export function launchForward(
  e: Engine,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
  act: number,
  slope: number,
  OH: number,
  OW: number,
  forced?: TileConfig,
): Tensor {
  const [N, Cin] = x.shape;
  const Cout = w.shape[0];
  const y = output(e, [N, Cout, OH, OW], 'conv2d');
  if (y.size === 0) return y;
  if (useTiles(e)) {
    const relaunch = ([xs, ws]: Tensor[], t: TileConfig) => launchForward(e, xs, ws, null, g, act, slope, OH, OW, t);
    const c = chooseConvTile(e, 'conv2d.forward', { a: x, b: w, g, OH, OW, rows: Cout }, relaunch, forced);
    const wt = transposedWeight(e, w, 0, undefined, undefined, 4);
    dispatchTiledForward(e, { y, x, ...wt, bias, g: forwardGrid(g, OH, OW), act, slope, op: 'conv2d' }, c);
    return y;
  }
  if (useSubgroups(e) && sgForwardFits(g.kw, g.sw, g.pl, g.dw) && N * OH * Math.ceil(OW / 4) <= 64 * 65535) {
    const wt = transposedWeight(e, w, 0, undefined, undefined, coTileFwd(e, Cout));
    dispatchForwardSg(e, { y, x, ...wt, bias, g: forwardGrid(g, OH, OW), act, slope, op: 'conv2d' });
    return y;
  }
  const { wt, coutPad } = transposedWeight(e, w, 0);
  const coGroups = coutPad / 8;
  const u = packForward(x.shape, y.shape, forwardGrid(g, OH, OW), {
    coutPad,
    hasBias: Boolean(bias),
    act,
    slope,
    coGroups,
    gridX: 0,
  });
  const wg: [number, number, number] = [Math.ceil((OH * Math.ceil(OW / 4)) / 64), 1, N * coGroups];
  const cost = {
    flops: 2 * N * Cout * OH * OW * Cin * g.kh * g.kw,
    bytes: 4 * (x.size + wt.size + y.size),
    shape: `${fmtShape(x.shape)}*${fmtShape(w.shape)}`,
  };
  e.runtime.dispatch(
    e.runtime.kernels.get('conv/forward', {}, 'conv2d'),
    [y.buffer(), x.buffer('conv2d'), wt.buffer(), bias ? bias.buffer('conv2d') : wt.buffer()],
    u,
    wg,
    'conv2d',
    cost,
  );
  return y;
}

/**
 * The phases of a transposed convolution (dilation 1) as stride-1 convolutions (sub-pixel form): output
 * pixels with oy ≡ ry (mod sh) receive exactly the kernel rows ki ≡ ry + ph (mod sh), ki = ki0 + a·sh,
 * from input row iy = qy + c0 − a (oy = ry + qy·sh, c0 = (ry + ph − ki0) / sh). With the rows reversed
 * (i = n − 1 − a) that is a stride-1 conv with leading padding n − 1 − c0. Likewise for columns. Null
 * when some phase has no taps or needs a negative padding (the gather kernel handles those).
 */
function phaseAxes(
  k: number,
  s: number,
  p: number,
  out: number,
): { axis: TapAxis; pad: number; r: number; count: number }[] | null {
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
function launchTransposeByPhases(e: Engine, call: TransposeCall, tile: TileConfig | null = null): Tensor | null {
  const { x, w, bias, g, OH, OW, op } = call;
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
      const grid = {
        kh: r.axis.n,
        kw: c.axis.n,
        sh: 1,
        sw: 1,
        ph: r.pad,
        pw: c.pad,
        dh: 1,
        dw: 1,
        OH: r.count,
        OW: c.count,
        outSh: g.sh,
        outSw: g.sw,
        ry: r.r,
        rx: c.r,
      };
      const wt = transposedWeight(e, w, 1, r.axis, c.axis, tile ? 4 : coTileFwd(e, w.shape[1]));
      const d = { y, x, ...wt, bias, g: grid, act: 0, slope: 0, op };
      if (tile) dispatchTiledForward(e, d, tile);
      else dispatchForwardSg(e, d);
    }
  }
  return y;
}

/** A transposed convolution: x [N, Cin_t, IH, IW] with w read as [Cin_t, Cout_t, kh, kw] into y [N, Cout_t, OH, OW]. */
export interface TransposeCall {
  x: Tensor;
  w: Tensor;
  bias: Tensor | null;
  g: ConvGeometry;
  OH: number;
  OW: number;
  op: string;
}

/** Transposed convolution (TransposeCall); `forced`: that tile instead of the tuner's choice. */
export function launchTranspose(e: Engine, call: TransposeCall, forced?: TileConfig): Tensor {
  const { x, w, bias, g, OH, OW, op } = call;
  const [N, Cin, IH, IW] = x.shape;
  const Cout = w.shape[1];
  if (useTiles(e) && N * Cout * OH * OW > 0 && transposePhases(g, OH, OW)) {
    const relaunch = ([xs, ws]: Tensor[], t: TileConfig) =>
      launchTranspose(e, { ...call, x: xs, w: ws, bias: null }, t);
    const c = chooseConvTile(e, 'conv2d.dX', { a: x, b: w, g, OH, OW, rows: Cout }, relaunch, forced);
    const y = launchTransposeByPhases(e, call, c);
    if (y) return y;
  }
  if (useSubgroups(e) && N * Cout * OH * OW > 0) {
    const y = launchTransposeByPhases(e, call);
    if (y) return y;
  }
  const y = output(e, [N, Cout, OH, OW], op);
  if (y.size === 0) return y;
  const { wt, coutPad } = transposedWeight(e, w, 1);
  const coGroups = coutPad / 8;
  const qh = Math.ceil(OH / g.sh);
  const qw = Math.ceil(OW / g.sw);
  const u = CONV_TRANSPOSE.pack({
    N,
    Cin,
    H: IH,
    W: IW,
    Cout,
    OH,
    OW,
    co_groups: coGroups,
    ...convGeometry(g),
    cout_pad: coutPad,
    has_bias: bias ? 1 : 0,
    qh,
    qw,
  });
  const k = e.runtime.kernels.get('conv/transpose', {}, op);
  const wg: [number, number, number] = [Math.ceil((qh * Math.ceil(qw / 4)) / 64), 1, N * g.sh * g.sw * coGroups];
  const cost = {
    flops: 2 * N * Cin * IH * IW * Cout * g.kh * g.kw,
    bytes: 4 * (x.size + wt.size + y.size),
    shape: `${fmtShape(x.shape)}*${fmtShape(w.shape)}`,
  };
  e.runtime.dispatch(k, [y.buffer(), x.buffer(op), wt.buffer(), bias ? bias.buffer(op) : wt.buffer()], u, wg, op, cost);
  return y;
}
