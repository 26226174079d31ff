// The public op table: every public op declared once, as one row. A row is `export const NAME =
// method(row, impl)` (also a Tensor method: x.NAME(...rest) = NAME(x, ...rest)) or `fn(row, impl)`
// (a function only), with a one-line doc and a tiny example in its doc comment. From this file come
//   - the exported functions (src/ops/index.ts re-exports every row),
//   - the Tensor methods and their types, doc comments included (src/ops/methods.ts),
//   - the API test's list of names (test/api.test.ts loops over the rows).
// An elementwise row takes its forward and derivative from the kernel table (optable.ts, the WGSL
// expressions); adding such an op is one row there plus one row here (docs/kernels/elementwise.md).
import type { Tensor } from '../tensor/tensor.ts';
import * as bn from './batchnorm.ts';
import * as cv from './conv.ts';
import * as dc from './dice.ts';
import * as ew from './elementwise.ts';
import * as rs from './interpolate.ts';
import * as ls from './loss.ts';
import * as mm from './matmul.ts';
import * as mv from './movement.ts';
import { OPS, type OpName } from './optable.ts';
import * as rd from './reduce.ts';

/** What a row declares besides its name, doc and implementation. */
export interface OpRow {
  /** Tensor inputs (a number may stand for one where the doc says so). */
  arity: number;
  /** The forward: an expression of the kernel table, or what the kernels compute. */
  forward: string;
  /** The derivative (backward), or null when there is no gradient. */
  derivative: string | null;
  /** The kernel(s) under shaders/ (docs/kernels/ has a page per family). */
  kernel: string;
  /** Also a Tensor method (the first argument is the tensor). */
  method: boolean;
}

const ROWS = new Map<unknown, OpRow>();

/** The row an exported value was declared with, or undefined when it is not an op of the table. */
export function rowOf(f: unknown): OpRow | undefined {
  return ROWS.get(f);
}

declare const METHOD: unique symbol;
/** A row that Tensor also has as a method (the brand exists in types only: methods.ts reads it). */
export type Method<F> = F & { readonly [METHOD]: true };

// No constraint on F: checking one against Tensor here would make Tensor's type (which methods.ts
// extends with these rows) depend on itself.
function method<F>(row: Omit<OpRow, 'method'>, impl: F): Method<F> {
  ROWS.set(impl, { ...row, method: true });
  return impl as Method<F>;
}

function fn<F>(row: Omit<OpRow, 'method'>, impl: F): F {
  ROWS.set(impl, { ...row, method: false });
  return impl;
}

/** A row's declaration: arity, forward, derivative (null: none) and kernel(s), as OpRow documents them. */
function row(arity: number, forward: string, derivative: string | null, kernel: string): Omit<OpRow, 'method'> {
  return { arity, forward, derivative, kernel };
}

/** An elementwise row: forward and derivative from the kernel table, kernel elementwise/map(_vec4).wgsl. */
function elementwise(name: OpName): Omit<OpRow, 'method'> {
  const op = OPS[name];
  const grad = op.grad === null ? null : typeof op.grad === 'string' ? op.grad : `a: ${op.grad.a}; b: ${op.grad.b}`;
  return {
    arity: op.kind === 'unary' ? 1 : 2,
    forward: op.forward,
    derivative: grad,
    kernel: 'elementwise/map.wgsl, elementwise/map_vec4.wgsl',
  };
}

// ---- elementwise: arithmetic (NumPy broadcasting; a number on either side) ----------------------

/** Elementwise a + b with broadcasting; either side may be a number. `add(x, y)`, `x.add(1)` */
export const add = method(elementwise('add'), ew.add);
/** Elementwise a − b with broadcasting; either side may be a number. `sub(1, x)`, `x.sub(y)` */
export const sub = method(elementwise('sub'), ew.sub);
/** Elementwise a · b with broadcasting; either side may be a number. `mul(2, x)`, `x.mul(y)` */
export const mul = method(elementwise('mul'), ew.mul);
/** Elementwise a / b with broadcasting; either side may be a number. `div(x, 4)`, `x.div(y)` */
export const div = method(elementwise('div'), ew.div);
/** Elementwise larger of a and b (broadcasting); the gradient goes to a on ties. `maximum(x, y)`, `x.maximum(y)` */
export const maximum = method(elementwise('maximum'), (a: Tensor, b: Tensor) => ew.binary('maximum', a, b));
/** Elementwise smaller of a and b (broadcasting); the gradient goes to a on ties. `minimum(x, y)`, `x.minimum(y)` */
export const minimum = method(elementwise('minimum'), (a: Tensor, b: Tensor) => ew.binary('minimum', a, b));

// ---- elementwise: functions of one tensor --------------------------------------------------------

/** −x, elementwise. `neg(x)`, `x.neg()` */
export const neg = method(elementwise('neg'), ew.unaryOp('neg'));
/** eˣ, elementwise. `exp(x)`, `x.exp()` */
export const exp = method(elementwise('exp'), ew.unaryOp('exp'));
/** Natural logarithm, elementwise (NaN below 0). `log(x)`, `x.log()` */
export const log = method(elementwise('log'), ew.unaryOp('log'));
/** Square root, elementwise. `sqrt(x)`, `x.sqrt()` */
export const sqrt = method(elementwise('sqrt'), ew.unaryOp('sqrt'));
/** |x|, elementwise (gradient sign(x), 0 at 0). `abs(x)`, `x.abs()` */
export const abs = method(elementwise('abs'), ew.unaryOp('abs'));
/** max(x, 0), elementwise. `relu(x)`, `x.relu()` */
export const relu = method(elementwise('relu'), ew.unaryOp('relu'));
/** 1 / (1 + e⁻ˣ), elementwise, without overflow. `sigmoid(x)`, `x.sigmoid()` */
export const sigmoid = method(elementwise('sigmoid'), ew.unaryOp('sigmoid'));
/** Hyperbolic tangent, elementwise, without overflow. `tanh(x)`, `x.tanh()` */
export const tanh = method(elementwise('tanh'), ew.unaryOp('tanh'));
/** x for x > 0, else slope · x (slope defaults to 0.01, as PyTorch). `leakyRelu(x)`, `x.leakyRelu(0.2)` */
export const leakyRelu = method(elementwise('leakyRelu'), ew.leakyRelu);
/** xᵖ, elementwise (PyTorch's rules: integer p for any sign, NaN for a negative base otherwise). `pow(x, 2)`, `x.pow(0.5)` */
export const pow = method(elementwise('pow'), ew.pow);
/** x limited to [lo, hi] (gradient 0 outside). `clamp(x, 0, 1)`, `x.clamp(-1, 1)` */
export const clamp = method(elementwise('clamp'), ew.clamp);

// ---- elementwise: comparisons (0/1 masks, no gradient; a number on either side) -------------------

/** 1 where a > b, else 0. `gt(x, 0.5)`, `x.gt(y)` */
export const gt = method(elementwise('gt'), ew.compare('gt'));
/** 1 where a ≥ b, else 0. `ge(x, 0)`, `x.ge(y)` */
export const ge = method(elementwise('ge'), ew.compare('ge'));
/** 1 where a < b, else 0. `lt(x, 0)`, `x.lt(y)` */
export const lt = method(elementwise('lt'), ew.compare('lt'));
/** 1 where a ≤ b, else 0. `le(x, 1)`, `x.le(y)` */
export const le = method(elementwise('le'), ew.compare('le'));
/** 1 where a == b, else 0. `eq(x, 0)`, `x.eq(y)` */
export const eq = method(elementwise('eq'), ew.compare('eq'));
/** 1 where a != b, else 0. `ne(x, 0)`, `x.ne(y)` */
export const ne = method(elementwise('ne'), ew.compare('ne'));

// ---- reductions (docs/kernels/reductions.md) -------------------------------------------------------

const REDUCE_KERNELS = 'reduce/serial.wgsl, reduce/tree.wgsl, reduce/split_vec4.wgsl, reduce/split_seq.wgsl';

/** Sum over axes (all when omitted; negative count from the end), optionally keeping them as size 1. `sum(x)`, `x.sum([0, 2], true)` */
export const sum = method(row(1, 'Σ over axes', 'g expanded back to x.shape', REDUCE_KERNELS), rd.sum);
/** Mean over axes (all when omitted), optionally keeping them as size 1. `mean(x, -1)`, `x.mean()` */
export const mean = method(row(1, 'Σ over axes / n', 'g / n expanded back to x.shape', REDUCE_KERNELS), rd.mean);
/** Maximum over axes (all when omitted); tied maxima share the gradient (torch.amax). `max(x)`, `x.max(1, true)` */
export const max = method(row(1, 'max over axes', 'g · [x == max] / count of ties', REDUCE_KERNELS), rd.max);
/** Broadcast x to a shape (materialised), optionally times a scale. `expand(b, [2, 3])`, `b.expand([4, 3])` */
export const expand = method(row(1, 'a (broadcast view)', 'sumTo(g, x.shape)', 'elementwise/map.wgsl'), rd.expand);
/** Sum g over the axes broadcasting added or stretched, down to a shape (expand's adjoint). `sumTo(g, [1, 3])` */
export const sumTo = fn(row(1, 'Σ over broadcast axes', 'expand(g)', REDUCE_KERNELS), rd.sumTo);

// ---- movement (docs/kernels/elementwise.md: strided views) -----------------------------------------

/** Same values in a new shape (one axis may be −1); shares the buffer, no GPU work. `reshape(x, [2, -1])`, `x.reshape([6])` */
export const reshape = method(row(1, 'a view of the same storage', 'reshape(g, x.shape)', 'none'), mv.reshape);
/** Reorder axes: y.shape[i] = x.shape[dims[i]] (materialised). `permute(x, [0, 2, 1])`, `x.permute([1, 0])` */
export const permute = method(
  row(1, 'a (permuted strides)', 'permute(g, inverse)', 'elementwise/map.wgsl'),
  mv.permute,
);
/** Swap two axes (default: the last two). `transpose(x)`, `x.transpose(0, 1)` */
export const transpose = method(
  row(1, 'permute with two axes swapped', 'transpose(g)', 'elementwise/map.wgsl'),
  mv.transpose,
);
/** Elements start..end−1 along an axis (negative indices count from the end). `slice(x, 1, 0, 2)`, `x.slice(0, 1)` */
export const slice = method(
  row(1, 'a (offset window)', 'g written into a zero tensor', 'elementwise/map.wgsl'),
  mv.slice,
);
/** Join tensors along an axis; every other axis must match. `cat([a, b], 1)` */
export const cat = fn(
  row(-1, 'each input written into its window', 'slice(g) per input', 'elementwise/map.wgsl'),
  mv.cat,
);

// ---- linear algebra, convolution, normalisation, resize ----------------------------------------------

/** Batched matrix product with broadcast batch axes (torch.matmul; 1-D operands too). `matmul(a, b)`, `a.matmul(b)` */
export const matmul = method(
  row(2, 'C = A · B', 'dA = g · Bᵀ; dB = Aᵀ · g', 'matmul/*.wgsl (docs/kernels/matmul.md)'),
  mm.matmul,
);
/** 2-D convolution of NCHW x with w [Cout, Cin, kh, kw], optional bias and fused ReLU/LeakyReLU. `conv2d(x, w, b, { stride: 2, padding: 1 })` */
export const conv2d = fn(
  row(
    3,
    'implicit GEMM + bias + activation',
    'dX = convTranspose(g); dW = weight_grad(x, g); db = Σ g',
    'conv/*.wgsl (docs/kernels/conv.md)',
  ),
  cv.conv2d,
);
/** Transposed 2-D convolution, w [Cin, Cout, kh, kw] (torch's conv_transpose2d). `convTranspose2d(x, w, b, { stride: 2 })` */
export const convTranspose2d = fn(
  row(
    3,
    'phase-decomposed gather',
    'dX = conv2d(g); dW = weight_grad(g, x); db = Σ g',
    'conv/*.wgsl (docs/kernels/conv.md)',
  ),
  cv.convTranspose2d,
);
/** Batch normalisation of NCHW (torch's batch_norm), optional fused ReLU/LeakyReLU. `batchNorm2d(x, mean, var, w, b, { training: true })` */
export const batchNorm2d = fn(
  row(
    5,
    'Welford statistics, normalise, affine, activation',
    'dx, dγ, dβ from two per-channel reductions',
    'norm/bn_*.wgsl (docs/kernels/batchnorm.md)',
  ),
  bn.batchNorm2d,
);
/** Resize NCHW (torch's interpolate: nearest or bilinear). `interpolate(x, { scaleFactor: 2, mode: 'bilinear' })` */
export const interpolate = fn(
  row(
    1,
    'nearest or bilinear sampling',
    'a gather of each input pixel’s window',
    'resize/*.wgsl (docs/kernels/interpolate.md)',
  ),
  rs.interpolate,
);

// ---- losses ------------------------------------------------------------------------------------

/** Mean (default), sum or elementwise |input − target| (torch's l1_loss). `l1Loss(p, y)`, `p.l1Loss(y, 'sum')` */
export const l1Loss = method(
  row(
    2,
    "mean/sum: absDiffSum; 'none': abs(sub(a, b))",
    '±sign(a − b) · g · scale',
    'elementwise/map.wgsl + reduce/*.wgsl',
  ),
  ls.l1Loss,
);
/** scale · Σ|a − b| as a scalar, fused (one map, one sum); a weighted L1 term without a multiply. `absDiffSum(p, y, 0.5)` */
export const absDiffSum = fn(
  row(2, 'scale · Σ abs(a − b)', '±sign(a − b) · g · scale', 'elementwise/map.wgsl + reduce/*.wgsl'),
  ls.absDiffSum,
);
/** Soft Dice loss 1 − mean(2Σp·y / (Σp² + Σy² + 1e−7)) over [N, C, ...], composed from primitives. `diceLoss(p, y)` */
export const diceLoss = fn(
  row(2, 'mul, sum, add, div, mean, sub', "the primitives' rules", 'elementwise/map.wgsl + reduce/*.wgsl'),
  dc.diceLoss,
);
