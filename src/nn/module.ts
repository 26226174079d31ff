// Module: a tree of layers holding parameters (trained) and buffers (running statistics), with a
// state dict for checkpoints. Parameters are kept tensors (tidy() never frees them) in the
// 'parameters' memory category; buffers are kept too.
import type { Engine } from '../tensor/engine.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { fmtShape, sameShape } from '../tensor/shape.ts';

export class Module {
  training = true;
  private readonly paramList: [string, Tensor][] = [];
  private readonly bufferList: [string, Tensor][] = [];
  private readonly childList: [string, Module][] = [];

  constructor(readonly engine: Engine) {}

  /** Register a trainable tensor (requires a gradient, kept, category 'parameters'). */
  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    t.kept = true;
    t.setCategory('parameters');
    this.engine.untrack(t);
    this.paramList.push([name, t]);
    return t;
  }

  /** Register a non-trained state tensor (running statistics). */
  protected buffer(name: string, t: Tensor): Tensor {
    t.kept = true;
    t.setCategory('parameters');
    this.engine.untrack(t);
    this.bufferList.push([name, t]);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.childList.push([name, m]);
    return m;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = this.paramList.map(([n, t]) => [prefix + n, t]);
    for (const [n, c] of this.childList) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = this.bufferList.map(([n, t]) => [prefix + n, t]);
    for (const [n, c] of this.childList) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Parameters and buffers by dotted name (PyTorch's state_dict naming). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /** Count of trainable scalars. */
  parameterCount(): number {
    return this.parameters().reduce((a, t) => a + t.size, 0);
  }

  train(mode = true): this {
    this.training = mode;
    for (const [, c] of this.childList) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Freeze or unfreeze every parameter (a frozen network's parameters get no gradient). */
  setRequiresGrad(flag: boolean): void {
    for (const p of this.parameters()) p.requiresGrad = flag;
  }

  /** Overwrite parameters and buffers from named Float32Arrays; every name must be present with its shape. */
  loadState(values: Map<string, { shape: number[]; data: Float32Array }>, what = 'model'): void {
    const own = this.stateDict();
    for (const [name, t] of own) {
      const v = values.get(name);
      if (!v) throw new Error(`${what}: the checkpoint has no tensor '${name}' (shape ${fmtShape(t.shape)})`);
      if (!sameShape(v.shape, t.shape))
        throw new Error(
          `${what}: tensor '${name}' has shape ${fmtShape(v.shape)} ` +
            `in the checkpoint but ${fmtShape(t.shape)} in the model`,
        );
    }
    for (const [name, t] of own) this.engine.runtime.write(t.buffer('loadState'), values.get(name)!.data);
  }

  dispose(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
      t.grad?.dispose();
      t.grad = null;
      t.kept = false;
      t.dispose();
    }
  }
}
