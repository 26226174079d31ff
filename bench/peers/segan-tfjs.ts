// The peer: the same SegAN (same layers, shapes, initialisation scheme, losses, clamping and optimizer)
// written with TF.js and run by its WebGPU backend on the same Dawn adapter. TF.js is NHWC, so the
// tensors are laid out [N, H, W, C]; the arithmetic is the same.
import type * as TF from '@tensorflow/tfjs';
import type { TrainConfig } from '../../src/segan/config.ts';
import type { loadTfjs } from './tfjs.ts';

type Tf = Awaited<ReturnType<typeof loadTfjs>>;
type T4 = TF.Tensor4D;

interface ConvVar {
  w: TF.Variable; // [k, k, cin, cout]
  b: TF.Variable | null;
}
interface BnVar {
  gamma: TF.Variable;
  beta: TF.Variable;
  mean: TF.Variable;
  variance: TF.Variable;
}

const ch = (base: number, width: number) => Math.max(1, Math.round(base * width));

function convVar(tf: Tf, cin: number, cout: number, k: number, bias: boolean, seed: number): ConvVar {
  const std = Math.sqrt(2 / (k * k * cout));
  return {
    w: tf.variable(tf.randomNormal([k, k, cin, cout], 0, std, 'float32', seed)),
    b: bias ? tf.variable(tf.zeros([cout])) : null,
  };
}

function bnVar(tf: Tf, c: number, seed: number): BnVar {
  return {
    gamma: tf.variable(tf.randomNormal([c], 1, 0.02, 'float32', seed)),
    beta: tf.variable(tf.zeros([c])),
    mean: tf.variable(tf.zeros([c]), false),
    variance: tf.variable(tf.ones([c]), false),
  };
}

/** Training-mode batch norm (batch statistics, biased variance); running stats updated as PyTorch does. */
function batchNorm(tf: Tf, x: T4, bn: BnVar, act: 'relu' | 'leaky' | null, slope: number): T4 {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const n = x.shape[0] * x.shape[1] * x.shape[2];
  tf.tidy(() => {
    bn.mean.assign(bn.mean.mul(0.9).add(mean.mul(0.1))); // assign is not on the gradient tape
    bn.variance.assign(bn.variance.mul(0.9).add(variance.mul((0.1 * n) / (n - 1))));
  });
  const y = tf.batchNorm(x, mean, variance, bn.beta, bn.gamma, 1e-5) as T4;
  return act === 'relu' ? tf.relu(y) : act === 'leaky' ? tf.leakyRelu(y, slope) : y;
}

function conv(tf: Tf, x: T4, c: ConvVar, stride: number, pad: number): T4 {
  const p = [
    [0, 0],
    [pad, pad],
    [pad, pad],
    [0, 0],
  ] as [[number, number], [number, number], [number, number], [number, number]];
  let y = tf.conv2d(x, c.w as unknown as TF.Tensor4D, stride, p);
  if (c.b) y = y.add(c.b);
  return y;
}

export class TfSegan {
  private enc: ConvVar[];
  private encBn: (BnVar | null)[];
  private dec: ConvVar[];
  private decBn: BnVar[];
  private critics: { convs: ConvVar[]; bns: (BnVar | null)[] }[];
  private optS: TF.Optimizer;
  private optC: TF.Optimizer;
  private segVars: TF.Variable[];
  private criticVars: TF.Variable[];

  constructor(
    private tf: Tf,
    private cfg: TrainConfig,
  ) {
    const { inChannels, classes, width, seed } = cfg.model;
    const e = [64, 128, 256, 512].map((c) => ch(c, width));
    let s = seed;
    this.enc = e.map((c, i) => convVar(tf, i === 0 ? inChannels : e[i - 1], c, 4, i === 0, s++));
    this.encBn = e.map((c, i) => (i === 0 ? null : bnVar(tf, c, s++)));
    const outs = [e[2], e[1], e[0]];
    const ins = [e[3], ...outs.map((c) => (cfg.model.skip === 'concat' ? 2 * c : c))];
    this.dec = [
      ...outs.map((c, i) => convVar(tf, ins[i], c, 3, false, s++)),
      convVar(tf, ins[3], classes, 3, true, s++),
    ];
    this.decBn = outs.map((c) => bnVar(tf, c, s++));
    const cc = [64, 128, 256].map((c) => ch(c, width));
    this.critics = Array.from({ length: classes }, (_, k) => {
      let t = seed + 1000 + 100 * k;
      return {
        convs: cc.map((o, i) => convVar(tf, i === 0 ? inChannels : cc[i - 1], o, 4, i === 0, t++)),
        bns: cc.map((o, i) => (i === 0 ? null : bnVar(tf, o, t++))),
      };
    });
    const vars = (cs: ConvVar[], bs: (BnVar | null)[]) => [
      ...cs.flatMap((c) => (c.b ? [c.w, c.b] : [c.w])),
      ...bs.flatMap((b) => (b ? [b.gamma, b.beta] : [])),
    ];
    this.segVars = vars([...this.enc, ...this.dec], [...this.encBn, ...this.decBn]);
    this.criticVars = this.critics.flatMap((c) => vars(c.convs, c.bns));
    const make = () =>
      cfg.optimizer === 'adam'
        ? tf.train.adam(cfg.lr, cfg.betas[0], cfg.betas[1], 1e-8)
        : tf.train.rmsprop(cfg.lr, 0.99, 0, 1e-8);
    this.optS = make();
    this.optC = make();
  }

  segment(x: T4): T4 {
    const { tf, cfg } = this;
    const slope = cfg.model.slope;
    const feats: T4[] = [];
    let h = x;
    this.enc.forEach((c, i) => {
      const bn = this.encBn[i];
      const z = conv(tf, h, c, 2, 1);
      h = bn ? batchNorm(tf, z, bn, 'leaky', slope) : tf.leakyRelu(z, slope);
      feats.push(h);
    });
    for (let i = 0; i < 3; i++) {
      const up = tf.image.resizeBilinear(h, [h.shape[1] * 2, h.shape[2] * 2], false, true);
      h = batchNorm(tf, conv(tf, up, this.dec[i], 1, 1), this.decBn[i], 'relu', slope);
      const skip = feats[2 - i];
      h = cfg.model.skip === 'add' ? h.add(skip) : tf.concat([skip, h], 3);
    }
    const up = tf.image.resizeBilinear(h, [h.shape[1] * 2, h.shape[2] * 2], false, true);
    return tf.sigmoid(conv(tf, up, this.dec[3], 1, 1));
  }

  private features(k: number, masked: T4): T4[] {
    const { tf } = this;
    const c = this.critics[k];
    const out = [masked];
    let h = masked;
    c.convs.forEach((cv, i) => {
      const bn = c.bns[i];
      const z = conv(tf, h, cv, 2, 1);
      h = bn ? batchNorm(tf, z, bn, 'leaky', this.cfg.model.slope) : tf.leakyRelu(z, this.cfg.model.slope);
      out.push(h);
    });
    return out;
  }

  private adversarial(x: T4, p: T4, y: T4): TF.Scalar {
    const { tf } = this;
    const K = this.critics.length;
    let total: TF.Scalar = tf.scalar(0);
    for (let k = 0; k < K; k++) {
      const pk = K === 1 ? p : (p.slice([0, 0, 0, k], [-1, -1, -1, 1]) as T4);
      const yk = K === 1 ? y : (y.slice([0, 0, 0, k], [-1, -1, -1, 1]) as T4);
      const fa = this.features(k, x.mul(pk));
      const fb = this.features(k, x.mul(yk));
      fa.forEach((a, i) => {
        total = total.add(tf.mean(tf.abs(a.sub(fb[i]))).mul(this.cfg.scaleWeights[i] / fa.length));
      });
    }
    return total.div(K);
  }

  private dice(p: T4, y: T4): TF.Scalar {
    const { tf } = this;
    const inter = tf.sum(p.mul(y), [1, 2]);
    const den = tf
      .sum(p.square(), [1, 2])
      .add(tf.sum(y.square(), [1, 2]))
      .add(1e-7);
    return tf.scalar(1).sub(tf.mean(inter.mul(2).div(den)));
  }

  /** The critic step (clamping included); resolves when the GPU has finished. */
  async stepD(x: T4, y: T4): Promise<number> {
    const { tf, cfg } = this;
    const p = tf.tidy(() => this.segment(x)); // computed outside the critic's tape: a constant there
    const lossD = this.optC.minimize(() => this.adversarial(x, p, y).neg() as TF.Scalar, true, this.criticVars)!;
    p.dispose();
    tf.tidy(() => {
      for (const v of this.criticVars) v.assign(tf.clipByValue(v, -cfg.clamp, cfg.clamp));
    });
    const v = (await lossD.data())[0];
    lossD.dispose();
    return v;
  }

  /** The segmentor step (critics not updated); resolves when the GPU has finished. */
  async stepG(x: T4, y: T4): Promise<number> {
    const { cfg } = this;
    const lossG = this.optS.minimize(
      () => {
        const p = this.segment(x);
        let l = this.adversarial(x, p, y);
        if (cfg.lambdaDice > 0) l = l.add(this.dice(p, y).mul(cfg.lambdaDice));
        return l as TF.Scalar;
      },
      true,
      this.segVars,
    )!;
    const v = (await lossG.data())[0];
    lossG.dispose();
    return v;
  }

  /** One D step then one G step. */
  async step(x: T4, y: T4): Promise<[number, number]> {
    return [await this.stepD(x, y), await this.stepG(x, y)];
  }

  /** Segmentor forward (training-mode batch norm, as in a step); waits for the GPU. */
  async forwardS(x: T4): Promise<void> {
    const p = this.tf.tidy(() => this.segment(x).slice([0, 0, 0, 0], [1, 1, 1, 1]));
    await p.data();
    p.dispose();
  }

  /** One critic's forward over a masked batch; waits for the GPU. */
  async forwardC(x: T4, y: T4): Promise<void> {
    const f = this.tf.tidy(() => {
      const yk = y.shape[3] === 1 ? y : (y.slice([0, 0, 0, 0], [-1, -1, -1, 1]) as T4);
      const fs = this.features(0, x.mul(yk) as T4);
      return fs[fs.length - 1].slice([0, 0, 0, 0], [1, 1, 1, 1]);
    });
    await f.data();
    f.dispose();
  }

  /** Encoder forward + backward only (for comparing with other peers' published numbers). */
  async encoderStep(x: T4): Promise<void> {
    const { tf } = this;
    const g = tf.grads((xx: TF.Tensor) => {
      let h = xx as T4;
      this.enc.forEach((c, i) => {
        const bn = this.encBn[i];
        const z = conv(tf, h, c, 2, 1);
        h = bn ? batchNorm(tf, z, bn, 'leaky', 0.2) : tf.leakyRelu(z, 0.2);
      });
      return h.sum();
    });
    const [dx] = g([x]);
    await dx.data();
    dx.dispose();
  }

  dispose(): void {
    for (const v of [...this.segVars, ...this.criticVars]) v.dispose();
  }
}
