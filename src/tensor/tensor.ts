// Tensor: a shape and a reference-counted GPU buffer (float32, contiguous, row-major / NCHW).
// Ops (src/ops) attach methods such as `a.add(b)` to the prototype, so this file imports no op.
import type { PooledBuffer, MemoryCategory } from '../runtime/pool.ts';
import type { Engine } from './engine.ts';
import { fmtShape, sizeOf, type Shape } from './shape.ts';

/** A buffer shared by a tensor and its reshaped views / detached copies. */
export class Storage {
  refs = 1;
  /** Tensors computed from this buffer's values (see derived()), freed with it. */
  private cache: Map<string, { writes: number; value: Tensor }> | null = null;
  constructor(
    readonly engine: Engine,
    readonly buffer: PooledBuffer,
  ) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) {
      this.dropDerived();
      this.engine.runtime.release(this.buffer);
    }
  }

  /**
   * A tensor computed from this buffer's current values by `make` (e.g. a convolution weight in the
   * kernels' layout), recomputed only when a recorded command may have written the buffer since
   * (PooledBuffer.writes) or `key` is new. Why: a parameter is written once per optimizer step but
   * read by many kernels in between. The value belongs to the cache: callers must not dispose it; it
   * is freed when recomputed and when this storage is released. `make` must not write this buffer.
   */
  derived(key: string, make: () => Tensor): Tensor {
    const hit = this.cache?.get(key);
    if (hit && hit.writes === this.buffer.writes) return hit.value;
    hit?.value.dispose();
    const value = make();
    value.kept = true;
    this.engine.untrack(value);
    (this.cache ??= new Map()).set(key, { writes: this.buffer.writes, value });
    return value;
  }

  private dropDerived(): void {
    if (!this.cache) return;
    for (const { value } of this.cache.values()) value.dispose();
    this.cache = null;
  }
}

/** How to compute the gradients of an op's inputs from the gradient of its output. */
export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** Returns one gradient per input (null where the input needs none). Runs with grad recording off. */
  backward: (grad: Tensor) => (Tensor | null)[];
}

let nextTensorId = 1;
/** The id the next tensor will get (ids grow monotonically: id >= mark means made after the mark). */
export function peekTensorId(): number {
  return nextTensorId;
}

export class Tensor {
  readonly id = nextTensorId++;
  readonly shape: number[];
  readonly size: number;
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after backward(); null until then. */
  grad: Tensor | null = null;
  /** How this tensor was made, for backward(); null for leaves and after the graph is freed. */
  node: GradNode | null = null;
  /** True once backward() has run through this tensor and freed its graph. */
  graphFreed = false;
  /** Excluded from tidy() scopes (gradients, parameters, optimizer state). */
  kept = false;
  /**
   * Live graph nodes that have this tensor as an input. While > 0, dispose() only marks the tensor:
   * its values and its own node stay until backward() (or the disposal of every consumer) frees them,
   * so a tidy() inside an op can drop intermediates that the graph still needs.
   */
  graphRefs = 0;
  private disposeRequested = false;
  private storageRef: Storage | null;

  constructor(
    readonly engine: Engine,
    storage: Storage,
    shape: Shape,
    requiresGrad = false,
  ) {
    this.storageRef = storage;
    this.shape = [...shape];
    this.size = sizeOf(shape);
    this.requiresGrad = requiresGrad;
    engine.track(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposeRequested || this.storageRef === null;
  }

  /** The tensor's storage; using a disposed tensor is an error that names the op. */
  storage(op = 'op'): Storage {
    if (!this.storageRef)
      throw new Error(
        `${op}: tensor #${this.id} ${fmtShape(this.shape)} was disposed (by dispose() or the end of a tidy() scope)`,
      );
    return this.storageRef;
  }

  buffer(op = 'op'): PooledBuffer {
    return this.storage(op).buffer;
  }

  /** Move the bytes to another memory category in engine.memory(). */
  setCategory(category: MemoryCategory): this {
    if (this.storageRef) this.engine.runtime.pool.recategorize(this.storageRef.buffer, category);
    return this;
  }

  /** Free the GPU memory (once no view and no live graph needs it). Safe to call twice. */
  dispose(): void {
    if (this.disposeRequested) return;
    this.disposeRequested = true;
    this.engine.untrack(this);
    this.collect();
  }

  /** Release the storage and the node once disposed and no live node uses this tensor. */
  private collect(): void {
    if (!this.disposeRequested || this.graphRefs > 0 || !this.storageRef) return;
    this.storageRef.release();
    this.storageRef = null;
    this.freeNode();
  }

  /** Drop this tensor's graph node; inputs that were waiting for it are collected. */
  freeNode(): void {
    const node = this.node;
    if (!node) return;
    this.node = null;
    for (const input of node.inputs) {
      input.graphRefs--;
      input.collect();
    }
  }

  /** Copy the values to the CPU (a sync point: submits the recorded work and waits for it). */
  async toArray(): Promise<Float32Array> {
    const pb = this.buffer('toArray');
    const bytes = await this.engine.runtime.read(pb, 0, this.size * 4);
    return new Float32Array(bytes);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1)
      throw new Error(`item: tensor has ${this.size} elements ${fmtShape(this.shape)}; item() needs exactly one`);
    return (await this.toArray())[0];
  }

  /** A tensor sharing this one's values, outside the autograd graph. */
  detach(): Tensor {
    return new Tensor(this.engine, this.storage('detach').retain(), this.shape, false);
  }

  /** Back-propagate from this tensor (a scalar, or with `grad` of the same shape). Set by autograd. */
  backward(grad?: Tensor): void {
    backwardImpl(this, grad);
  }

  toString(): string {
    return `Tensor#${this.id}(${fmtShape(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

let backwardImpl: (t: Tensor, grad?: Tensor) => void = () => {
  throw new Error('backward: autograd is not loaded (import from src/index.ts)');
};

/** Installed by src/autograd so that the tensor layer needs no import of it. */
export function setBackwardImpl(fn: (t: Tensor, grad?: Tensor) => void): void {
  backwardImpl = fn;
}
