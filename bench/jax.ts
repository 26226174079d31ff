// SegAN's encoder forward + backward (issue 5's second peer): ours beside jax-js (`@jax-js/jax`, WebGPU
// backend) and optionally TF.js (WebGPU backend), all three on the same Dawn adapter in this process.
// The encoder: 4 × [conv 4×4/2 pad 1 → BN (training mode, not the first stage) → LeakyReLU 0.2],
// 3 → 64 → 128 → 256 → 512 channels × width, on N × 3 × S × S; the timed work is the forward, the
// scalar loss mean(out) and the gradients of every encoder parameter (conv weights, the first conv's
// bias, BN γ and β), plus the BN running statistics. All sides start from our Segmentor's weights
// (seed 1). One warm-up run, then the median of `reps` runs, each waiting for the GPU inside the
// timed region (ours: a flush; jax-js: blockUntilReady on every gradient; TF.js: a readback).
//
//   npx tsx bench/jax.ts [--batch 1,8] [--width 0.125] [--size 160] [--reps 3] [--full] [--tfjs]
//                        [--no-jit] [--no-eager] [--check] [--json] [--save]
//     --full    adds width 1 (the paper's model; seconds per run on a CPU adapter)
//     --tfjs    adds TF.js (minutes at full width on a CPU adapter)
//     --check   compares jax-js's gradients with ours first (a small case) and stops on a mismatch
//     --save    writes bench/results/jax-<adapter>.json and the 'jax' section of docs/benchmarks.md
//
// As the 'jax' suite of `npm run bench`: BENCH_JAX_WIDTHS (default 0.125; 0.125,1 adds full width),
// BENCH_BATCHES (1,8), BENCH_SIZE (160), BENCH_TFJS=0 skips TF.js, BENCH_JAX_REPS (3).
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createEngine, mean, type Engine, type Tensor } from '../src/index.ts';
import { Segmentor, DEFAULT_MODEL } from '../src/segan/model.ts';
import { benchFlags } from './options.ts';
import {
  loadJax,
  encoderArrays,
  encoderLoss,
  type EncoderWeights,
  type EncoderParams,
  type EncoderStats,
} from './peers/jax.ts';
import { loadTfjs } from './peers/tfjs.ts';
import { ROOT, commit, slug } from './harness.ts';

export interface EncoderRow {
  batch: number;
  width: number;
  size: number;
  oursMs: number;
  /** jax-js eager (op by op). */
  jaxMs: number | null;
  /** jax-js with jit(grad(f)): one traced, fused program. */
  jaxJitMs: number | null;
  tfjsMs: number | null;
}

export interface EncoderOptions {
  batches: number[];
  widths: number[];
  size: number;
  reps: number;
  eager: boolean;
  jit: boolean;
  tfjs: boolean;
  log?: (s: string) => void;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function timed(reps: number, run: () => Promise<void>): Promise<number> {
  await run(); // warm-up: pipelines, pools, jit traces
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function input(batch: number, size: number): Float32Array {
  return new Float32Array(batch * 3 * size * size).map((_, i) => ((i * 2654435761) % 1000) / 1000);
}

/** Our encoder's forward + mean + backward; returns the loss tensor (the gradients are on the params). */
function oursEncoder(S: Segmentor, x: Tensor): Tensor {
  let h = x;
  S.enc.forEach((conv, i) => {
    const bn = S.encBn[i];
    h = bn ? bn.forward(conv.forward(h), 'leakyRelu', S.config.slope) : conv.forward(h, 'leakyRelu', S.config.slope);
  });
  const loss = mean(h);
  loss.backward();
  return loss;
}

function encoderParams(S: Segmentor): Tensor[] {
  return [
    ...S.enc.flatMap((c) => (c.bias ? [c.weight, c.bias] : [c.weight])),
    ...S.encBn.flatMap((b) => (b ? [b.weight, b.bias] : [])),
  ];
}

async function weightsOf(S: Segmentor): Promise<EncoderWeights> {
  return {
    w: await Promise.all(S.enc.map(async (c) => ({ data: await c.weight.toArray(), shape: [...c.weight.shape] }))),
    b: await S.enc[0].bias!.toArray(),
    gamma: await Promise.all(S.encBn.slice(1).map((b) => b!.weight.toArray())),
    beta: await Promise.all(S.encBn.slice(1).map((b) => b!.bias.toArray())),
  };
}

function segmentor(e: Engine, width: number): Segmentor {
  return new Segmentor(e, { ...DEFAULT_MODEL, width, seed: 1 });
}

/** Our side: the median ms, and the weights for the peers. */
async function timeOurs(
  batch: number,
  width: number,
  size: number,
  reps: number,
): Promise<{ ms: number; weights: EncoderWeights; adapter: string }> {
  const e = await createEngine({ seed: 1 });
  try {
    const S = segmentor(e, width);
    const weights = await weightsOf(S);
    const x = e.tensor(input(batch, size), [batch, 3, size, size]);
    const params = encoderParams(S);
    const ms = await timed(reps, async () => {
      e.tidy(() => void oursEncoder(S, x));
      await e.flush();
      for (const p of params) {
        p.grad?.dispose();
        p.grad = null;
      }
    });
    S.dispose();
    x.dispose();
    return { ms, weights, adapter: e.adapter.description || e.adapter.device };
  } finally {
    await e.close();
  }
}

async function timeJax(
  batch: number,
  size: number,
  weights: EncoderWeights,
  reps: number,
  mode: 'eager' | 'jit',
): Promise<number> {
  const jax = await loadJax();
  const { params, stats: stats0 } = encoderArrays(jax, weights);
  let stats: EncoderStats = stats0;
  const x = jax.numpy.array(input(batch, size)).reshape([batch, 3, size, size]);
  const g = jax.grad(encoderLoss(jax), { hasAux: true });
  const step = mode === 'jit' ? jax.jit(g) : g;
  try {
    return await timed(reps, async () => {
      const [grads, next] = step(jax.tree.ref(params), x.ref, jax.tree.ref(stats)) as [EncoderParams, EncoderStats];
      await jax.blockUntilReady([grads, next]);
      jax.tree.dispose(grads);
      jax.tree.dispose(stats);
      stats = next;
    });
  } finally {
    jax.tree.dispose(params);
    jax.tree.dispose(stats);
    x.dispose();
    if (mode === 'jit') (step as { dispose?: () => void }).dispose?.();
  }
}

async function timeTfjs(batch: number, size: number, weights: EncoderWeights, reps: number): Promise<number> {
  const tf = await loadTfjs();
  type T4 = import('@tensorflow/tfjs').Tensor4D;
  // OIHW → TF.js's HWIO; NCHW input → NHWC
  const w = weights.w.map((v) =>
    tf.variable(
      tf.tidy(() => tf.tensor4d(v.data, v.shape as [number, number, number, number]).transpose([2, 3, 1, 0])),
    ),
  );
  const b = tf.variable(tf.tensor1d(weights.b));
  const gamma = weights.gamma.map((v) => tf.variable(tf.tensor1d(v)));
  const beta = weights.beta.map((v) => tf.variable(tf.tensor1d(v)));
  const rm = weights.gamma.map((v) => tf.variable(tf.zeros([v.length]), false));
  const rv = weights.gamma.map((v) => tf.variable(tf.ones([v.length]), false));
  const x = tf.tidy(() => tf.tensor4d(input(batch, size), [batch, 3, size, size]).transpose([0, 2, 3, 1]) as T4);
  const pad = [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ] as [[number, number], [number, number], [number, number], [number, number]];
  const loss = () => {
    let h = x;
    for (let i = 0; i < 4; i++) {
      let z = tf.conv2d(h, w[i] as unknown as T4, 2, pad);
      if (i === 0) z = z.add(b);
      else {
        const { mean: mu, variance } = tf.moments(z, [0, 1, 2]);
        const n = z.shape[0] * z.shape[1] * z.shape[2];
        tf.tidy(() => {
          rm[i - 1].assign(rm[i - 1].mul(0.9).add(mu.mul(0.1)));
          rv[i - 1].assign(rv[i - 1].mul(0.9).add(variance.mul((0.1 * n) / (n - 1))));
        });
        z = tf.batchNorm(z, mu, variance, beta[i - 1], gamma[i - 1], 1e-5) as T4;
      }
      h = tf.leakyRelu(z, 0.2);
    }
    return tf.mean(h) as import('@tensorflow/tfjs').Scalar;
  };
  const vars = [...w, b, ...gamma, ...beta];
  try {
    return await timed(reps, async () => {
      const { value, grads } = tf.variableGrads(loss, vars);
      // every gradient has been recorded before this readback is; WebGPU's queue is in order
      await grads[w[0].name].slice([0, 0, 0, 0], [1, 1, 1, 1]).data();
      value.dispose();
      tf.dispose(Object.values(grads));
    });
  } finally {
    tf.dispose([...vars, ...rm, ...rv, x]);
  }
}

/** jax-js's gradients against ours on a small case; returns the worst relative error over the params. */
export async function checkGradients(batch = 2, width = 0.125, size = 32): Promise<number> {
  const e = await createEngine({ seed: 1 });
  let ours: Float32Array[];
  let weights: EncoderWeights;
  try {
    const S = segmentor(e, width);
    weights = await weightsOf(S);
    const x = e.tensor(input(batch, size), [batch, 3, size, size]);
    e.tidy(() => void oursEncoder(S, x));
    const params = encoderParams(S);
    ours = await Promise.all(params.map((p) => p.grad!.toArray()));
    S.dispose();
  } finally {
    await e.close();
  }
  const jax = await loadJax();
  const { params, stats } = encoderArrays(jax, weights);
  const x = jax.numpy.array(input(batch, size)).reshape([batch, 3, size, size]);
  const [g, next] = jax.grad(encoderLoss(jax), { hasAux: true })(params, x, stats) as [EncoderParams, EncoderStats];
  const theirs = [g.w[0], g.b, ...g.w.slice(1), ...g.gamma.flatMap((v, i) => [v, g.beta[i]])]; // encoderParams' order
  let worst = 0;
  for (let i = 0; i < ours.length; i++) {
    const t = (await theirs[i].ref.data()) as Float32Array;
    const scale = Math.max(1e-12, ...ours[i].map(Math.abs));
    if (t.length !== ours[i].length)
      throw new Error(`gradient ${i}: jax-js has ${t.length} values, ours ${ours[i].length}`);
    for (let j = 0; j < t.length; j++) worst = Math.max(worst, Math.abs(t[j] - ours[i][j]) / scale);
  }
  jax.tree.dispose([g, next]);
  return worst;
}

export async function encoderComparison(o: EncoderOptions): Promise<{ adapter: string; rows: EncoderRow[] }> {
  const log = o.log ?? (() => undefined);
  const rows: EncoderRow[] = [];
  let adapter = '';
  for (const width of o.widths) {
    for (const batch of o.batches) {
      const ours = await timeOurs(batch, width, o.size, o.reps);
      adapter = ours.adapter;
      log(`batch ${batch}, width ${width}: ours ${ours.ms.toFixed(1)} ms`);
      const row: EncoderRow = {
        batch,
        width,
        size: o.size,
        oursMs: ours.ms,
        jaxMs: null,
        jaxJitMs: null,
        tfjsMs: null,
      };
      if (o.eager) {
        row.jaxMs = await timeJax(batch, o.size, ours.weights, o.reps, 'eager');
        log(`batch ${batch}, width ${width}: jax-js ${row.jaxMs.toFixed(1)} ms`);
      }
      if (o.jit) {
        row.jaxJitMs = await timeJax(batch, o.size, ours.weights, o.reps, 'jit');
        log(`batch ${batch}, width ${width}: jax-js jit ${row.jaxJitMs.toFixed(1)} ms`);
      }
      if (o.tfjs) {
        row.tfjsMs = await timeTfjs(batch, o.size, ours.weights, o.reps);
        log(`batch ${batch}, width ${width}: TF.js ${row.tfjsMs.toFixed(1)} ms`);
      }
      rows.push(row);
    }
  }
  return { adapter, rows };
}

const fmtMs = (v: number | null) =>
  v === null ? '-' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;
const fmtX = (peer: number | null, ours: number) => (peer === null ? '-' : `${(peer / ours).toFixed(2)}×`);
const fmtW = (w: number) => (w === 1 ? '1' : w === 0.125 ? '1/8' : String(w));

export function encoderTable(rows: EncoderRow[]): string {
  return [
    '| batch | width | ours | jax-js | jax-js jit | TF.js | jax-js / ours | jax-js jit / ours | TF.js / ours |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.batch} | ${fmtW(r.width)} | ${fmtMs(r.oursMs)} | ${fmtMs(r.jaxMs)} ` +
        `| ${fmtMs(r.jaxJitMs)} | ${fmtMs(r.tfjsMs)} | ${fmtX(r.jaxMs, r.oursMs)} ` +
        `| ${fmtX(r.jaxJitMs, r.oursMs)} | ${fmtX(r.tfjsMs, r.oursMs)} |`,
    ),
  ].join('\n');
}

/**
 * bench/results/jax-<adapter>.json and docs/benchmarks.md's 'jax' section. Rows of other (batch, width,
 * size) from earlier runs are kept, each with its own commit and date.
 */
export function saveEncoder(adapter: string, rows: EncoderRow[]): string {
  const dir = `${ROOT}bench/results`;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/jax-${slug(adapter)}.json`;
  type Saved = EncoderRow & { commit: string; date: string };
  const key = (r: EncoderRow) => `${r.batch}/${r.width}/${r.size}`;
  const now = { commit: commit(), date: new Date().toISOString() };
  const old: Saved[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')).rows ?? []) : [];
  const merged: Saved[] = [
    ...old.filter((r) => !rows.some((n) => key(n) === key(r))),
    ...rows.map((r) => ({ ...r, ...now })),
  ].sort((a, b) => a.size - b.size || a.width - b.width || a.batch - b.batch);
  const payload = {
    name: 'jax',
    adapter,
    ...now,
    what:
      'SegAN encoder forward + backward (gradients of mean(out) w.r.t. every encoder ' +
      'parameter, BN running statistics updated), N×3×size×size; median ms of the timed runs',
    peers: {
      jax: '@jax-js/jax, webgpu device, op by op',
      jaxJit: '@jax-js/jax, jit(grad(f))',
      tfjs: '@tensorflow/tfjs + tfjs-backend-webgpu',
    },
    rows: merged.map((r) => ({
      ...r,
      jaxRatio: r.jaxMs ? r.jaxMs / r.oursMs : undefined,
      jaxJitRatio: r.jaxJitMs ? r.jaxJitMs / r.oursMs : undefined,
      tfjsRatio: r.tfjsMs ? r.tfjsMs / r.oursMs : undefined,
    })),
  };
  writeFileSync(file, JSON.stringify(payload, null, 2) + '\n');
  const doc = `${ROOT}docs/benchmarks.md`;
  const begin = '<!-- bench:jax:begin -->';
  const end = '<!-- bench:jax:end -->';
  const runs = [...new Set(merged.map((r) => `commit ${r.commit}, ${r.date.slice(0, 10)}`))].join('; ');
  const sizes = [...new Set(merged.map((r) => r.size))].map((v) => `3×${v}×${v}`).join(', ');
  const section =
    `${begin}\nAdapter: ${adapter}; ${runs}. Input ${sizes}; ratios are peer ` +
    `ms / our ms (above 1: we are faster).\n\n${encoderTable(merged)}\n${end}`;
  let text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n';
  if (text.includes(begin) && text.includes(end))
    text = text.slice(0, text.indexOf(begin)) + section + text.slice(text.indexOf(end) + end.length);
  else text += `\n## jax\n\n${section}\n`;
  writeFileSync(doc, text);
  return file;
}

/** The 'jax' suite of `npm run bench`. */
export async function runJaxBench(): Promise<void> {
  const env = (k: string, d: string) => (process.env[k] ?? d).split(',').map(Number);
  const { adapter, rows } = await encoderComparison({
    batches: env('BENCH_BATCHES', '1,8'),
    widths: env('BENCH_JAX_WIDTHS', '0.125'),
    size: Number(process.env.BENCH_SIZE ?? 160),
    reps: Number(process.env.BENCH_JAX_REPS ?? 3),
    eager: true,
    jit: true,
    tfjs: process.env.BENCH_TFJS !== '0',
    log: (s) => console.log(s),
  });
  console.log('\n' + encoderTable(rows) + '\n');
  console.log(`results: ${saveEncoder(adapter, rows)}\n        docs/benchmarks.md (section 'jax')`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const f = await benchFlags({
    name: 'jax.ts',
    summary: "SegAN's encoder forward + backward: ours beside jax-js (eager, jit) and TF.js.",
    options: [
      { name: 'batch', type: 'list', meta: 'B,B', default: '1,8', help: 'batch sizes' },
      { name: 'width', type: 'list', meta: 'W,W', default: '0.125', help: 'model widths' },
      { name: 'size', type: 'int', meta: 'S', min: 16, max: 1024, multipleOf: 16, default: 160, help: 'input size' },
      { name: 'reps', type: 'int', meta: 'N', min: 1, max: 1000, default: 3, help: 'repetitions (median)' },
      { name: 'full', type: 'flag', help: 'add width 1' },
      { name: 'tfjs', type: 'flag', help: 'include TF.js' },
      { name: 'no-jit', type: 'flag', help: 'skip jax-js jit' },
      { name: 'no-eager', type: 'flag', help: 'skip jax-js eager' },
      { name: 'check', type: 'flag', help: 'first compare gradients with jax-js' },
      { name: 'json', type: 'flag', help: 'JSON on stdout' },
      { name: 'save', type: 'flag', help: 'write bench/results and docs/benchmarks.md' },
    ],
  });
  const list = (v: unknown, d: string) =>
    String(v ?? d)
      .split(',')
      .map(Number);
  const widths = list(f.width, '0.125');
  if (f.full && !widths.includes(1)) widths.push(1);
  const log = f.json ? () => undefined : (s: string) => console.error(s);
  if (f.check) {
    const err = await checkGradients();
    log(`gradient check (batch 2, width 1/8, 32×32): worst |jax-js − ours| / max|ours| = ${err.toExponential(2)}`);
    if (!(err < 1e-3)) {
      console.error('jax-js and our gradients disagree');
      process.exit(1);
    }
  }
  const size = Number(f.size ?? 160);
  const { adapter, rows } = await encoderComparison({
    batches: list(f.batch, '1,8'),
    widths,
    size,
    reps: Number(f.reps ?? 3),
    eager: !f['no-eager'],
    jit: !f['no-jit'],
    tfjs: Boolean(f.tfjs),
    log,
  });
  if (f.json) console.log(JSON.stringify({ adapter, rows }));
  else
    console.log(
      `${adapter}\nSegAN encoder forward + backward, 3×${size}×${size}, ` +
        `median of ${Number(f.reps ?? 3)}\n\n${encoderTable(rows)}`,
    );
  if (f.save) log(`results: ${saveEncoder(adapter, rows)}`);
  process.exit(0); // TF.js / jax-js keep their devices (and Dawn's event loop) alive
}
