// The elementwise op table: every elementwise op declared once, forward and derivative side by side.
//
// Expressions are written in the common subset of WGSL and JavaScript (numbers with a decimal point,
// + - * /, comparisons, and the helper functions below, which exist under the same names in
// shaders/elementwise/map.wgsl and in JS_HELPERS). From this one table come:
//   - the WGSL kernels (the expression is spliced into map.wgsl; one pipeline per expression),
//   - the float64 CPU reference the tests use (the same expression compiled as JavaScript),
//   - the autograd rules (the derivative expressions run as map kernels in backward),
//   - the tests themselves (test/elementwise.test.ts loops over this table).
// Names in expressions: a, b = inputs; y = the forward output; g = the output's gradient;
// p0, p1 = the op's scalar parameters.

export interface UnaryOp {
  kind: 'unary';
  forward: string;
  /** d(out)/d(a) times g; null = not differentiable (masks). */
  grad: string | null;
  /** Test domain for random inputs [lo, hi] (avoid poles and kinks). */
  domain?: [number, number];
  params?: number;
}

export interface BinaryOp {
  kind: 'binary';
  forward: string;
  grad: { a: string; b: string } | null;
  domain?: [number, number];
  /** Keep b away from zero in tests (division). */
  bDomain?: [number, number];
}

export type ElementwiseOp = UnaryOp | BinaryOp;

export const OPS = {
  // ---- unary --------------------------------------------------------------------------------
  neg: { kind: 'unary', forward: '-a', grad: '-g' },
  exp: { kind: 'unary', forward: 'exp(a)', grad: 'g * y', domain: [-4, 4] },
  log: { kind: 'unary', forward: 'log(a)', grad: 'g / a', domain: [0.1, 5] },
  sqrt: { kind: 'unary', forward: 'sqrt(a)', grad: 'g * 0.5 / y', domain: [0.1, 5] },
  abs: { kind: 'unary', forward: 'abs(a)', grad: 'g * sign(a)' },
  relu: { kind: 'unary', forward: 'max(a, 0.0)', grad: 'select(0.0, g, a > 0.0)' },
  leakyRelu: { kind: 'unary', forward: 'select(a * p0, a, a > 0.0)', grad: 'select(g * p0, g, a > 0.0)', params: 1 },
  sigmoid: { kind: 'unary', forward: 'ssigmoid(a)', grad: 'g * y * (1.0 - y)', domain: [-6, 6] },
  tanh: { kind: 'unary', forward: 'stanh(a)', grad: 'g * (1.0 - y * y)', domain: [-3, 3] },
  pow: { kind: 'unary', forward: 'spow(a, p0)', grad: 'g * p0 * spow(a, p0 - 1.0)', params: 1 },
  clamp: { kind: 'unary', forward: 'min(max(a, p0), p1)', grad: 'select(0.0, g, a >= p0 && a <= p1)', params: 2 },
  // a op scalar, used when one side of add/sub/mul/div is a number (no constant tensor needed)
  addScalar: { kind: 'unary', forward: 'a + p0', grad: 'g', params: 1 },
  mulScalar: { kind: 'unary', forward: 'a * p0', grad: 'g * p0', params: 1 },
  divScalar: { kind: 'unary', forward: 'a / p0', grad: 'g / p0', params: 1 },
  rsubScalar: { kind: 'unary', forward: 'p0 - a', grad: '-g', params: 1 },
  rdivScalar: { kind: 'unary', forward: 'p0 / a', grad: '-g * p0 / (a * a)', params: 1, domain: [0.5, 3] },
  // ---- binary (NumPy broadcasting) ----------------------------------------------------------
  add: { kind: 'binary', forward: 'a + b', grad: { a: 'g', b: 'g' } },
  sub: { kind: 'binary', forward: 'a - b', grad: { a: 'g', b: '-g' } },
  mul: { kind: 'binary', forward: 'a * b', grad: { a: 'g * b', b: 'g * a' } },
  div: { kind: 'binary', forward: 'a / b', grad: { a: 'g / b', b: '-g * a / (b * b)' }, bDomain: [0.5, 3] },
  maximum: { kind: 'binary', forward: 'max(a, b)', grad: { a: 'select(0.0, g, a >= b)', b: 'select(0.0, g, b > a)' } },
  minimum: { kind: 'binary', forward: 'min(a, b)', grad: { a: 'select(0.0, g, a <= b)', b: 'select(0.0, g, b < a)' } },
  // comparisons give 0/1 masks and no gradient
  gt: { kind: 'binary', forward: 'select(0.0, 1.0, a > b)', grad: null },
  ge: { kind: 'binary', forward: 'select(0.0, 1.0, a >= b)', grad: null },
  lt: { kind: 'binary', forward: 'select(0.0, 1.0, a < b)', grad: null },
  le: { kind: 'binary', forward: 'select(0.0, 1.0, a <= b)', grad: null },
  eq: { kind: 'binary', forward: 'select(0.0, 1.0, a == b)', grad: null },
  ne: { kind: 'binary', forward: 'select(0.0, 1.0, a != b)', grad: null },
} as const satisfies Record<string, ElementwiseOp>;

export type OpName = keyof typeof OPS;
export type UnaryName = { [K in OpName]: (typeof OPS)[K] extends { kind: 'unary' } ? K : never }[OpName];
export type BinaryName = { [K in OpName]: (typeof OPS)[K] extends { kind: 'binary' } ? K : never }[OpName];

/** The helper functions the expressions may call, in JavaScript (float64). */
export const JS_HELPERS = {
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  max: Math.max,
  min: Math.min,
  select: (f: number, t: number, c: boolean) => (c ? t : f),
  spow: (x: number, p: number) => Math.pow(x, p),
  stanh: Math.tanh,
  ssigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
};

const compiled = new Map<string, (v: Record<string, number>) => number>();

/** Compile an expression of the table to a float64 JavaScript function of {a, b, y, g, p0, p1}. */
export function jsExpression(expr: string): (v: Record<string, number>) => number {
  let f = compiled.get(expr);
  if (!f) {
    const names = Object.keys(JS_HELPERS);
    const body = new Function(...names, 'v', `const {a, b, y, g, p0, p1} = v; return (${expr});`) as (
      ...args: unknown[]
    ) => number;
    const helpers = Object.values(JS_HELPERS);
    f = (v) => Number(body(...helpers, v));
    compiled.set(expr, f);
  }
  return f;
}

/** Which of a, b, y, g an expression reads (so kernels bind only what they use). */
export function usedNames(expr: string): string[] {
  return ['g', 'a', 'b', 'y'].filter((n) => new RegExp(`\\b${n}\\b`).test(expr));
}
