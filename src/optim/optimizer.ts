// The optimizer base: parameters, flat state arrays, the step counters on the GPU, guarded steps and
// state()/load(). Adam, RMSprop and SGD (one file each) add their hyperparameters and record one fused
// update dispatch for all parameters. Beside it: the flat layout and chunk table (flat-update.ts), the
// checkpoint format (optimizer-state.ts), the non-finite flag (nonfinite-flag.ts), hyper.ts.
//
// Multi-tensor steps: every parameter k has an offset in flat arrays (its parameter values, its
// gradient, each state buffer). A step copies the gradients in, runs one dispatch per kernel over
// chunks of the flat arrays (shaders/optim/flat.wgsl), and copies the updated parameters back out.
// Why: a SegAN step has ~50 parameter tensors per network, mostly small, and a dispatch costs ~130 µs
// on lavapipe where a copy costs ~10 µs. A parameter is copied in only when something other than this
// optimizer wrote it since (PooledBuffer.writes): normally never after the first step.
//
// step() only records GPU work. The step counts live in a small GPU buffer (one u32 per parameter,
// PyTorch's per-parameter state['step']) that shaders/optim/step_counter.wgsl increments at the start
// of every step(); the update kernels read it. Nothing that changes every step goes into a uniform,
// so after the first step() no uniform buffer is created (uniforms are content-addressed).
//
// A guarded step (step({ skipNonFinite: true })) first checks the loss and every gradient on the GPU
// (shaders/optim/nonfinite_check.wgsl, one dispatch) into a two-word flag tensor; the counter and update kernels
// read the flag and do nothing when it is raised. The step is skipped without a readback: the caller
// reads the flag later, with its periodic metrics (readNonFiniteFlag), to learn what happened.
import type { PooledBuffer } from '../runtime/pool.ts';
import type { Engine } from '../tensor/engine.ts';
import { fmtShape, sameShape } from '../tensor/shape.ts';
import { Tensor } from '../tensor/tensor.ts';
import { defineUniforms } from '../runtime/uniforms.ts';
import { chunkTableWords, flatHeader, type FlatUpdate } from './flat-update.ts';
import { checkHyper, type BaseHyper } from './hyper.ts';
import { NONFINITE_PARAMS } from './nonfinite-flag.ts';
import { unpackState, type OptimizerKind, type OptimizerState } from './optimizer-state.ts';
import { stateTensor } from './state-tensor.ts';

/** optim/step_counter.wgsl's uniforms. */
export const STEP_COUNTER_PARAMS = defineUniforms('StepCounterParams', {
  count: { type: 'u32', doc: 'number of parameters' },
  mask: { type: { vec4u: 'MASK_VEC4S' }, doc: 'bit k % 32 of word k / 32: parameter k has a gradient' },
});

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
  /**
   * Clamp every updated parameter to [lo, hi] in the update kernel (WGAN weight clipping): bitwise
   * what clampParameters() after the step gives for the parameters that had a gradient, without its
   * dispatch per tensor. A skipped step clamps nothing (it changes nothing).
   */
  clamp?: readonly [number, number];
}

export abstract class Optimizer<H extends BaseHyper> {
  readonly params: readonly Tensor[];
  readonly engine: Engine;
  /** step() calls so far (the per-parameter counts, which the kernels use, live on the GPU). */
  protected stepCount = 0;
  protected hyper: H;
  /** Parameter k's first element in the flat arrays; total = all elements. */
  private readonly offsets: number[];
  private readonly total: number;
  /** The flat state arrays, in slotNames() order. */
  private slots: Tensor[] = [];
  /** The parameters' values, flat (the update kernels write here; step() copies them out). */
  private flatParams: Tensor;
  /** Per parameter: its buffer's write count when this optimizer last copied it in or out (-1: never). */
  private synced: number[];
  /** One u32 per parameter: how many steps it has taken (incremented on the GPU). */
  private steps: Tensor;
  /** A one-word zero: the skip flag that unguarded steps bind. */
  private neverSkip: Tensor;
  /** Chunk tables by the set of tensors they cover (a few: the set rarely changes). */
  private tables = new Map<string, { table: Tensor; count: number }>();
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
    let total = 0;
    this.offsets = this.params.map((p) => {
      const at = total;
      total += p.size;
      return at;
    });
    this.total = total;
    this.synced = this.params.map(() => -1);
    this.flatParams = stateTensor(this.engine.zeros([Math.max(total, 1)], { category: 'optimizer' }));
    this.steps = stateTensor(this.engine.zeros([params.length], { category: 'optimizer' }));
    this.neverSkip = stateTensor(this.engine.zeros([1], { category: 'optimizer' }));
    this.slots = this.slotNames(this.hyper).map(() =>
      stateTensor(this.engine.zeros([Math.max(total, 1)], { category: 'optimizer' })),
    );
  }

  /** Throw a clear error for invalid hyperparameters. */
  protected abstract validate(h: H): void;
  /** The names of the per-parameter state tensors under these hyperparameters. */
  protected abstract slotNames(h: H): string[];
  /**
   * Record the update of every parameter in the chunk table (one dispatch). The step counts are
   * already incremented for this step; the kernel must do nothing when `skip`'s first word is not 0.
   */
  protected abstract update(u: FlatUpdate): void;

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

  private assertLive(op: string): void {
    if (this.disposed) throw new Error(`${this.name}.${op}: the optimizer was disposed`);
  }

  /**
   * The chunk table of these (tensor label, first flat element, size) runs, uploaded once and cached:
   * entries (label, start, end, 0) of at most CHUNK elements each.
   */
  private chunkTable(runs: readonly (readonly [number, number, number])[]): { table: Tensor; count: number } {
    const key = runs.map((r) => r.join(':')).join(',');
    let hit = this.tables.get(key);
    if (hit) return hit;
    const u32 = chunkTableWords(runs);
    hit = {
      table: stateTensor(this.engine.tensor(new Float32Array(u32.buffer), [u32.length], { category: 'optimizer' })),
      count: u32.length / 4,
    };
    if (this.tables.size >= 8) {
      const [oldKey, old] = this.tables.entries().next().value as [string, { table: Tensor }];
      old.table.dispose();
      this.tables.delete(oldKey);
    }
    this.tables.set(key, hit);
    return hit;
  }

  /** The most workgroups per grid dimension: flatHeader() folds larger dispatches into 2-D. */
  private get workgroupLimit(): number {
    return this.engine.runtime.report.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  }

  /**
   * Update every parameter that has a gradient, in place. Records GPU work only (no readback, no
   * submit): the gradients copied into a flat array, one step-counter dispatch, one fused update
   * dispatch for all parameters, and the updated parameters copied back. With `skipNonFinite`,
   * first one check dispatch over `check` and every gradient; returns the flag tensor (see
   * readNonFiniteFlag), which the caller owns. Otherwise returns null.
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
    let clamp: readonly [number, number] | null = null;
    if (opts.clamp !== undefined) {
      const c = opts.clamp;
      if (!Array.isArray(c) || c.length !== 2 || c.some((v) => typeof v !== 'number' || Number.isNaN(v)))
        throw new TypeError(`${op}: clamp must be a pair of numbers [lo, hi], got ${String(c)}`);
      if (c[0] > c[1]) throw new RangeError(`${op}: clamp's lo (${c[0]}) is greater than its hi (${c[1]})`);
      clamp = [c[0], c[1]];
    }
    const work: { k: number; p: PooledBuffer; g: PooledBuffer; size: number }[] = [];
    // Check everything before recording anything, so that an error leaves the state untouched.
    this.params.forEach((p, k) => {
      const g = p.grad;
      if (g === null) return;
      if (!sameShape(g.shape, p.shape))
        throw new Error(
          `${op}: parameter ${k} has shape ${fmtShape(p.shape)} but its gradient has shape ${fmtShape(g.shape)}`,
        );
      if (g.engine !== this.engine) throw new Error(`${op}: the gradient of parameter ${k} belongs to another engine`);
      work.push({ k, p: p.buffer(op), g: g.buffer(op), size: p.size });
    });
    const checkBuffers = checks.map((t) => t.buffer(op));
    this.stepCount++;
    const rt = this.engine.runtime;
    // The gradients (and, for a guarded step, the checked tensors after them) in one flat array.
    const checkedSize = opts.skipNonFinite ? checks.reduce((n, t) => n + t.size, 0) : 0;
    const flatGrads = this.engine.empty([Math.max(this.total + checkedSize, 1)], { category: 'scratch' });
    const grads = flatGrads.buffer(op);
    for (const { k, g, size } of work) rt.copy(g, 0, grads, 4 * this.offsets[k], 4 * size);
    let flag: Tensor | null = null;
    let skip = this.neverSkip.buffer(op);
    if (opts.skipNonFinite) {
      flag = this.engine.zeros([2], { category: 'scratch' });
      skip = flag.buffer(op);
      const runs: [number, number, number][] = [];
      let at = this.total;
      checks.forEach((t, slot) => {
        rt.copy(checkBuffers[slot], 0, grads, 4 * at, 4 * t.size);
        runs.push([slot, at, t.size]);
        at += t.size;
      });
      for (const { k, size } of work) runs.push([checks.length + k, this.offsets[k], size]);
      const { table, count } = this.chunkTable(runs);
      const { header, workgroups } = flatHeader(count, null, this.workgroupLimit);
      const kernel = rt.kernels.get('optim/nonfinite_check', {}, `${this.name}.check_finite`);
      rt.dispatch(
        kernel,
        [grads, skip, table.buffer(op)],
        NONFINITE_PARAMS.pack({ flat: header }),
        workgroups,
        `${this.name}.check_finite`,
        { bytes: 4 * (at - this.total + work.reduce((n, w) => n + w.size, 0)) },
      );
    }
    if (work.length === 0) {
      flatGrads.dispose();
      return flag;
    }
    // Parameters written by anyone else since this optimizer last copied them (the first step, a
    // loadState) are copied in; the others are already in the flat array.
    const param = this.flatParams.buffer(op);
    for (const { k, p, size } of work) {
      if (p.writes !== this.synced[k]) rt.copy(p, 0, param, 4 * this.offsets[k], 4 * size);
    }
    const n = this.params.length;
    const vec4s = Math.ceil(n / 128);
    const mask = new Array<number>(vec4s * 4).fill(0);
    for (const { k } of work) mask[k >> 5] |= 1 << (k & 31);
    const counter = rt.kernels.get('optim/step_counter', { MASK_VEC4S: vec4s }, `${this.name}.step_counter`);
    const steps = this.steps.buffer(op);
    rt.dispatch(counter, [steps, skip], STEP_COUNTER_PARAMS.pack({ count: n, mask }, vec4s), [Math.ceil(n / 64)], op);
    const { table, count } = this.chunkTable(work.map(({ k, size }) => [k, this.offsets[k], size]));
    const { header, workgroups } = flatHeader(count, clamp, this.workgroupLimit);
    const elements = work.reduce((s, w) => s + w.size, 0);
    this.update({
      param,
      grad: grads,
      skip,
      chunks: table.buffer(op),
      slots: this.slots.map((s) => s.buffer(op)),
      steps,
      header,
      workgroups,
      elements,
    });
    for (const { k, p, size } of work) {
      rt.copy(param, 4 * this.offsets[k], p, 0, 4 * size);
      this.synced[k] = p.writes;
    }
    flatGrads.dispose();
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
    const flat = await Promise.all(this.slots.map((s) => s.toArray()));
    for (let k = 0; k < this.params.length; k++) {
      const at = this.offsets[k];
      for (let j = 0; j < names.length; j++) buffers[`${names[j]}.${k}`] = flat[j].slice(at, at + this.params[k].size);
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
    const { hyper, step, counts, flat } = unpackState<H>(op, state, {
      kind: this.kind,
      shapes: this.params.map((p) => p.shape),
      sizes: this.params.map((p) => p.size),
      offsets: this.offsets,
      total: this.total,
      validate: (h) => this.validate(h),
      slotNames: (h) => this.slotNames(h),
    });
    // Valid: replace the state tensors with uploaded copies (fresh upload buffers, so the uploads
    // cannot overtake recorded work that still uses the old ones).
    const e = this.engine;
    this.releaseState();
    this.hyper = hyper;
    this.stepCount = step;
    this.steps = stateTensor(e.tensor(new Float32Array(counts.buffer), [counts.length], { category: 'optimizer' }));
    this.slots = flat.map((data) => stateTensor(e.tensor(data, [data.length], { category: 'optimizer' })));
  }

  private releaseState(): void {
    this.steps.dispose();
    for (const t of this.slots) t.dispose();
    this.slots = [];
  }

  /** Free the optimizer's state tensors (the parameters and their gradients are left alone). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.releaseState();
    this.flatParams.dispose();
    this.neverSkip.dispose();
    for (const { table } of this.tables.values()) table.dispose();
    this.tables.clear();
  }
}
