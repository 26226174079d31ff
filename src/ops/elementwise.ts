// Elementwise ops, generated from the op table (optable.ts): forward = one map dispatch of the
// forward expression; backward = one map dispatch of each derivative expression, then a sum over
// broadcast axes to bring the gradient back to the input's shape.
import { record } from '../autograd/graph.ts';
import { launchMap } from '../runtime/map.ts';
import { broadcastShapes, sameShape } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { OPS, usedNames, type BinaryName, type UnaryName } from './optable.ts';
import { sumTo } from './reduce.ts';
import { assertFinite, assertTensor, broadcastView, dense, output, sameEngine } from './util.ts';

/** Apply a unary op of the table with its scalar parameters. */
export function unary(name: UnaryName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  assertTensor(x, name);
  const e = sameEngine(name, x);
  const def = OPS[name];
  const y = output(e, x.shape, name);
  launchMap(e.runtime, name, def.forward, ['a'], [dense(x, name)], dense(y, name), x.shape, p0, p1);
  if (!def.grad) return y;
  const gradExpr = def.grad;
  return record(y, name, [x], (g) => {
    if (gradExpr === 'g') return [g];
    const names = usedNames(gradExpr);
    const views = names.map((n) => dense(n === 'g' ? g : n === 'a' ? x : y, name));
    const dx = output(e, x.shape, `${name}.backward`);
    launchMap(e.runtime, `${name}.backward`, gradExpr, names, views, dense(dx, name), x.shape, p0, p1);
    return [dx];
  });
}

/** Apply a binary op of the table with NumPy broadcasting. */
export function binary(name: BinaryName, a: Tensor, b: Tensor): Tensor {
  assertTensor(a, name, 'first input');
  assertTensor(b, name, 'second input');
  const e = sameEngine(name, a, b);
  const def = OPS[name];
  const shape = broadcastShapes(name, a.shape, b.shape);
  const y = output(e, shape, name);
  launchMap(
    e.runtime,
    name,
    def.forward,
    ['a', 'b'],
    [broadcastView(a, shape, name), broadcastView(b, shape, name)],
    dense(y, name),
    shape,
  );
  if (!def.grad) return y;
  const grads = def.grad;
  return record(y, name, [a, b], (g, needs) => {
    const one = (expr: string, target: Tensor): Tensor => {
      let full: Tensor;
      if (expr === 'g') full = g;
      else {
        const names = usedNames(expr);
        const views = names.map((n) => (n === 'g' ? dense(g, name) : broadcastView(n === 'a' ? a : b, shape, name)));
        full = output(e, shape, `${name}.backward`);
        launchMap(e.runtime, `${name}.backward`, expr, names, views, dense(full, name), shape);
      }
      return sameShape(full.shape, target.shape) ? full : sumTo(full, target.shape);
    };
    return [needs[0] ? one(grads.a, a) : null, needs[1] ? one(grads.b, b) : null];
  });
}

export type Operand = Tensor | number;

function scalarOrTensor(op: string, a: Operand, b: Operand): void {
  if (typeof a === 'number') assertFinite(op, 'first input', a);
  if (typeof b === 'number') assertFinite(op, 'second input', b);
  if (typeof a === 'number' && typeof b === 'number') throw new TypeError(`${op}: at least one input must be a Tensor`);
}

/**
 * add, sub, mul, div with a number on one side: the unary op of the table that takes it as p0 (the
 * number on the right, after `right`'s change; on the left), so no constant tensor is made.
 */
const SCALAR_FORMS = {
  add: { right: 'addScalar', negate: false, left: 'addScalar' },
  sub: { right: 'addScalar', negate: true, left: 'rsubScalar' },
  mul: { right: 'mulScalar', negate: false, left: 'mulScalar' },
  div: { right: 'divScalar', negate: false, left: 'rdivScalar' },
} as const satisfies Record<string, { right: UnaryName; negate: boolean; left: UnaryName }>;

/** A binary op of the table that also takes a number on either side (a + 1, 2 / x). */
export function arithmetic(name: keyof typeof SCALAR_FORMS): (a: Operand, b: Operand) => Tensor {
  const forms = SCALAR_FORMS[name];
  return (a: Operand, b: Operand): Tensor => {
    scalarOrTensor(name, a, b);
    if (typeof b === 'number') return unary(forms.right, a as Tensor, forms.negate ? -b : b);
    if (typeof a === 'number') return unary(forms.left, b, a);
    return binary(name, a, b);
  };
}

export const add = arithmetic('add');
export const sub = arithmetic('sub');
export const mul = arithmetic('mul');
export const div = arithmetic('div');

/** A comparison of the table (a 0/1 mask); a number on either side becomes a 0-d tensor. */
export function compare(name: BinaryName): (a: Operand, b: Operand) => Tensor {
  return (a: Operand, b: Operand): Tensor => {
    scalarOrTensor(name, a, b);
    const t = (typeof a === 'number' ? b : a) as Tensor;
    const e = t.engine;
    const wrap = (v: Operand) => (typeof v === 'number' ? e.full([], v) : v);
    return e.tidy(() => binary(name, wrap(a), wrap(b)));
  };
}

/** A unary op of the table without parameters, as a function of one tensor. */
export function unaryOp(name: UnaryName): (x: Tensor) => Tensor {
  return (x: Tensor) => unary(name, x);
}

export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  assertFinite('leakyRelu', 'slope', slope);
  return unary('leakyRelu', x, slope);
}
export function pow(x: Tensor, p: number): Tensor {
  assertFinite('pow', 'exponent', p);
  return unary('pow', x, p);
}
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  assertFinite('clamp', 'lo', lo);
  assertFinite('clamp', 'hi', hi);
  if (lo > hi) throw new RangeError(`clamp: lo (${lo}) is greater than hi (${hi})`);
  return unary('clamp', x, lo, hi);
}
