// jax-js (`@jax-js/jax`) with its WebGPU backend, on the same Dawn adapter in this process: the second
// peer (issue 5). jax-js asks `navigator.gpu` for an adapter, as in a browser, so it gets the Dawn GPU
// object from ./dawn.ts like TF.js does. jax-js is NCHW with OIHW kernels, like us, so our weights copy
// over unchanged.
//
// jax-js's memory model: every function consumes (dereferences) its array arguments; `a.ref` takes an
// extra reference. The encoder below uses each parameter once and takes `.ref` where a value is reused.
import type * as JAX from '@jax-js/jax';
import { dawnNavigator } from './dawn.ts';

export type Jax = typeof import('@jax-js/jax');
type Arr = JAX.Array;

let loaded: Promise<Jax> | null = null;

/** Load jax-js and make WebGPU (Dawn) its default device; throws if jax-js finds no WebGPU. */
export function loadJax(): Promise<Jax> {
  if (!loaded) {
    loaded = (async () => {
      dawnNavigator();
      const jax = await import('@jax-js/jax');
      const devices = await jax.init('webgpu');
      if (!devices.includes('webgpu')) throw new Error(`jax-js found no WebGPU device (it has: ${devices.join(', ')})`);
      jax.defaultDevice('webgpu');
      return jax;
    })();
  }
  return loaded;
}

/** SegAN's encoder parameters: 4 convs (OIHW), a bias on the first only, batch norm on the last 3. */
export type EncoderParams = { w: Arr[]; b: Arr; gamma: Arr[]; beta: Arr[] };
/** Batch norm running statistics of the last 3 stages (not trained; updated by a training forward). */
export type EncoderStats = { mean: Arr[]; var: Arr[] };

export interface EncoderWeights {
  /** [cout, cin, 4, 4] per stage, flattened. */
  w: { data: Float32Array; shape: number[] }[];
  b: Float32Array;
  gamma: Float32Array[];
  beta: Float32Array[];
}

export function encoderArrays(jax: Jax, wts: EncoderWeights): { params: EncoderParams; stats: EncoderStats } {
  const np = jax.numpy;
  const params: EncoderParams = {
    w: wts.w.map((w) => np.array(w.data).reshape(w.shape)),
    b: np.array(wts.b),
    gamma: wts.gamma.map((g) => np.array(g)),
    beta: wts.beta.map((b) => np.array(b)),
  };
  const stats: EncoderStats = {
    mean: wts.gamma.map((g) => np.zeros([g.length])),
    var: wts.gamma.map((g) => np.ones([g.length])),
  };
  return { params, stats };
}

/**
 * The encoder as a jax function: 4 × [conv 4×4/2 pad 1 → BN (training: batch mean, biased variance;
 * not the first stage) → LeakyReLU], loss = mean of the last feature map. Returns [loss, new running
 * statistics] (momentum 0.1, unbiased variance, as PyTorch / ours / the TF.js peer), so that
 * `grad(f, { hasAux: true })` gives the parameter gradients and the statistics.
 */
export function encoderLoss(jax: Jax, slope = 0.2, eps = 1e-5, momentum = 0.1) {
  const { numpy: np, lax, nn } = jax;
  const channel = (v: Arr) => v.reshape([1, -1, 1, 1]);
  return (p: EncoderParams, x: Arr, s: EncoderStats): [Arr, EncoderStats] => {
    let h = x;
    const mean: Arr[] = [];
    const vars: Arr[] = [];
    for (let i = 0; i < 4; i++) {
      let z = lax.convGeneralDilated(
        h,
        p.w[i],
        [2, 2],
        [
          [1, 1],
          [1, 1],
        ],
      );
      if (i === 0) {
        z = z.add(channel(p.b));
      } else {
        const n = z.shape[0] * z.shape[2] * z.shape[3];
        const mu = np.mean(z.ref, [0, 2, 3], { keepdims: true });
        const d = z.sub(mu.ref);
        const v = np.mean(np.square(d.ref), [0, 2, 3], { keepdims: true });
        // running statistics: outside the gradient
        const muS = lax.stopGradient(mu).reshape([-1]);
        const vS = lax.stopGradient(v.ref).reshape([-1]);
        mean.push(s.mean[i - 1].mul(1 - momentum).add(muS.mul(momentum)));
        vars.push(s.var[i - 1].mul(1 - momentum).add(vS.mul((momentum * n) / (n - 1))));
        z = d
          .div(np.sqrt(v.add(eps)))
          .mul(channel(p.gamma[i - 1]))
          .add(channel(p.beta[i - 1]));
      }
      h = nn.leakyRelu(z, slope);
    }
    return [h.mean(), { mean, var: vars }];
  };
}
