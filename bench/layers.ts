// SegAN's layer suites (issue 3): conv forward / dX / dW, batch norm forward + backward and bilinear
// interpolation forward + backward at SegAN's shapes (batch 8, 3×160×160 input), ours beside TF.js's
// WebGPU backend on the same Dawn adapter. Slow kernels on a CPU adapter take seconds per call, so
// benny samples each case only a few times (BENCH_SAMPLES).
import { createEngine, conv2d, interpolate, batchNorm2d, type Engine, type Tensor } from '../src/index.ts';
import { loadTfjs } from './peers/tfjs.ts';
import { time, save, table, type Row } from './harness.ts';

const SLOW = { minSamples: Number(process.env.BENCH_SAMPLES ?? 2), maxTime: 0.5 };

interface ConvLayer {
  name: string;
  cin: number;
  cout: number;
  size: number; // input H = W
  k: number;
  stride: number;
  pad: number;
}

export const ENCODER: ConvLayer[] = [
  { name: 'enc1 3→64 4×4/2', cin: 3, cout: 64, size: 160, k: 4, stride: 2, pad: 1 },
  { name: 'enc2 64→128 4×4/2', cin: 64, cout: 128, size: 80, k: 4, stride: 2, pad: 1 },
  { name: 'enc3 128→256 4×4/2', cin: 128, cout: 256, size: 40, k: 4, stride: 2, pad: 1 },
  { name: 'enc4 256→512 4×4/2', cin: 256, cout: 512, size: 20, k: 4, stride: 2, pad: 1 },
];
export const DECODER: ConvLayer[] = [
  { name: 'dec1 512→256 3×3', cin: 512, cout: 256, size: 20, k: 3, stride: 1, pad: 1 },
  { name: 'dec2 256→128 3×3', cin: 256, cout: 128, size: 40, k: 3, stride: 1, pad: 1 },
  { name: 'dec3 128→64 3×3', cin: 128, cout: 64, size: 80, k: 3, stride: 1, pad: 1 },
];

function ours(e: Engine, fn: () => void): () => Promise<void> {
  return async () => {
    e.tidy(fn);
    await e.flush();
  };
}

export async function layerSuites(opts: { tfjs?: boolean; batch?: number; only?: RegExp } = {}): Promise<Row[]> {
  const B = opts.batch ?? 8;
  const e = await createEngine({ seed: 1 });
  const tf = opts.tfjs === false ? null : await loadTfjs();
  const rows: Row[] = [];
  try {
    for (const L of [...ENCODER, ...DECODER]) {
      if (opts.only && !opts.only.test(L.name)) continue;
      const os = Math.floor((L.size + 2 * L.pad - L.k) / L.stride) + 1;
      const flops = 2 * B * L.cout * os * os * L.cin * L.k * L.k;
      const x = e.randn([B, L.cin, L.size, L.size], { seed: 1 });
      const w = e.randn([L.cout, L.cin, L.k, L.k], { seed: 2, std: 0.05 });
      const dy = e.randn([B, L.cout, os, os], { seed: 3 });
      const conv = (xx: Tensor, ww: Tensor) => conv2d(xx, ww, null, { stride: L.stride, padding: L.pad });
      const r = await time(
        `${L.name} ours`,
        {
          fwd: ours(e, () => void conv(x, w)),
          'fwd+dx': ours(e, () => {
            const xx = x.detach();
            xx.requiresGrad = true;
            conv(xx, w).backward(dy);
            xx.grad?.dispose();
          }),
          'fwd+dw': ours(e, () => {
            const ww = w.detach();
            ww.requiresGrad = true;
            conv(x, ww).backward(dy);
            ww.grad?.dispose();
          }),
        },
        SLOW,
      );
      let peer: Record<string, number> = {};
      if (tf) {
        const tx = tf.randomNormal([B, L.size, L.size, L.cin]) as import('@tensorflow/tfjs').Tensor4D;
        const tw = tf.randomNormal([L.k, L.k, L.cin, L.cout]) as import('@tensorflow/tfjs').Tensor4D;
        const tdy = tf.randomNormal([B, os, os, L.cout]) as import('@tensorflow/tfjs').Tensor4D;
        const pad = [
          [0, 0],
          [L.pad, L.pad],
          [L.pad, L.pad],
          [0, 0],
        ] as [[number, number], [number, number], [number, number], [number, number]];
        const tfrun = (fn: () => import('@tensorflow/tfjs').Tensor) => async () => {
          const t = tf.tidy(fn);
          await t.data();
          t.dispose();
        };
        peer = await time(
          `${L.name} tfjs`,
          {
            fwd: tfrun(() => tf.conv2d(tx, tw, L.stride, pad).slice([0, 0, 0, 0], [1, 1, 1, 1])),
            dx: tfrun(() =>
              tf.conv2dTranspose(tdy, tw, [B, L.size, L.size, L.cin], L.stride, pad).slice([0, 0, 0, 0], [1, 1, 1, 1]),
            ),
            dw: tfrun(() =>
              tf
                .grad((ww: import('@tensorflow/tfjs').Tensor) =>
                  tf
                    .conv2d(tx, ww as import('@tensorflow/tfjs').Tensor4D, L.stride, pad)
                    .mul(tdy)
                    .sum(),
                )(tw)
                .slice([0, 0, 0, 0], [1, 1, 1, 1]),
            ),
          },
          SLOW,
        );
        for (const t of [tx, tw, tdy]) t.dispose();
      }
      // TF.js's dw case includes its forward and the product with dy; subtract its forward.
      rows.push({ suite: 'conv', case: `${L.name} forward`, ms: r.fwd, flops, peerMs: peer.fwd });
      rows.push({ suite: 'conv', case: `${L.name} dX`, ms: r['fwd+dx'] - r.fwd, flops, peerMs: peer.dx });
      rows.push({
        suite: 'conv',
        case: `${L.name} dW`,
        ms: r['fwd+dw'] - r.fwd,
        flops,
        peerMs: peer.dw !== undefined ? peer.dw - peer.fwd : undefined,
      });
      for (const t of [x, w, dy]) t.dispose();
    }
    // bilinear ×2 upsampling forward and backward at the decoder's inputs
    for (const [c, s] of [
      [512, 10],
      [256, 20],
      [128, 40],
      [64, 80],
    ] as const) {
      if (opts.only && !opts.only.test(`interp ${c}`)) continue;
      const x = e.randn([B, c, s, s], { seed: 4 });
      const gy = e.randn([B, c, 2 * s, 2 * s], { seed: 5 });
      const r = await time(
        `interpolate ${c}@${s}`,
        {
          fwd: ours(e, () => void interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: false })),
          'fwd+bwd': ours(e, () => {
            const xx = x.detach();
            xx.requiresGrad = true;
            interpolate(xx, { scaleFactor: 2, mode: 'bilinear', alignCorners: false }).backward(gy);
            xx.grad?.dispose();
          }),
        },
        SLOW,
      );
      let peer: Record<string, number> = {};
      if (tf) {
        const tx = tf.randomNormal([B, s, s, c]) as import('@tensorflow/tfjs').Tensor4D;
        const tgy = tf.randomNormal([B, 2 * s, 2 * s, c]) as import('@tensorflow/tfjs').Tensor4D;
        const tfrun = (fn: () => import('@tensorflow/tfjs').Tensor) => async () => {
          const t = tf.tidy(fn);
          await t.data();
          t.dispose();
        };
        peer = await time(
          `interpolate ${c}@${s} tfjs`,
          {
            fwd: tfrun(() => tf.image.resizeBilinear(tx, [2 * s, 2 * s]).slice([0, 0, 0, 0], [1, 1, 1, 1])),
            'fwd+bwd': tfrun(() =>
              tf
                .grad((xx: import('@tensorflow/tfjs').Tensor) =>
                  tf.image
                    .resizeBilinear(xx as import('@tensorflow/tfjs').Tensor4D, [2 * s, 2 * s])
                    .mul(tgy)
                    .sum(),
                )(tx)
                .slice([0, 0, 0, 0], [1, 1, 1, 1]),
            ),
          },
          SLOW,
        );
        tx.dispose();
        tgy.dispose();
      }
      const bytes = 4 * (x.size + gy.size);
      rows.push({
        suite: 'interpolate',
        case: `bilinear ×2 [${B}, ${c}, ${s}, ${s}] forward`,
        ms: r.fwd,
        bytes,
        peerMs: peer.fwd,
      });
      rows.push({
        suite: 'interpolate',
        case: `bilinear ×2 [${B}, ${c}, ${s}, ${s}] forward+backward`,
        ms: r['fwd+bwd'],
        bytes: 2 * bytes,
        peerMs: peer['fwd+bwd'],
      });
      x.dispose();
      gy.dispose();
    }
    return rows;
  } finally {
    await e.close();
  }
}

/** Batch norm forward + backward (training mode, fused LeakyReLU as in SegAN) at each encoder stage. */
export async function batchNormRows(
  e: Engine,
  tf: Awaited<ReturnType<typeof loadTfjs>> | null,
  B: number,
  only?: RegExp,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [c, s] of [
    [64, 80],
    [128, 40],
    [256, 20],
    [512, 10],
  ] as const) {
    const name = `bn ${c}@${s}`;
    if (only && !only.test(name)) continue;
    const x = e.randn([B, c, s, s], { seed: 11 });
    const gy = e.randn([B, c, s, s], { seed: 12 });
    const gamma = e.ones([c]);
    const beta = e.zeros([c]);
    const rm = e.zeros([c]);
    const rv = e.ones([c]);
    const r = await time(
      `${name} ours`,
      {
        'fwd+bwd': ours(e, () => {
          const xx = x.detach();
          xx.requiresGrad = true;
          batchNorm2d(xx, rm, rv, gamma, beta, { training: true, activation: 'leakyRelu', slope: 0.2 }).backward(gy);
          xx.grad?.dispose();
        }),
      },
      SLOW,
    );
    let peer: Record<string, number> = {};
    if (tf) {
      const tx = tf.randomNormal([B, s, s, c]) as import('@tensorflow/tfjs').Tensor4D;
      const tgy = tf.randomNormal([B, s, s, c]) as import('@tensorflow/tfjs').Tensor4D;
      const g = tf.ones([c]);
      const bb = tf.zeros([c]);
      peer = await time(
        `${name} tfjs`,
        {
          'fwd+bwd': async () => {
            const t = tf.tidy(() =>
              tf
                .grad((xx: import('@tensorflow/tfjs').Tensor) => {
                  const { mean, variance } = tf.moments(xx, [0, 1, 2]);
                  return tf
                    .leakyRelu(
                      tf.batchNorm(xx as import('@tensorflow/tfjs').Tensor4D, mean, variance, bb, g, 1e-5),
                      0.2,
                    )
                    .mul(tgy)
                    .sum();
                })(tx)
                .slice([0, 0, 0, 0], [1, 1, 1, 1]),
            );
            await t.data();
            t.dispose();
          },
        },
        SLOW,
      );
      for (const t of [tx, tgy, g, bb]) t.dispose();
    }
    rows.push({
      suite: 'batchnorm',
      case: `forward + backward, training, fused LeakyReLU, [${B}, ${c}, ${s}, ${s}]`,
      ms: r['fwd+bwd'],
      bytes: 4 * x.size * 6,
      peerMs: peer['fwd+bwd'],
    });
    for (const t of [x, gy, gamma, beta, rm, rv]) t.dispose();
  }
  return rows;
}

export async function runBatchNormBench(): Promise<void> {
  const probe = await createEngine();
  const adapter = probe.adapter.description || probe.adapter.device;
  const tf = process.env.BENCH_TFJS !== '0' ? await loadTfjs() : null;
  const rows = await batchNormRows(probe, tf, Number(process.env.BENCH_BATCH ?? 8));
  await probe.close();
  console.log('\n' + table(rows) + '\n');
  const file = save('batchnorm', adapter, rows);
  console.log(`results: ${file}\n        docs/benchmarks.md (section 'batchnorm')`);
}

export async function runLayerBench(): Promise<void> {
  const probe = await createEngine();
  const adapter = probe.adapter.description || probe.adapter.device;
  await probe.close();
  const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
  const rows = await layerSuites({
    tfjs: process.env.BENCH_TFJS !== '0',
    batch: Number(process.env.BENCH_BATCH ?? 8),
    only,
  });
  console.log('\n' + table(rows) + '\n');
  const file = save('layers', adapter, rows);
  console.log(`results: ${file}\n        docs/benchmarks.md (section 'layers')`);
}
