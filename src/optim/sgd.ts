// SGD (torch.optim.SGD with dampening=0, nesterov=False, L2 weight decay): one fused
// shaders/optim/sgd.wgsl dispatch per parameter. With momentum, the buffer takes the gradient itself
// on the parameter's first step (PyTorch's rule), which the kernel knows from the GPU step count.
import { grid1d, Uniforms } from '../runtime/grid.ts';
import type { PooledBuffer } from '../runtime/pool.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { checkHyper, Optimizer } from './optimizer.ts';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

export interface SGDHyper {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export class SGD extends Optimizer<SGDHyper> {
  constructor(params: readonly Tensor[], opts: SGDOptions) {
    if (opts === null || typeof opts !== 'object' || opts.lr === undefined) throw new TypeError('SGD: options must give lr, e.g. new SGD(params, { lr: 0.01 })');
    super('SGD', 'sgd', params, { lr: opts.lr, momentum: opts.momentum ?? 0, weightDecay: opts.weightDecay ?? 0 });
  }

  protected validate(h: SGDHyper): void {
    checkHyper('SGD', 'lr', h.lr, 0);
    checkHyper('SGD', 'momentum', h.momentum, 0);
    checkHyper('SGD', 'weightDecay', h.weightDecay, 0);
  }

  /** A momentum buffer only when momentum != 0 (as PyTorch keeps none without momentum). */
  protected slotNames(h: SGDHyper): string[] {
    return h.momentum !== 0 ? ['momentum_buffer'] : [];
  }

  /** Momentum cannot be switched on or off after construction: the state buffers depend on it. */
  get momentum(): number {
    return this.hyper.momentum;
  }

  protected update(k: number, p: PooledBuffer, g: PooledBuffer, skip: PooledBuffer, slots: PooledBuffer[], steps: PooledBuffer, size: number): void {
    const rt = this.engine.runtime;
    const { lr, momentum, weightDecay } = this.hyper;
    const grid = grid1d(size);
    const u = new Uniforms(8).u32(size, grid.gridX, k, 0).f32(lr, momentum, weightDecay, 0).done();
    if (momentum !== 0) {
      const kernel = rt.kernels.get('optim/sgd', { MOMENTUM_ENTRY: 'main', PLAIN_ENTRY: 'sgd_plain' }, 'SGD.step');
      rt.dispatch(kernel, [p, g, skip, slots[0], steps], u, grid.workgroups, 'SGD.step');
    } else {
      const kernel = rt.kernels.get('optim/sgd', { MOMENTUM_ENTRY: 'sgd_momentum', PLAIN_ENTRY: 'main' }, 'SGD.step');
      rt.dispatch(kernel, [p, g, skip], u, grid.workgroups, 'SGD.step');
    }
  }
}
