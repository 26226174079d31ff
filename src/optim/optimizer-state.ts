// The optimizer checkpoint format: what state() returns and load() takes, and the checks that a
// state fits an optimizer before anything changes.
import { fmtShape, sameShape } from '../tensor/shape.ts';

export type OptimizerKind = 'adam' | 'rmsprop' | 'sgd';

/**
 * A plain, serialisable checkpoint of an optimizer. `buffers` holds the per-parameter state as
 * `<name>.<parameter index>` (`exp_avg.0`, `exp_avg_sq.0`, `square_avg.0`, `momentum_buffer.0`) and
 * each parameter's own step count as a one-element `step.<index>` (PyTorch's state['step']; exact
 * up to 2^24 steps). `step` counts the step() calls; `shapes` are the parameters' shapes.
 */
export interface OptimizerState<H extends object = Record<string, number | number[]>> {
  kind: OptimizerKind;
  hyper: H;
  step: number;
  shapes: number[][];
  buffers: Record<string, Float32Array>;
}

/** What an optimizer knows about itself to check a state against. */
export interface StateTarget<H> {
  kind: OptimizerKind;
  /** The parameters' shapes and sizes, and each one's first element in the flat arrays of `total`. */
  shapes: readonly (readonly number[])[];
  sizes: readonly number[];
  offsets: readonly number[];
  total: number;
  validate(h: H): void;
  slotNames(h: H): string[];
}

/**
 * Checks a state() against an optimizer (`op` names it in errors) and unpacks it: the hyperparameters,
 * the step() count, each parameter's step count and the flat state arrays in slotNames() order.
 */
export function unpackState<H>(
  op: string,
  state: OptimizerState<object>,
  o: StateTarget<H>,
): { hyper: H; step: number; counts: Uint32Array; flat: Float32Array[] } {
  if (state === null || typeof state !== 'object')
    throw new TypeError(`${op}: state must be an object returned by state()`);
  if (state.kind !== o.kind)
    throw new Error(`${op}: the state is for the '${String(state.kind)}' optimizer, not '${o.kind}'`);
  const n = o.shapes.length;
  if (!Array.isArray(state.shapes)) throw new Error(`${op}: the state has no parameter shapes (not made by state()?)`);
  if (state.shapes.length !== n)
    throw new Error(`${op}: the state has ${state.shapes.length} parameters, this optimizer has ${n}`);
  o.shapes.forEach((shape, k) => {
    if (!sameShape(shape, state.shapes[k])) {
      throw new Error(
        `${op}: parameter ${k} has shape ${fmtShape(shape)} but the ` +
          `state's parameter ${k} has shape ${fmtShape(state.shapes[k])}`,
      );
    }
  });
  if (!Number.isInteger(state.step) || state.step < 0)
    throw new Error(`${op}: step must be a non-negative integer, got ${String(state.step)}`);
  if (state.hyper === null || typeof state.hyper !== 'object')
    throw new Error(`${op}: the state has no hyperparameters`);
  const hyper = structuredClone(state.hyper) as H;
  try {
    o.validate(hyper);
  } catch (err) {
    throw new Error(`${op}: the state's hyperparameters are invalid: ${(err as Error).message}`);
  }
  const names = o.slotNames(hyper);
  const buffers = state.buffers ?? {};
  const expected = new Set<string>();
  const counts = new Uint32Array(n);
  const flat = names.map(() => new Float32Array(Math.max(o.total, 1)));
  for (let k = 0; k < n; k++) {
    const want = (name: string, length: number): Float32Array => {
      const key = `${name}.${k}`;
      expected.add(key);
      const b = buffers[key];
      if (!(b instanceof Float32Array)) throw new Error(`${op}: the state lacks the Float32Array buffer '${key}'`);
      if (b.length !== length)
        throw new Error(
          `${op}: buffer '${key}' has ${b.length} values, parameter ${k} ${fmtShape(o.shapes[k])} needs ${length}`,
        );
      return b;
    };
    const t = want('step', 1)[0];
    if (!Number.isInteger(t) || t < 0)
      throw new Error(`${op}: buffer 'step.${k}' must hold a non-negative integer, got ${t}`);
    counts[k] = t;
    names.forEach((name, j) => flat[j].set(want(name, o.sizes[k]), o.offsets[k]));
  }
  for (const key of Object.keys(buffers)) {
    if (!expected.has(key))
      throw new Error(
        `${op}: unexpected buffer '${key}' in the state (this optimizer ` +
          `has ${n} parameters and buffers ${['step', ...names].join(', ')})`,
      );
  }
  return { hyper, step: state.step, counts, flat };
}
