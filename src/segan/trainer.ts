// One SegAN training step, as the public code does it, recorded on the GPU without readbacks:
//   D step: p = S(x) (no graph); ℓ = mean over critics k of ℓ_k(C_k(x∘p_k), C_k(x∘y_k));
//           critic loss −ℓ; backward; optimizer step; clamp every critic parameter to [−c, c].
//   G step: critics frozen (their parameters get no gradient); p = S(x);
//           loss ℓ + λ·(1 − Dice(p, y)); backward; optimizer step.
// K = 3 classes use three critics (the paper's S3-3C), K = 1 one critic (S1-1C).
import { Adam, RMSprop, clampParameters } from '../optim/index.ts';
import { sum, mean, mul, gt, slice } from '../ops/index.ts';
import type { Engine } from '../tensor/engine.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { TrainConfig } from './config.ts';
import { Critic, Segmentor } from './model.ts';
import { diceLoss, maskedBy, multiScaleL1 } from './losses.ts';

export interface StepLosses {
  /** Critic loss (−ℓ), a scalar tensor on the GPU. */
  critic: Tensor;
  /** Segmentor loss (ℓ + λ·Dice term). */
  segmentor: Tensor;
  /** Hard Dice of the whole-tumour class (p > 0.5) on this batch. */
  dice: Tensor;
}

export class SeganModel {
  readonly S: Segmentor;
  readonly critics: Critic[];
  constructor(readonly engine: Engine, readonly config: TrainConfig) {
    this.S = new Segmentor(engine, config.model);
    this.critics = Array.from({ length: config.model.classes }, (_, k) => new Critic(engine, config.model, 1000 + 100 * k));
  }

  criticParameters(): Tensor[] {
    return this.critics.flatMap((c) => c.parameters());
  }

  /** Named tensors for checkpoints: S.* and C<k>.* */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, t] of this.S.stateDict()) out.set(`S.${n}`, t);
    this.critics.forEach((c, k) => {
      for (const [n, t] of c.stateDict()) out.set(`C${k}.${n}`, t);
    });
    return out;
  }

  dispose(): void {
    this.S.dispose();
    for (const c of this.critics) c.dispose();
  }
}

export type SeganOptimizer = Adam | RMSprop;

function makeOptimizer(params: Tensor[], cfg: TrainConfig): SeganOptimizer {
  if (cfg.optimizer === 'adam') return new Adam(params, { lr: cfg.lr, betas: cfg.betas });
  return new RMSprop(params, { lr: cfg.lr });
}

export class SeganTrainer {
  readonly optS: SeganOptimizer;
  readonly optC: SeganOptimizer;
  constructor(readonly model: SeganModel, readonly config: TrainConfig) {
    this.optS = makeOptimizer(model.S.parameters(), config);
    this.optC = makeOptimizer(model.criticParameters(), config);
  }

  get engine(): Engine {
    return this.model.engine;
  }

  private adversarial(x: Tensor, p: Tensor, y: Tensor): Tensor {
    const { critics } = this.model;
    let total: Tensor | null = null;
    critics.forEach((c, k) => {
      const fake = c.features(maskedBy(x, p, k));
      const real = c.features(maskedBy(x, y, k));
      const l = multiScaleL1(fake, real, this.config.scaleWeights);
      total = total ? total.add(l) : l;
    });
    return mul(total!, 1 / critics.length);
  }

  /** The critic step; returns the critic loss (a detached scalar). */
  stepCritic(x: Tensor, y: Tensor): Tensor {
    const e = this.engine;
    const { S } = this.model;
    return e.tidy(() => {
      for (const c of this.model.critics) c.setRequiresGrad(true);
      const p = e.noGrad(() => S.forward(x));
      const loss = this.adversarial(x, p, y).neg();
      loss.backward();
      this.optC.step();
      this.optC.zeroGrad();
      clampParameters(this.model.criticParameters(), -this.config.clamp, this.config.clamp);
      return loss.detach();
    });
  }

  /** The segmentor step with frozen critics; returns [loss, hard whole-tumour Dice] (detached). */
  stepSegmentor(x: Tensor, y: Tensor): [Tensor, Tensor] {
    const e = this.engine;
    const { S } = this.model;
    return e.tidy(() => {
      for (const c of this.model.critics) c.setRequiresGrad(false);
      const p = S.forward(x);
      let loss = this.adversarial(x, p, y);
      if (this.config.lambdaDice > 0) loss = loss.add(mul(diceLoss(p, y), this.config.lambdaDice));
      loss.backward();
      this.optS.step();
      this.optS.zeroGrad();
      for (const c of this.model.critics) c.setRequiresGrad(true);
      const dice = e.noGrad(() => hardDice(slice(p.detach(), 1, 0, 1), slice(y, 1, 0, 1)));
      return [loss.detach(), dice];
    });
  }

  /** One D step then one G step on the same batch. */
  step(x: Tensor, y: Tensor): StepLosses {
    const critic = this.stepCritic(x, y);
    const [segmentor, dice] = this.stepSegmentor(x, y);
    return { critic, segmentor, dice };
  }

  /** Learning rate for an epoch under the preset's schedule. */
  lrAt(epoch: number): number {
    const h = this.config.lrHalveEvery;
    return h > 0 ? Math.max(1e-8, this.config.lr * 0.5 ** Math.floor(epoch / h)) : this.config.lr;
  }

  setEpoch(epoch: number): void {
    const lr = this.lrAt(epoch);
    this.optS.lr = lr;
    this.optC.lr = lr;
  }
}

/** 2|P∩G| / (|P| + |G|) with P = p > 0.5, over the whole batch (1 when both are empty). */
export function hardDice(p: Tensor, y: Tensor): Tensor {
  const hard = gt(p, 0.5);
  const inter = sum(mul(hard, y));
  const denom = sum(hard).add(sum(y));
  return mean(inter.mul(2).add(1e-6).div(denom.add(1e-6)));
}
