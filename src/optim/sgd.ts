// SGD (torch.optim.SGD with dampening=0, nesterov=False, L2 weight decay): one fused
// shaders/optim/sgd.wgsl dispatch for all parameters. With momentum, the buffer takes the gradient itself
// on the parameter's first step (PyTorch's rule), which the kernel knows from the GPU step count.
import { defineUniforms } from '../runtime/uniforms.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { FLAT_HEADER, type FlatUpdate } from './flat-update.ts';
import { checkHyper } from './hyper.ts';
import { Optimizer } from './optimizer.ts';

/** optim/sgd.wgsl's uniforms. */
const SGD_PARAMS = defineUniforms('SgdParams', {
  flat: { struct: FLAT_HEADER },
  lr: 'f32',
  momentum: 'f32',
  weight_decay: 'f32',
});

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
    if (opts === null || typeof opts !== 'object' || opts.lr === undefined)
      throw new TypeError('SGD: options must give lr, e.g. new SGD(params, { lr: 0.01 })');
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

  protected update(u: FlatUpdate): void {
    const rt = this.engine.runtime;
    const { lr, momentum, weightDecay } = this.hyper;
    const params = SGD_PARAMS.pack({ flat: u.header, lr, momentum, weight_decay: weightDecay });
    if (momentum !== 0) {
      const kernel = rt.kernels.get('optim/sgd', { MOMENTUM_ENTRY: 'main', PLAIN_ENTRY: 'sgd_plain' }, 'SGD.step');
      rt.dispatch(kernel, [u.param, u.grad, u.skip, u.chunks, u.slots[0], u.steps], params, u.workgroups, 'SGD.step', {
        bytes: 20 * u.elements,
      });
    } else {
      const kernel = rt.kernels.get('optim/sgd', { MOMENTUM_ENTRY: 'sgd_momentum', PLAIN_ENTRY: 'main' }, 'SGD.step');
      rt.dispatch(kernel, [u.param, u.grad, u.skip, u.chunks], params, u.workgroups, 'SGD.step', {
        bytes: 12 * u.elements,
      });
    }
  }
}
