// An exponential moving average of a set of tensors (a network's parameters and running statistics):
// the weights that validation, checkpoints and inference use when a run asks for one. Recorded on the
// GPU like an optimizer step, without a readback: update() copies each tensor into a flat array at its
// offset, one shaders/optim/average.wgsl dispatch updates the flat average, and one
// optim/step_counter dispatch counts the update (the count lives on the GPU, so the kernel's uniform
// block is the same every step). Why average: with a small batch and an adversarial loss, the weights
// of one step are a noisy sample of where training is; their average over the last ~1/(1 − decay)
// steps is a steadier model to validate and keep.
import type { PooledBuffer } from '../runtime/pool.ts';
import { grid1d } from '../runtime/grid.ts';
import { defineUniforms } from '../runtime/uniforms.ts';
import type { Engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { STEP_COUNTER_PARAMS } from './optimizer.ts';
import { stateTensor } from './state-tensor.ts';

/** optim/average.wgsl's uniforms. */
const AVERAGE_PARAMS = defineUniforms('AverageParams', {
  n: { type: 'u32', doc: 'elements in the flat arrays' },
  groups_x: { type: 'u32', doc: 'workgroups along x (element = (wid.x + wid.y * groups_x) * 256 + lid)' },
  decay: { type: 'f32', doc: 'the longest-run decay per update' },
});

/** What a checkpoint keeps of an average: its values per tensor (in the constructor's order) and its update count. */
export interface AverageState {
  decay: number;
  updates: number;
  values: Float32Array[];
}

export class ParameterAverage {
  readonly engine: Engine;
  readonly tensors: readonly Tensor[];
  readonly decay: number;
  private readonly offsets: number[];
  private readonly total: number;
  private updateCount = 0;
  /** The flat average (meaningless before the first update). */
  private avg: Tensor;
  /** The flat copy of the tensors that update() averages in, and withAverage() keeps the live values in. */
  private current: Tensor;
  /** One u32: updates so far, on the GPU. */
  private count: Tensor;
  /** A one-word zero: step_counter's skip flag (never raised here). */
  private neverSkip: Tensor;
  private disposed = false;

  /**
   * @param tensors what to average (parameters, running statistics): float32 tensors of one engine
   * @param decay the weight of the previous average per update, in (0, 1); early updates use
   *   min(decay, (1 + n) / (10 + n)) after n updates
   */
  constructor(tensors: readonly Tensor[], decay: number) {
    if (!Array.isArray(tensors) || tensors.length === 0)
      throw new Error('ParameterAverage: give a non-empty array of tensors');
    tensors.forEach((t, k) => {
      if (!(t instanceof Tensor)) throw new TypeError(`ParameterAverage: tensor ${k} is not a Tensor`);
      if (t.engine !== tensors[0].engine) throw new Error('ParameterAverage: tensors belong to different engines');
    });
    if (typeof decay !== 'number' || !(decay > 0 && decay < 1))
      throw new RangeError(`ParameterAverage: decay must be a number in (0, 1), got ${String(decay)}`);
    this.engine = tensors[0].engine;
    this.tensors = [...tensors];
    this.decay = decay;
    let total = 0;
    this.offsets = this.tensors.map((t) => {
      const at = total;
      total += t.size;
      return at;
    });
    this.total = total;
    this.avg = stateTensor(this.engine.zeros([Math.max(total, 1)], { category: 'optimizer' }));
    this.current = stateTensor(this.engine.zeros([Math.max(total, 1)], { category: 'optimizer' }));
    this.count = stateTensor(this.engine.zeros([1], { category: 'optimizer' }));
    this.neverSkip = stateTensor(this.engine.zeros([1], { category: 'optimizer' }));
  }

  /** update() calls so far (restored by load()). */
  get updates(): number {
    return this.updateCount;
  }

  private assertLive(op: string): void {
    if (this.disposed) throw new Error(`ParameterAverage.${op}: the average was disposed`);
  }

  /** Copy every tensor into `current` at its offset. */
  private gather(op: string): PooledBuffer {
    const rt = this.engine.runtime;
    const cur = this.current.buffer(op);
    this.tensors.forEach((t, k) => rt.copy(t.buffer(op), 0, cur, 4 * this.offsets[k], 4 * t.size));
    return cur;
  }

  /** Copy the flat array `from` back into the tensors. */
  private scatter(from: PooledBuffer, op: string): void {
    const rt = this.engine.runtime;
    this.tensors.forEach((t, k) => rt.copy(from, 4 * this.offsets[k], t.buffer(op), 0, 4 * t.size));
  }

  /** Average the tensors' current values in (records GPU work only). */
  update(): void {
    const op = 'ParameterAverage.update';
    this.assertLive('update');
    const rt = this.engine.runtime;
    const cur = this.gather(op);
    const limit = rt.report.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    const grid = grid1d(this.total, 256, limit);
    const kernel = rt.kernels.get('optim/average', {}, op);
    rt.dispatch(
      kernel,
      [this.avg.buffer(op), cur, this.count.buffer(op)],
      AVERAGE_PARAMS.pack({ n: this.total, groups_x: grid.workgroups[0], decay: this.decay }),
      grid.workgroups,
      op,
      { bytes: 12 * this.total },
    );
    const counter = rt.kernels.get('optim/step_counter', { MASK_VEC4S: 1 }, op);
    rt.dispatch(
      counter,
      [this.count.buffer(op), this.neverSkip.buffer(op)],
      STEP_COUNTER_PARAMS.pack({ count: 1, mask: [1] }, 1),
      [1],
      op,
    );
    this.updateCount++;
  }

  /**
   * Run `body` with the average in the tensors, then put their own values back (recorded copies;
   * `body` may read back). Before the first update the tensors keep their own values.
   */
  async withAverage<T>(body: () => Promise<T>): Promise<T> {
    const op = 'ParameterAverage.withAverage';
    this.assertLive('withAverage');
    if (this.updateCount === 0) return body();
    const live = this.gather(op);
    this.scatter(this.avg.buffer(op), op);
    try {
      return await body();
    } finally {
      if (!this.engine.runtime.isClosed) this.scatter(live, op);
    }
  }

  /** The average per tensor (a sync point); before the first update, the tensors' own values. */
  async state(): Promise<AverageState> {
    this.assertLive('state');
    const values =
      this.updateCount === 0
        ? await Promise.all(this.tensors.map((t) => t.toArray()))
        : await this.avg
            .toArray()
            .then((flat) => this.tensors.map((t, k) => flat.slice(this.offsets[k], this.offsets[k] + t.size)));
    return { decay: this.decay, updates: this.updateCount, values };
  }

  /** Restore a state(): the values (one per tensor, sizes checked first) and the update count. */
  load(state: Pick<AverageState, 'updates' | 'values'>): void {
    this.assertLive('load');
    const { updates, values } = state;
    if (!Number.isInteger(updates) || updates < 0)
      throw new Error(`ParameterAverage.load: updates must be an integer ≥ 0, got ${String(updates)}`);
    if (!Array.isArray(values) || values.length !== this.tensors.length)
      throw new Error(`ParameterAverage.load: expected ${this.tensors.length} tensors, got ${values?.length}`);
    values.forEach((v, k) => {
      if (!(v instanceof Float32Array) || v.length !== this.tensors[k].size)
        throw new Error(`ParameterAverage.load: tensor ${k} should hold ${this.tensors[k].size} values`);
    });
    const flat = new Float32Array(Math.max(this.total, 1));
    values.forEach((v, k) => flat.set(v, this.offsets[k]));
    // fresh upload buffers, so the uploads cannot overtake recorded work that still uses the old ones
    this.avg.dispose();
    this.count.dispose();
    this.avg = stateTensor(this.engine.tensor(flat, [flat.length], { category: 'optimizer' }));
    const n = Uint32Array.of(updates);
    this.count = stateTensor(this.engine.tensor(new Float32Array(n.buffer), [1], { category: 'optimizer' }));
    this.updateCount = updates;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [this.avg, this.current, this.count, this.neverSkip]) t.dispose();
  }
}
