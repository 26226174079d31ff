// Convolutions (NCHW, float32, groups = 1), torch.nn.functional semantics:
//   conv2d(x, w, bias, { stride, padding, dilation, activation?, slope? })        w: [Cout, Cin, kh, kw]
//   convTranspose2d(x, w, bias, { stride, padding, outputPadding, dilation })    w: [Cin, Cout, kh, kw]
// Files: this one (the public ops, their argument checks and backward), conv-launch.ts (forward and
// transposed-conv launchers), conv-weight-grad.ts (dW), conv-weights.ts (the weight layout),
// conv-tiled.ts (the tiled kernels' launchers), conv-layouts.ts (uniform layouts, geometry types).
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
import type { Engine } from '../tensor/engine.ts';
import { fmtShape, ShapeError } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { ConvGeometry } from './conv-layouts.ts';
import { launchForward, launchTranspose } from './conv-launch.ts';
import { launchWeightGrad } from './conv-weight-grad.ts';
import { sum } from './reduce.ts';
import { assertTensor, dense, output, sameEngine } from './util.ts';

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
    if (!v.every((n) => Number.isInteger(n) && n >= 0))
      throw new RangeError(`${op}: padding must be non-negative integers, got ${JSON.stringify(v)}`);
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
    throw new ShapeError(
      `${op}: bias ${fmtShape(bias.shape)} does not match weight ${fmtShape(w.shape)} (expected [${channels}])`,
    );
  }
}

/** dŷ = g · act'(y) for a fused activation (from the output: the activations keep the sign). */
function activationGrad(e: Engine, g: Tensor, y: Tensor, act: number, slope: number, op: string): Tensor {
  if (act === 0) return g;
  const out = output(e, g.shape, `${op}.activation`);
  const expr = act === 1 ? 'select(0.0, g, y > 0.0)' : 'select(g * p0, g, y > 0.0)';
  launchMap(
    e.runtime,
    `${op}.activation`,
    expr,
    ['g', 'y'],
    [dense(g, op), dense(y, op)],
    dense(out, op),
    g.shape,
    slope,
  );
  return out;
}

function outSize(
  op: string,
  x: Tensor,
  w: Tensor,
  size: number,
  k: number,
  s: number,
  p0: number,
  p1: number,
  d: number,
): number {
  const o = Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;
  if (o < 1)
    throw new ShapeError(
      `${op}: input ${fmtShape(x.shape)} is too small for kernel ${fmtShape(w.shape)} ` +
        `with this stride/padding/dilation (output size ${o})`,
    );
  return o;
}

/**
 * The checks both convolutions make, in this order: tensors, 4-D, one engine, input channels against
 * the weight's axis `cinAxis` (0: conv2d's [Cout, Cin, kh, kw] read as Cin at 1; 1: the transposed
 * [Cin, Cout, kh, kw]), bias, stride and dilation.
 */
function checkConv(
  op: string,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  cinAxis: 0 | 1,
  opts: { stride?: Pair; dilation?: Pair },
) {
  assertTensor(x, op, 'input');
  assertTensor(w, op, 'weight');
  check4d(op, 'input', x);
  check4d(op, 'weight', w);
  const e = sameEngine(op, x, w, ...(bias ? [bias] : []));
  const Cin = x.shape[1];
  const [a, b, kh, kw] = w.shape;
  const [wCin, Cout] = cinAxis === 0 ? [b, a] : [a, b];
  if (wCin !== Cin)
    throw new ShapeError(
      `${op}: input ${fmtShape(x.shape)} has ${Cin} channels but weight ${fmtShape(w.shape)} expects ${wCin}`,
    );
  checkBias(op, bias, Cout, w);
  const [sh, sw] = pair(op, 'stride', opts.stride, 1, 1);
  const [dh, dw] = pair(op, 'dilation', opts.dilation, 1, 1);
  return { e, kh, kw, sh, sw, dh, dw };
}

/** Record a convolution's backward: dX and dW from `grads`, dbias = Σ over N, H, W of its dBiasFrom. */
function recordConv(
  y: Tensor,
  op: string,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  grads: (gy: Tensor, needs: boolean[]) => { dx: Tensor | null; dw: Tensor | null; dBiasFrom: Tensor },
): Tensor {
  return record(y, op, bias ? [x, w, bias] : [x, w], (gy, needs) => {
    const { dx, dw, dBiasFrom } = grads(gy, needs);
    return bias ? [dx, dw, needs[2] ? sum(dBiasFrom, [0, 2, 3]) : null] : [dx, dw];
  });
}

// ---- public ops ---------------------------------------------------------------------------------

export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const { e, kh, kw, sh, sw, dh, dw } = checkConv(op, x, w, bias, 0, opts);
  const [, , H, W] = x.shape;
  const [pt, pb, pl, pr] = padding4(op, opts.padding);
  const act = actCode(op, opts.activation);
  const slope = opts.slope ?? 0.01;
  // backward reads the sign of the saved output, which matches the input's only for slope >= 0
  if (!(slope >= 0) || !Number.isFinite(slope))
    throw new RangeError(`${op}: slope must be a finite number >= 0, got ${slope}`);
  const g: ConvGeometry = { kh, kw, sh, sw, pt, pb, pl, pr, dh, dw };
  const OH = outSize(op, x, w, H, kh, sh, pt, pb, dh);
  const OW = outSize(op, x, w, W, kw, sw, pl, pr, dw);
  const y = launchForward(e, x, w, bias, g, act, slope, OH, OW);
  return recordConv(y, op, x, w, bias, (gy, needs) => {
    const dpre = activationGrad(e, gy, y, act, slope, op);
    const dx = needs[0] ? launchTranspose(e, { x: dpre, w, bias: null, g, OH: H, OW: W, op: 'conv2d.dx' }) : null;
    const dwt = needs[1] ? launchWeightGrad(e, x, dpre, g, 'conv2d.dw') : null;
    return { dx, dw: dwt, dBiasFrom: dpre };
  });
}

export function convTranspose2d(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null = null,
  opts: ConvTranspose2dOptions = {},
): Tensor {
  const op = 'convTranspose2d';
  const { e, kh, kw, sh, sw, dh, dw } = checkConv(op, x, w, bias, 1, opts);
  const [, , IH, IW] = x.shape;
  const [ph, pw] = pair(op, 'padding', opts.padding, 0, 0);
  const [oph, opw] = pair(op, 'outputPadding', opts.outputPadding, 0, 0);
  if (oph >= Math.max(sh, dh) || opw >= Math.max(sw, dw))
    throw new RangeError(`${op}: outputPadding must be smaller than stride or dilation (PyTorch's rule)`);
  const OH = (IH - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const OW = (IW - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  if (OH < 1 || OW < 1)
    throw new ShapeError(
      `${op}: input ${fmtShape(x.shape)} with weight ${fmtShape(w.shape)} gives an empty output (${OH}x${OW})`,
    );
  // The equivalent conv2d (whose input gradient this is) has padding ph on top and ph − oph at the bottom.
  const g: ConvGeometry = { kh, kw, sh, sw, pt: ph, pb: ph - oph, pl: pw, pr: pw - opw, dh, dw };
  const y = launchTranspose(e, { x, w, bias, g, OH, OW, op });
  return recordConv(y, op, x, w, bias, (gy, needs) => {
    const dx = needs[0] ? launchForward(e, gy, w, null, g, 0, 0, IH, IW) : null;
    const dwt = needs[1] ? launchWeightGrad(e, gy, x, g, `${op}.dw`) : null;
    return { dx, dw: dwt, dBiasFrom: gy };
  });
}
