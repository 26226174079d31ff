// SegAN's networks as in the paper's BRATS model (Xue et al. 2017, Fig. 1; see docs/segan.md):
//   Segmentor S: 4 × [conv 4×4/2 → BN (not the first) → LeakyReLU 0.2]   (64, 128, 256, 512)·width
//                3 × [bilinear ×2 → conv 3×3 → BN → ReLU]                 (256, 128, 64)·width
//                bilinear ×2 → conv 3×3 → sigmoid                          (K classes)
//                U-Net skips between matching encoder / decoder stages ('add' or 'concat').
//   Critic C:    3 × [conv 4×4/2 → BN (not the first) → LeakyReLU 0.2]   (64, 128, 256)·width
//                features = [masked input, f1, f2, f3]
// SeganModel: the segmentor and one critic per class (the paper's S3-3C; S1-1C for one class).
// Bias only where no batch norm follows. BN and the activation run as one fused kernel.
import { cat, interpolate, sigmoid } from '../ops/index.ts';
import type { Engine } from '../tensor/engine.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Module } from '../nn/module.ts';
import { BatchNorm2d, Conv2d } from '../nn/layers.ts';
import type { TrainConfig } from './config.ts';

export type SkipMode = 'add' | 'concat';

export interface ModelConfig {
  /** Input channels (modalities), 3 for T1c, T2, FLAIR. */
  inChannels: number;
  /** Output classes: 1 (whole tumour) or 3 (whole, core, enhancing). */
  classes: number;
  /** Channel multiplier: 1 is the paper's model; 0.25 a small one for CPU demos and tests. */
  width: number;
  skip: SkipMode;
  slope: number;
  seed: number;
}

export const DEFAULT_MODEL: ModelConfig = { inChannels: 3, classes: 3, width: 1, skip: 'add', slope: 0.2, seed: 666 };

const ch = (base: number, width: number) => Math.max(1, Math.round(base * width));

export class Segmentor extends Module {
  readonly enc: Conv2d[];
  readonly encBn: (BatchNorm2d | null)[];
  readonly dec: Conv2d[];
  readonly decBn: BatchNorm2d[];
  constructor(
    engine: Engine,
    readonly config: ModelConfig,
  ) {
    super(engine);
    const { inChannels, classes, width, skip, seed } = config;
    const e = [64, 128, 256, 512].map((c) => ch(c, width));
    let s = seed;
    this.enc = e.map((c, i) =>
      this.child(
        `enc${i + 1}`,
        new Conv2d(engine, i === 0 ? inChannels : e[i - 1], c, 4, { stride: 2, padding: 1, bias: i === 0, seed: s++ }),
      ),
    );
    this.encBn = e.map((c, i) => (i === 0 ? null : this.child(`enc${i + 1}_bn`, new BatchNorm2d(engine, c, s++))));
    // decoder: inputs e4 (512) → 256 (+ skip e3) → 128 (+ skip e2) → 64 (+ skip e1) → K
    const outs = [e[2], e[1], e[0]];
    const ins = [e[3], ...outs.map((c) => (skip === 'concat' ? 2 * c : c))];
    this.dec = [
      ...outs.map((c, i) =>
        this.child(`dec${i + 1}`, new Conv2d(engine, ins[i], c, 3, { padding: 1, bias: false, seed: s++ })),
      ),
      this.child('dec4', new Conv2d(engine, ins[3], classes, 3, { padding: 1, bias: true, seed: s++ })),
    ];
    this.decBn = outs.map((c, i) => this.child(`dec${i + 1}_bn`, new BatchNorm2d(engine, c, s++)));
  }

  /** x: [N, M, H, W] (H, W multiples of 16) → class probabilities [N, K, H, W]. */
  forward(x: Tensor): Tensor {
    const slope = this.config.slope;
    const feats: Tensor[] = [];
    let h = x;
    this.enc.forEach((conv, i) => {
      const bn = this.encBn[i];
      h = bn ? bn.forward(conv.forward(h), 'leakyRelu', slope) : conv.forward(h, 'leakyRelu', slope);
      feats.push(h);
    });
    for (let i = 0; i < 3; i++) {
      const up = interpolate(h, { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
      h = this.decBn[i].forward(this.dec[i].forward(up), 'relu');
      const skip = feats[2 - i];
      h = this.config.skip === 'add' ? h.add(skip) : cat([skip, h], 1);
    }
    const up = interpolate(h, { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
    return sigmoid(this.dec[3].forward(up));
  }
}

export class Critic extends Module {
  readonly convs: Conv2d[];
  readonly bns: (BatchNorm2d | null)[];
  constructor(
    engine: Engine,
    readonly config: ModelConfig,
    seedOffset = 1000,
  ) {
    super(engine);
    const { inChannels, width } = config;
    const c = [64, 128, 256].map((v) => ch(v, width));
    let s = config.seed + seedOffset;
    this.convs = c.map((o, i) =>
      this.child(
        `conv${i + 1}`,
        new Conv2d(engine, i === 0 ? inChannels : c[i - 1], o, 4, { stride: 2, padding: 1, bias: i === 0, seed: s++ }),
      ),
    );
    this.bns = c.map((o, i) => (i === 0 ? null : this.child(`conv${i + 1}_bn`, new BatchNorm2d(engine, o, s++))));
  }

  /** The multi-scale features of a masked image: [input, f1, f2, f3]. */
  features(masked: Tensor): Tensor[] {
    const out = [masked];
    let h = masked;
    this.convs.forEach((conv, i) => {
      const bn = this.bns[i];
      h = bn
        ? bn.forward(conv.forward(h), 'leakyRelu', this.config.slope)
        : conv.forward(h, 'leakyRelu', this.config.slope);
      out.push(h);
    });
    return out;
  }
}

/** The segmentor and one critic per class, with the checkpoint names S.* and C<k>.*. */
export class SeganModel {
  readonly S: Segmentor;
  readonly critics: Critic[];
  constructor(
    readonly engine: Engine,
    readonly config: TrainConfig,
  ) {
    this.S = new Segmentor(engine, config.model);
    this.critics = Array.from(
      { length: config.model.classes },
      (_, k) => new Critic(engine, config.model, 1000 + 100 * k),
    );
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
