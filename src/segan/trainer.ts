// One SegAN training step, as the public code does it, recorded on the GPU without readbacks:
//   D step: p = S(x) (no graph); ℓ = mean over critics k of ℓ_k(C_k(x∘p_k), C_k(x∘y_k));
//           critic loss −ℓ; backward; optimizer step; clamp every critic parameter to [−c, c].
//   G step: critics frozen (their parameters get no gradient); p = S(x);
//           loss ℓ + λ·(1 − Dice(p, y)); backward; optimizer step.
// With config.ema > 0, an exponential moving average of the segmentor's weights and running statistics
// is updated after every step, on the GPU (optim/average.ts); validation and inference use it.
// K = 3 classes use three critics (the paper's S3-3C), K = 1 one critic (S1-1C).
// Both optimizer steps are guarded (unless the trainer is built with guard: false): the loss and every
// gradient are checked on the GPU and a step with a NaN or an infinity is skipped there, leaving the
// parameters and the optimizer state as they were; the returned flags say so at the next readback.
import { Adam, ParameterAverage, RMSprop, clampParameters, readNonFiniteFlag } from '../optim/index.ts';
import { mul, slice } from '../ops/index.ts';
import type { Engine } from '../tensor/engine.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { configEma, type TrainConfig } from './config.ts';
import type { SeganModel } from './model.ts';
import { diceLoss, hardDice, maskedBy, multiScaleL1 } from './losses.ts';

export interface StepLosses {
  /** Critic loss (−ℓ), a scalar tensor on the GPU. */
  critic: Tensor;
  /** Segmentor loss (ℓ + λ·Dice term). */
  segmentor: Tensor;
  /** Hard Dice of the whole-tumour class (p > 0.5) on this batch. */
  dice: Tensor;
  /** The critic step's non-finite flag (null when unguarded); decode with SeganTrainer.explainFlag. */
  criticFlag: Tensor | null;
  /** The segmentor step's non-finite flag. */
  segmentorFlag: Tensor | null;
}

/** What a guarded step found when it was skipped: which loss, and the first non-finite value. */
export interface SkippedStep {
  which: 'critic' | 'segmentor';
  /** 'loss' or the state-dict name of the parameter whose gradient held a NaN or an infinity. */
  culprit: string;
}

export interface TrainerOptions {
  /** Check for NaN / Inf on the GPU and skip such steps (default true). */
  guard?: boolean;
}

export type SeganOptimizer = Adam | RMSprop;

function makeOptimizer(params: Tensor[], cfg: TrainConfig): SeganOptimizer {
  if (cfg.optimizer === 'adam') return new Adam(params, { lr: cfg.lr, betas: cfg.betas });
  return new RMSprop(params, { lr: cfg.lr });
}

export class SeganTrainer {
  readonly optS: SeganOptimizer;
  readonly optC: SeganOptimizer;
  readonly guard: boolean;
  /** The moving average of S's state (parameters and running statistics), or null without config.ema. */
  readonly average: ParameterAverage | null;
  /** S's state-dict names, in the average's tensor order. */
  readonly averageNames: string[];
  private namesS: string[];
  private namesC: string[];
  constructor(
    readonly model: SeganModel,
    readonly config: TrainConfig,
    opts: TrainerOptions = {},
  ) {
    this.guard = opts.guard ?? true;
    const named = model.S.namedParameters('S.');
    const namedC = model.critics.flatMap((c, k) => c.namedParameters(`C${k}.`));
    this.namesS = named.map(([n]) => n);
    this.namesC = namedC.map(([n]) => n);
    this.optS = makeOptimizer(
      named.map(([, t]) => t),
      config,
    );
    this.optC = makeOptimizer(
      namedC.map(([, t]) => t),
      config,
    );
    const state = model.S.stateDict();
    this.averageNames = [...state.keys()];
    const ema = configEma(config);
    this.average = ema > 0 ? new ParameterAverage([...state.values()], ema) : null;
  }

  /** Free the optimizers' state and the average (the model is its owner's to free). */
  dispose(): void {
    this.optS.dispose();
    this.optC.dispose();
    this.average?.dispose();
  }

  /**
   * Read a step's flag (a sync point): null if the step was taken, else which loss and what was not
   * finite. Slot 0 of a flag is the loss, slot 1 + k the gradient of parameter k.
   */
  async explainFlag(which: SkippedStep['which'], flag: Tensor | null): Promise<SkippedStep | null> {
    if (!flag) return null;
    const slot = await readNonFiniteFlag(flag);
    if (slot === null) return null;
    const names = which === 'critic' ? this.namesC : this.namesS;
    return { which, culprit: slot === 0 ? 'loss' : `gradient of ${names[slot - 1] ?? `parameter ${slot - 1}`}` };
  }

  get engine(): Engine {
    return this.model.engine;
  }

  /**
   * sign · (1/K) Σ_k multiScaleL1 over the K class critics (sign −1: the critics' loss, which they
   * maximise). 1/K and the sign are folded into the L1 terms' scales.
   */
  private adversarial(x: Tensor, p: Tensor, y: Tensor, sign: 1 | -1 = 1): Tensor {
    const { critics } = this.model;
    let total: Tensor | null = null;
    critics.forEach((c, k) => {
      const fake = c.features(maskedBy(x, p, k));
      const real = c.features(maskedBy(x, y, k));
      const l = multiScaleL1(fake, real, this.config.scaleWeights, sign / critics.length);
      total = total ? total.add(l) : l;
    });
    return total!;
  }

  /** The critic step; returns the critic loss (a detached scalar) and the step's flag. */
  stepCritic(x: Tensor, y: Tensor): [Tensor, Tensor | null] {
    const e = this.engine;
    const { S } = this.model;
    return e.tidy(() => {
      for (const c of this.model.critics) c.setRequiresGrad(true);
      const p = e.noGrad(() => S.forward(x));
      const loss = this.adversarial(x, p, y, -1);
      loss.backward();
      // WGAN weight clipping fused into the update kernel; a critic parameter without a gradient
      // (none in SegAN) is clamped on its own. A skipped step clamps nothing (it changes nothing).
      const c = this.config.clamp;
      const idle = this.model.criticParameters().filter((t) => t.grad === null);
      const flag = this.optC.step(
        this.guard ? { skipNonFinite: true, check: [loss], clamp: [-c, c] } : { clamp: [-c, c] },
      );
      this.optC.zeroGrad();
      if (idle.length) clampParameters(idle, -c, c);
      return [loss.detach(), flag];
    });
  }

  /** The segmentor step with frozen critics; returns [loss, hard whole-tumour Dice, flag] (detached). */
  stepSegmentor(x: Tensor, y: Tensor): [Tensor, Tensor, Tensor | null] {
    const e = this.engine;
    const { S } = this.model;
    return e.tidy(() => {
      for (const c of this.model.critics) c.setRequiresGrad(false);
      const p = S.forward(x);
      let loss = this.adversarial(x, p, y);
      if (this.config.lambdaDice > 0) loss = loss.add(mul(diceLoss(p, y), this.config.lambdaDice));
      loss.backward();
      const flag = this.optS.step(this.guard ? { skipNonFinite: true, check: [loss] } : {});
      this.optS.zeroGrad();
      for (const c of this.model.critics) c.setRequiresGrad(true);
      const dice = e.noGrad(() => hardDice(slice(p.detach(), 1, 0, 1), slice(y, 1, 0, 1)));
      return [loss.detach(), dice, flag];
    });
  }

  /** One D step then one G step on the same batch, then the weight average's update. */
  step(x: Tensor, y: Tensor): StepLosses {
    const [critic, criticFlag] = this.stepCritic(x, y);
    const [segmentor, dice, segmentorFlag] = this.stepSegmentor(x, y);
    this.average?.update();
    return { critic, segmentor, dice, criticFlag, segmentorFlag };
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
