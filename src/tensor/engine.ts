// Engine: the device, the command stream and the tensors made on it.
// Creation (tensor, zeros, full, rand, randn), scopes (tidy, noGrad) and the memory report live here;
// ops live in src/ops and reach the engine through their tensors.
import type { TuneResult } from '../runtime/tuner.ts';
import { openDevice, type AdapterReport, type DeviceOptions } from '../device/gpu.ts';
import { checkEnvironment, envValue, EnvError } from '../device/env.ts';
import { memoryLimitOf, Runtime, type RuntimeOptions } from '../runtime/runtime.ts';
import { grid1d } from '../runtime/grid.ts';
import { defineUniforms } from '../runtime/uniforms.ts';
import type { MemoryCategory, MemoryReport } from '../runtime/pool.ts';
import { Storage, Tensor } from './tensor.ts';
import { checkShape, fmtShape, sizeOf, ShapeError, type Shape } from './shape.ts';
import { seedKey } from './random.ts';
import { writeProfileReport } from '../runtime/profiler.ts';

/** copy/fill.wgsl's uniforms. */
const FILL_PARAMS = defineUniforms('FillParams', { count: 'u32', grid_x: 'u32', value: 'f32' });

/** random/threefry.wgsl's uniforms. */
const RANDOM_PARAMS = defineUniforms('RandomParams', {
  count: { type: 'u32', doc: 'number of outputs' },
  grid_x: { type: 'u32', doc: 'threads along x' },
  seed_lo: 'u32',
  seed_hi: 'u32',
  counter_offset: 'u32',
  dist: { type: 'u32', doc: '0 uniform, 1 normal' },
  a: { type: 'f32', doc: 'low or mean' },
  b: { type: 'f32', doc: 'high or std' },
});

export interface EngineOptions extends DeviceOptions, RuntimeOptions {
  /** Base seed for rand/randn calls that give no seed of their own. */
  seed?: number;
}

export interface TensorOptions {
  requiresGrad?: boolean;
  category?: MemoryCategory;
}

export interface RandomOptions extends TensorOptions {
  seed?: number;
}

type Nested = number | readonly Nested[];

export class Engine {
  readonly runtime: Runtime;
  readonly adapter: AdapterReport;
  /** False inside noGrad(): ops record no graph. */
  gradEnabled = true;
  private scopes: Set<Tensor>[] = [];
  private gpuRef: GPU | null;
  private seedCounter: number;

  constructor(gpu: GPU | null, runtime: Runtime, opts: EngineOptions) {
    this.gpuRef = gpu;
    this.runtime = runtime;
    this.adapter = runtime.report;
    this.seedCounter = opts.seed ?? 0;
  }

  // ---- creation -------------------------------------------------------------------------------

  private make(shape: Shape, op: string, opts: TensorOptions = {}, upload = false): Tensor {
    const s = checkShape(op, shape);
    const bytes = sizeOf(s) * 4;
    const category = opts.category ?? 'activations';
    const pb = upload ? this.runtime.allocForUpload(bytes, category, op) : this.runtime.alloc(bytes, category, op);
    return new Tensor(this, new Storage(this, pb), s, opts.requiresGrad ?? false);
  }

  /** An uninitialised tensor (ops fill it). */
  empty(shape: Shape, opts: TensorOptions = {}, op = 'empty'): Tensor {
    return this.make(shape, op, opts);
  }

  /** A tensor from values: a flat array / Float32Array with a shape, nested arrays, or a number. */
  tensor(data: Nested | ArrayLike<number>, shape?: Shape, opts: TensorOptions = {}): Tensor {
    let flat: Float32Array;
    let inferred: number[];
    if (typeof data === 'number') {
      flat = new Float32Array([data]);
      inferred = [];
    } else if (ArrayBuffer.isView(data) || (Array.isArray(data) && !data.some((d) => Array.isArray(d)))) {
      flat = Float32Array.from(data as ArrayLike<number>);
      inferred = [flat.length];
    } else {
      inferred = nestedShape(data as readonly Nested[]);
      flat = Float32Array.from((data as unknown[]).flat(Infinity) as number[]);
    }
    const s = shape ? checkShape('tensor', shape) : inferred;
    if (sizeOf(s) !== flat.length) {
      throw new ShapeError(`tensor: ${flat.length} values do not fill shape ${fmtShape(s)} (${sizeOf(s)} elements)`);
    }
    const t = this.make(s, 'tensor', opts, true);
    if (flat.length) this.runtime.upload(t.buffer(), flat);
    return t;
  }

  full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
    const t = this.make(shape, 'full', opts);
    this.fill(t, value);
    return t;
  }

  zeros(shape: Shape, opts: TensorOptions = {}): Tensor {
    return this.full(shape, 0, opts);
  }

  ones(shape: Shape, opts: TensorOptions = {}): Tensor {
    return this.full(shape, 1, opts);
  }

  /** Overwrite every element of `t` with `value` (one dispatch, recorded in the stream). */
  fill(t: Tensor, value: number): void {
    if (t.size === 0) return;
    const g = grid1d(t.size);
    const k = this.runtime.kernels.get('copy/fill', {}, 'fill');
    const u = FILL_PARAMS.pack({ count: t.size, grid_x: g.gridX, value });
    this.runtime.dispatch(k, [t.buffer('fill')], u, g.workgroups);
  }

  /** Uniform random numbers in [low, high) from a counter-based generator (same seed, same numbers). */
  rand(shape: Shape, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
    return this.random(shape, 0, opts.low ?? 0, opts.high ?? 1, opts, 'rand');
  }

  /** Normal random numbers (mean 0, std 1 unless given) from the same generator. */
  randn(shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
    return this.random(shape, 1, opts.mean ?? 0, opts.std ?? 1, opts, 'randn');
  }

  private random(shape: Shape, dist: number, a: number, b: number, opts: RandomOptions, op: string): Tensor {
    const seed = opts.seed ?? this.seedCounter++;
    const [lo, hi] = seedKey(seed);
    const t = this.make(shape, op, opts);
    if (t.size === 0) return t;
    const g = grid1d(Math.ceil(t.size / 2));
    const k = this.runtime.kernels.get('random/threefry', {}, op);
    const u = RANDOM_PARAMS.pack({
      count: t.size,
      grid_x: g.gridX,
      seed_lo: lo,
      seed_hi: hi,
      counter_offset: 0,
      dist,
      a,
      b,
    });
    this.runtime.dispatch(k, [t.buffer(op)], u, g.workgroups);
    return t;
  }

  // ---- scopes ---------------------------------------------------------------------------------

  /** @internal every new tensor joins the innermost tidy scope. */
  track(t: Tensor): void {
    const scope = this.scopes[this.scopes.length - 1];
    if (scope) scope.add(t);
  }

  /** @internal */
  untrack(t: Tensor): void {
    const scope = this.scopes[this.scopes.length - 1];
    if (scope) scope.delete(t);
  }

  /**
   * Run `fn` and free every tensor it created except those it returns (a tensor, or tensors inside
   * arrays / plain objects) and kept ones (gradients, parameters). Synchronous on purpose: GPU work is
   * recorded, not awaited, so no await is needed inside.
   */
  tidy<T>(fn: () => T): T {
    const scope = new Set<Tensor>();
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
    } finally {
      this.scopes.pop();
    }
    if (result instanceof Promise) {
      for (const t of scope) if (!t.kept) t.dispose();
      throw new Error(
        'tidy: the function returned a Promise; tidy() is synchronous (record work inside, await outside)',
      );
    }
    const keep = new Set<Tensor>();
    collectTensors(result, keep);
    const parent = this.scopes[this.scopes.length - 1];
    for (const t of scope) {
      if (keep.has(t) || t.kept) {
        if (parent && !t.kept) parent.add(t);
      } else t.dispose();
    }
    return result;
  }

  /** Run `fn` with graph recording off (evaluation, optimizer updates). */
  noGrad<T>(fn: () => T): T {
    const prev = this.gradEnabled;
    this.gradEnabled = false;
    try {
      return fn();
    } finally {
      this.gradEnabled = prev;
    }
  }

  // ---- sync and lifetime ----------------------------------------------------------------------

  /** Submit all recorded work and wait for the GPU to finish it; throws GPU errors seen so far. */
  flush(): Promise<void> {
    return this.runtime.flush();
  }

  /**
   * Time the tile candidates of every tiled-kernel shape used so far and not yet tuned, keep the
   * fastest (also done by itself at the next readback when tuning is on; see src/runtime/tuner.ts).
   */
  tune(progress?: (done: number, total: number, r: TuneResult) => void): Promise<TuneResult[]> {
    return this.runtime.tune(progress);
  }

  memory(): MemoryReport {
    return this.runtime.pool.report();
  }

  /** Destroy the device and drop the Dawn instance so that the process can exit. */
  async close(): Promise<void> {
    if (this.runtime.profiler && !this.runtime.isClosed && envValue('DAWNGRAD_PROFILE') === '1') {
      // DAWNGRAD_PROFILE=1 on any run: the kernel table on stderr and a Chrome trace on disk at the end.
      await this.runtime.flush().catch(() => undefined);
      writeProfileReport(
        this.runtime.profiler.take(),
        envValue('DAWNGRAD_PROFILE_OUT') ?? `dawngrad-profile-${process.pid}.json`,
      );
    }
    await this.runtime.close();
    this.gpuRef = null;
  }

  get isClosed(): boolean {
    return this.runtime.isClosed && this.gpuRef === null;
  }
}

function nestedShape(data: readonly Nested[]): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as readonly Nested[])[0];
  }
  return shape;
}

function collectTensors(v: unknown, into: Set<Tensor>, depth = 0): void {
  if (depth > 8 || v === null || typeof v !== 'object') return;
  if (v instanceof Tensor) {
    into.add(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collectTensors(x, into, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype)
    for (const x of Object.values(v)) collectTensors(x, into, depth + 1);
}

export async function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  // a bad DAWNGRAD_* value fails before a device is opened
  const bad = checkEnvironment().errors;
  if (bad.length) throw new EnvError(bad.join('; '));
  memoryLimitOf(opts);
  if (opts.precision !== undefined && opts.precision !== 'f32' && opts.precision !== 'f16')
    throw new RangeError(`precision must be 'f32' or 'f16', got '${String(opts.precision)}'`);
  const { gpu, device, report } = await openDevice(opts);
  let runtime: Runtime;
  try {
    runtime = new Runtime(device, report, opts);
  } catch (err) {
    device.destroy(); // e.g. precision 'f16' without 'shader-f16'
    throw err;
  }
  if (envValue('DAWNGRAD_PROFILE') === '1') runtime.enableProfiling();
  return new Engine(gpu, runtime, opts);
}
