// RMSprop (torch.optim.RMSprop with centered=False, momentum=0, L2 weight decay): one fused
// shaders/optim/rmsprop.wgsl dispatch for all parameters.
import { defineUniforms } from '../runtime/uniforms.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { FLAT_HEADER, type FlatUpdate } from './flat-update.ts';
import { checkHyper } from './hyper.ts';
import { Optimizer } from './optimizer.ts';

/** optim/rmsprop.wgsl's uniforms. */
const RMSPROP_PARAMS = defineUniforms('RmspropParams', {
  flat: { struct: FLAT_HEADER },
  lr: 'f32',
  alpha: 'f32',
  one_minus_alpha: { type: 'f32', doc: '1 - alpha rounded once from float64' },
  eps: 'f32',
  weight_decay: 'f32',
});

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

  protected update(u: FlatUpdate): void {
    const rt = this.engine.runtime;
    const { lr, alpha, eps, weightDecay } = this.hyper;
    const kernel = rt.kernels.get('optim/rmsprop', {}, 'RMSprop.step');
    const params = RMSPROP_PARAMS.pack({
      flat: u.header,
      lr,
      alpha,
      one_minus_alpha: 1 - alpha,
      eps,
      weight_decay: weightDecay,
    });
    rt.dispatch(kernel, [u.param, u.grad, u.skip, u.chunks, u.slots[0]], params, u.workgroups, 'RMSprop.step', {
      bytes: 20 * u.elements,
    });
  }
}
