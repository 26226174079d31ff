// The optimizer base: parameters, per-parameter state tensors, the step counters on the GPU, and the
// state()/load() checkpoint format. Adam, RMSprop and SGD (one file each) add their hyperparameters
// and record one fused update dispatch per parameter.
//
// step() only records GPU work. The step counts live in a small GPU buffer (one u32 per parameter,
// PyTorch's per-parameter state['step']) that shaders/optim/step_counter.wgsl increments at the start
// of every step(); the update kernels read it. Nothing that changes every step goes into a uniform,
// so after the first step() no uniform buffer is created (uniforms are content-addressed).
//
// A guarded step (step({ skipNonFinite: true })) first checks the loss and every gradient on the GPU
// (shaders/optim/nonfinite_check.wgsl) into a two-word flag tensor; the counter and update kernels
// read the flag and do nothing when it is raised. The step is skipped without a readback: the caller
// reads the flag later, with its periodic metrics (readNonFiniteFlag), to learn what happened.
import { grid1d, Uniforms } from '../runtime/grid.ts';
import type { PooledBuffer } from '../runtime/pool.ts';
import type { Engine } from '../tensor/engine.ts';
import { fmtShape, sameShape } from '../tensor/shape.ts';
import { Tensor } from '../tensor/tensor.ts';

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

/** Options of one step(). */
export interface StepOptions {
  /**
   * Check the gradients (and `check`) for NaN / ±Inf on the GPU first and, if any is found, leave
   * the parameters, the optimizer state and the step counts untouched. step() then returns the flag
   * tensor; decode it with readNonFiniteFlag().
   */
  skipNonFinite?: boolean;
  /** More tensors to check before the gradients, typically the loss (slots 0, 1, ... in order). */
  check?: readonly Tensor[];
}

/**
 * What a guarded step found: `null` when every checked value was finite (the step was taken),
 * otherwise the first offending slot: `check[slot]` for slot < check.length, else the gradient of
 * parameter slot - check.length.
 */
export type NonFiniteSlot = number | null;

/**
 * Decode the flag tensor a guarded step() returned (a sync point: call it with the periodic metrics).
 * Word 0 is 0 or 1.0 (raised), word 1 is 0xffffffff minus the smallest offending slot.
 */
export async function readNonFiniteFlag(flag: Tensor): Promise<NonFiniteSlot> {
  if (flag.size !== 2) throw new TypeError(`readNonFiniteFlag: expected the 2-element flag tensor returned by step({ skipNonFinite: true }), got ${fmtShape(flag.shape)}`);
  const values = await flag.toArray();
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return bits[0] === 0 ? null : 0xffffffff - bits[1];
}

/** The hyperparameters every optimizer has. */
export interface BaseHyper {
  lr: number;
  weightDecay: number;
}

export function checkHyper(op: string, name: string, v: unknown, lo: number, hi = Infinity, hiOpen = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${op}: ${name} must be a finite number, got ${String(v)}`);
  if (v < lo || v > hi || (hiOpen && v === hi)) {
    const range = hi === Infinity ? `>= ${lo}` : `in [${lo}, ${hi}${hiOpen ? ')' : ']'}`;
    throw new RangeError(`${op}: ${name} must be ${range}, got ${v}`);
  }
  return v;
}

export abstract class Optimizer<H extends BaseHyper> {
  readonly params: readonly Tensor[];
  readonly engine: Engine;
  /** step() calls so far (the per-parameter counts, which the kernels use, live on the GPU). */
  protected stepCount = 0;
  protected hyper: H;
  /** Per parameter: its state tensors, in slotNames() order. */
  protected slots: Tensor[][] = [];
  /** One u32 per parameter: how many steps it has taken (incremented on the GPU). */
  private steps: Tensor;
  /** A one-word zero: the skip flag that unguarded steps bind. */
  private neverSkip: Tensor;
  private disposed = false;

  /**
   * @param name the class name, used in error messages
   * @param kind the checkpoint kind
   */
  protected constructor(
    protected readonly name: string,
    readonly kind: OptimizerKind,
    params: readonly Tensor[],
    hyper: H,
  ) {
    if (!Array.isArray(params)) throw new TypeError(`${name}: params must be an array of Tensors`);
    if (params.length === 0) throw new Error(`${name}: got an empty parameter list`);
    const seen = new Set<Tensor>();
    params.forEach((p, k) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${name}: parameter ${k} is not a Tensor`);
      if (seen.has(p)) throw new Error(`${name}: parameter ${k} (${p}) appears more than once`);
      if (p.engine !== params[0].engine) throw new Error(`${name}: parameters belong to different engines`);
      seen.add(p);
    });
    this.params = [...params];
    this.engine = params[0].engine;
    this.validate(hyper);
    this.hyper = { ...hyper };
    this.steps = this.keep(this.engine.zeros([params.length], { category: 'optimizer' }));
    this.neverSkip = this.keep(this.engine.zeros([1], { category: 'optimizer' }));
    this.slots = this.params.map((p) => this.slotNames(this.hyper).map(() => this.keep(this.engine.zeros(p.shape, { category: 'optimizer' }))));
  }

  /** Throw a clear error for invalid hyperparameters. */
  protected abstract validate(h: H): void;
  /** The names of the per-parameter state tensors under these hyperparameters. */
  protected abstract slotNames(h: H): string[];
  /**
   * Record the update of parameter `k` (one dispatch). `steps` holds the per-parameter step counts,
   * already incremented for this step; the kernel must do nothing when `skip`'s first word is not 0.
   */
  protected abstract update(k: number, p: PooledBuffer, g: PooledBuffer, skip: PooledBuffer, slots: PooledBuffer[], steps: PooledBuffer, size: number): void;

  /** The learning rate (set it for schedules: changes the update kernels' uniform, rarely). */
  get lr(): number {
    return this.hyper.lr;
  }

  set lr(v: number) {
    checkHyper(this.name, 'lr', v, 0);
    this.hyper.lr = v;
  }

  /** A copy of the current hyperparameters. */
  get hyperparameters(): H {
    return structuredClone(this.hyper);
  }

  /** How many times step() has been called (restored by load()). */
  get stepsTaken(): number {
    return this.stepCount;
  }

  private keep(t: Tensor): Tensor {
    t.kept = true;
    this.engine.untrack(t);
    return t;
  }

  private assertLive(op: string): void {
    if (this.disposed) throw new Error(`${this.name}.${op}: the optimizer was disposed`);
  }

  /**
   * Update every parameter that has a gradient, in place. Records GPU work only (no readback, no
   * submit): one step-counter dispatch, then one fused update dispatch per parameter with a gradient.
   * With `skipNonFinite`, first one check dispatch per tensor in `check` and per gradient; returns
   * the flag tensor (see readNonFiniteFlag), which the caller owns. Otherwise returns null.
   */
  step(opts: StepOptions = {}): Tensor | null {
    this.assertLive('step');
    const op = `${this.name}.step`;
    const checks = opts.check ?? [];
    if (!Array.isArray(checks)) throw new TypeError(`${op}: check must be an array of Tensors`);
    checks.forEach((t, k) => {
      if (!(t instanceof Tensor)) throw new TypeError(`${op}: check[${k}] is not a Tensor`);
      if (t.engine !== this.engine) throw new Error(`${op}: check[${k}] belongs to another engine`);
    });
    const work: { k: number; p: PooledBuffer; g: PooledBuffer; size: number }[] = [];
    // Check everything before recording anything, so that an error leaves the state untouched.
    this.params.forEach((p, k) => {
      const g = p.grad;
      if (g === null) return;
      if (!sameShape(g.shape, p.shape)) throw new Error(`${op}: parameter ${k} has shape ${fmtShape(p.shape)} but its gradient has shape ${fmtShape(g.shape)}`);
      if (g.engine !== this.engine) throw new Error(`${op}: the gradient of parameter ${k} belongs to another engine`);
      work.push({ k, p: p.buffer(op), g: g.buffer(op), size: p.size });
    });
    this.stepCount++;
    const rt = this.engine.runtime;
    let flag: Tensor | null = null;
    let skip = this.neverSkip.buffer(op);
    if (opts.skipNonFinite) {
      flag = this.engine.zeros([2], { category: 'scratch' });
      skip = flag.buffer(op);
      const kernel = rt.kernels.get('optim/nonfinite_check', {}, `${this.name}.check_finite`);
      const inspect = (buf: PooledBuffer, size: number, slot: number) => {
        const grid = grid1d(size);
        rt.dispatch(kernel, [buf, skip], new Uniforms(4).u32(size, grid.gridX, slot, 0).done(), grid.workgroups, `${this.name}.check_finite`);
      };
      checks.forEach((t, k) => inspect(t.buffer(op), t.size, k));
      for (const { k, g, size } of work) inspect(g, size, checks.length + k);
    }
    if (work.length === 0) return flag;
    const n = this.params.length;
    const vec4s = Math.ceil(n / 128);
    const mask = new Array<number>(vec4s * 4).fill(0);
    for (const { k } of work) mask[k >> 5] |= 1 << (k & 31);
    const counter = rt.kernels.get('optim/step_counter', { MASK_VEC4S: vec4s }, `${this.name}.step_counter`);
    const steps = this.steps.buffer(op);
    rt.dispatch(counter, [steps, skip], new Uniforms(4 + vec4s * 4).u32(n, 0, 0, 0).vec4s(mask, vec4s).done(), [Math.ceil(n / 64)], op);
    for (const { k, p, g, size } of work) {
      this.update(k, p, g, skip, this.slots[k].map((s) => s.buffer(op)), steps, size);
    }
    return flag;
  }

  /** Dispose every parameter's gradient and set it to null (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Read the whole state back (a sync point). */
  async state(): Promise<OptimizerState<H>> {
    this.assertLive('state');
    const names = this.slotNames(this.hyper);
    const buffers: Record<string, Float32Array> = {};
    const bits = await this.steps.toArray();
    const counts = new Uint32Array(bits.buffer, bits.byteOffset, bits.length);
    for (let k = 0; k < this.params.length; k++) {
      for (let j = 0; j < names.length; j++) buffers[`${names[j]}.${k}`] = await this.slots[k][j].toArray();
      buffers[`step.${k}`] = Float32Array.of(counts[k]);
    }
    return {
      kind: this.kind,
      hyper: structuredClone(this.hyper),
      step: this.stepCount,
      shapes: this.params.map((p) => [...p.shape]),
      buffers,
    };
  }

  /**
   * Restore a state() (hyperparameters, step counts and buffers) exactly. Validates the kind, the
   * parameter count, the shapes and every buffer before changing anything. Records uploads only.
   */
  load(state: OptimizerState<object>): void {
    this.assertLive('load');
    const op = `${this.name}.load`;
    if (state === null || typeof state !== 'object') throw new TypeError(`${op}: state must be an object returned by state()`);
    if (state.kind !== this.kind) throw new Error(`${op}: the state is for the '${String(state.kind)}' optimizer, not '${this.kind}'`);
    const n = this.params.length;
    if (!Array.isArray(state.shapes)) throw new Error(`${op}: the state has no parameter shapes (not made by state()?)`);
    if (state.shapes.length !== n) throw new Error(`${op}: the state has ${state.shapes.length} parameters, this optimizer has ${n}`);
    this.params.forEach((p, k) => {
      if (!sameShape(p.shape, state.shapes[k])) {
        throw new Error(`${op}: parameter ${k} has shape ${fmtShape(p.shape)} but the state's parameter ${k} has shape ${fmtShape(state.shapes[k])}`);
      }
    });
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`${op}: step must be a non-negative integer, got ${String(state.step)}`);
    if (state.hyper === null || typeof state.hyper !== 'object') throw new Error(`${op}: the state has no hyperparameters`);
    const hyper = structuredClone(state.hyper) as H;
    try {
      this.validate(hyper);
    } catch (err) {
      throw new Error(`${op}: the state's hyperparameters are invalid: ${(err as Error).message}`);
    }
    const names = this.slotNames(hyper);
    const buffers = state.buffers ?? {};
    const expected = new Set<string>();
    const counts = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const want = (name: string, length: number): Float32Array => {
        const key = `${name}.${k}`;
        expected.add(key);
        const b = buffers[key];
        if (!(b instanceof Float32Array)) throw new Error(`${op}: the state lacks the Float32Array buffer '${key}'`);
        if (b.length !== length) throw new Error(`${op}: buffer '${key}' has ${b.length} values, parameter ${k} ${fmtShape(this.params[k].shape)} needs ${length}`);
        return b;
      };
      const t = want('step', 1)[0];
      if (!Number.isInteger(t) || t < 0) throw new Error(`${op}: buffer 'step.${k}' must hold a non-negative integer, got ${t}`);
      counts[k] = t;
      for (const name of names) want(name, this.params[k].size);
    }
    for (const key of Object.keys(buffers)) {
      if (!expected.has(key)) throw new Error(`${op}: unexpected buffer '${key}' in the state (this optimizer has ${n} parameters and buffers ${['step', ...names].join(', ')})`);
    }
    // Valid: replace the state tensors with uploaded copies (fresh upload buffers, so the uploads
    // cannot overtake recorded work that still uses the old ones).
    const e = this.engine;
    this.releaseState();
    this.hyper = hyper;
    this.stepCount = state.step;
    this.steps = this.keep(e.tensor(new Float32Array(counts.buffer), [n], { category: 'optimizer' }));
    this.slots = this.params.map((p, k) => names.map((name) => this.keep(e.tensor(buffers[`${name}.${k}`], p.shape, { category: 'optimizer' }))));
  }

  private releaseState(): void {
    this.steps.dispose();
    for (const list of this.slots) for (const t of list) t.dispose();
    this.slots = [];
  }

  /** Free the optimizer's state tensors (the parameters and their gradients are left alone). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.releaseState();
    this.neverSkip.dispose();
  }
}
