// Adam (torch.optim.Adam with amsgrad=False, maximize=False, L2 weight decay): one fused
// shaders/optim/adam.wgsl dispatch for all parameters; bias corrections from the GPU step counts
// (-expm1(t ln beta) in the kernel, ln beta from float64 here).
import { defineUniforms } from '../runtime/uniforms.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { FLAT_HEADER, type FlatUpdate } from './flat-update.ts';
import { checkHyper } from './hyper.ts';
import { Optimizer } from './optimizer.ts';

/** optim/adam.wgsl's uniforms. */
const ADAM_PARAMS = defineUniforms('AdamParams', {
  flat: { struct: FLAT_HEADER },
  lr: 'f32',
  beta2: 'f32',
  one_minus_beta1: { type: 'f32', doc: '1 - beta1 rounded once from float64 (PyTorch passes it as a scalar)' },
  one_minus_beta2: 'f32',
  eps: 'f32',
  weight_decay: 'f32',
  log_beta1: { type: 'f32', doc: 'ln(beta1) from float64, at least -88 (beta = 0 gives a correction of 1)' },
  log_beta2: 'f32',
});

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

export interface AdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/** ln(beta) in float64 for the kernel's bias corrections, floored at -88 (exp(-88 t) is 0 in f32). */
function logBeta(beta: number): number {
  return Math.max(Math.log(beta), -88);
}

export class Adam extends Optimizer<AdamHyper> {
  constructor(params: readonly Tensor[], opts: AdamOptions = {}) {
    const betas = opts.betas ?? [0.9, 0.999];
    super('Adam', 'adam', params, {
      lr: opts.lr ?? 1e-3,
      betas: Array.isArray(betas) ? [betas[0], betas[1]] : (betas as [number, number]),
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0,
    });
  }

  protected validate(h: AdamHyper): void {
    checkHyper('Adam', 'lr', h.lr, 0);
    if (!Array.isArray(h.betas) || h.betas.length !== 2)
      throw new TypeError(`Adam: betas must be a pair [beta1, beta2], got ${String(h.betas)}`);
    checkHyper('Adam', 'betas[0]', h.betas[0], 0, 1, true);
    checkHyper('Adam', 'betas[1]', h.betas[1], 0, 1, true);
    checkHyper('Adam', 'eps', h.eps, 0);
    checkHyper('Adam', 'weightDecay', h.weightDecay, 0);
  }

  protected slotNames(): string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  protected update(u: FlatUpdate): void {
    const rt = this.engine.runtime;
    const { lr, betas, eps, weightDecay } = this.hyper;
    const kernel = rt.kernels.get('optim/adam', {}, 'Adam.step');
    const params = ADAM_PARAMS.pack({
      flat: u.header,
      lr,
      beta2: betas[1],
      one_minus_beta1: 1 - betas[0],
      one_minus_beta2: 1 - betas[1],
      eps,
      weight_decay: weightDecay,
      log_beta1: logBeta(betas[0]),
      log_beta2: logBeta(betas[1]),
    });
    rt.dispatch(
      kernel,
      [u.param, u.grad, u.skip, u.chunks, u.slots[0], u.slots[1], u.steps],
      params,
      u.workgroups,
      'Adam.step',
      { bytes: 28 * u.elements },
    );
  }
}
