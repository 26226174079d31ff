// RMSprop (torch.optim.RMSprop with centered=False, momentum=0, L2 weight decay): one fused
// shaders/optim/rmsprop.wgsl dispatch per parameter.
import { grid1d, Uniforms } from '../runtime/grid.ts';
import type { PooledBuffer } from '../runtime/pool.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { checkHyper, Optimizer } from './optimizer.ts';

export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
}

export interface RMSpropHyper {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
}

export class RMSprop extends Optimizer<RMSpropHyper> {
  constructor(params: readonly Tensor[], opts: RMSpropOptions = {}) {
    super('RMSprop', 'rmsprop', params, {
      lr: opts.lr ?? 1e-2,
      alpha: opts.alpha ?? 0.99,
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0,
    });
  }

  protected validate(h: RMSpropHyper): void {
    checkHyper('RMSprop', 'lr', h.lr, 0);
    checkHyper('RMSprop', 'alpha', h.alpha, 0);
    checkHyper('RMSprop', 'eps', h.eps, 0);
    checkHyper('RMSprop', 'weightDecay', h.weightDecay, 0);
  }

  protected slotNames(): string[] {
    return ['square_avg'];
  }

  protected update(_k: number, p: PooledBuffer, g: PooledBuffer, skip: PooledBuffer, slots: PooledBuffer[], _steps: PooledBuffer, size: number): void {
    const rt = this.engine.runtime;
    const { lr, alpha, eps, weightDecay } = this.hyper;
    const grid = grid1d(size);
    const kernel = rt.kernels.get('optim/rmsprop', {}, 'RMSprop.step');
    const u = new Uniforms(12)
      .u32(size, grid.gridX, 0, 0)
      .f32(lr, alpha, 1 - alpha, eps, weightDecay, 0, 0, 0)
      .done();
    rt.dispatch(kernel, [p, g, skip, slots[0]], u, grid.workgroups, 'RMSprop.step');
  }
}
