// The one-shot GPU check (scripts/gpu-check.sh runs it): on whatever adapter Dawn gives, in one go,
//   1. correctness of every kernel family the engine chose (conv2d forward / dX / dW, matmul, batch
//      norm, reductions, resize) against float64 CPU references;
//   2. speed: matmul N³ and every SegAN conv layer's forward / dX / dW in GFLOP/s (GPU timestamps when
//      the adapter has 'timestamp-query', else wall clock), the D+G step in ms at two batch sizes;
//   3. and, when python3 with PyTorch is there, the same D+G step in PyTorch eager fp32 (TF32 off and
//      on, on CUDA; on the CPU otherwise) for the ratio.
// Writes OUT/gpu-check.json; prints a log. `--quick`: small shapes, a couple of minutes on lavapipe.
//   tsx bench/gpu-check.ts --out DIR [--quick] [--no-torch]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  batchNorm2d,
  conv2d,
  createEngine,
  interpolate,
  matmul,
  max,
  sum,
  type Engine,
  type Tensor,
} from '../src/index.ts';
import { describePolicy } from '../src/runtime/policy.ts';
import { tileShort } from '../src/runtime/tuner.ts';
import { makeConfig } from '../src/segan/config.ts';
import { SeganModel } from '../src/segan/model.ts';
import { SeganTrainer } from '../src/segan/trainer.ts';
import { arr, matmulRef, reduceRef, type Arr } from '../test/helpers/reference.ts';
import { conv2dGradRef, conv2dRef } from '../test/helpers/conv-reference.ts';
import { benchFlags } from './options.ts';
import { findTorchPython, torchStep } from './peers/torch.ts';

const f = await benchFlags({
  name: 'gpu-check.ts',
  summary: 'Correctness and speed of every kernel family on this adapter, beside PyTorch when it is there.',
  options: [
    { name: 'out', type: 'string', meta: 'DIR', path: 'out', required: true, help: 'where gpu-check.json goes' },
    { name: 'quick', type: 'flag', help: 'small shapes (a couple of minutes on a CPU adapter)' },
    { name: 'no-torch', type: 'flag', help: 'skip the PyTorch peer' },
  ],
});
const quick = !!f.quick;
const out = String(f.out);
mkdirSync(out, { recursive: true });
const log = (s: string) => console.log(s);
const t0 = performance.now();

// ---- float64 references the tests do not already have ------------------------------------------

/** Batch norm in training mode (biased variance), with weight and bias, no activation. */
function batchNormRef(x: Arr, weight: Float64Array, bias: Float64Array, eps: number): Arr {
  const [N, C, H, W] = x.shape;
  const y = new Float64Array(x.data.length);
  const n = N * H * W;
  for (let c = 0; c < C; c++) {
    let m = 0;
    for (let b = 0; b < N; b++) for (let i = 0; i < H * W; i++) m += x.data[(b * C + c) * H * W + i];
    m /= n;
    let v = 0;
    for (let b = 0; b < N; b++) for (let i = 0; i < H * W; i++) v += (x.data[(b * C + c) * H * W + i] - m) ** 2;
    v /= n;
    for (let b = 0; b < N; b++)
      for (let i = 0; i < H * W; i++) {
        const k = (b * C + c) * H * W + i;
        y[k] = ((x.data[k] - m) / Math.sqrt(v + eps)) * weight[c] + bias[c];
      }
  }
  return arr(y, x.shape);
}

/** Bilinear resize, align_corners false (PyTorch), to [oh, ow]. */
function resizeRef(x: Arr, oh: number, ow: number): Arr {
  const [N, C, H, W] = x.shape;
  const y = new Float64Array(N * C * oh * ow);
  const src = (o: number, inn: number, out: number) => Math.max(0, ((o + 0.5) * inn) / out - 0.5);
  for (let pl = 0; pl < N * C; pl++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const sy = src(oy, H, oh);
        const sx = src(ox, W, ow);
        const y0 = Math.min(Math.floor(sy), H - 1);
        const x0 = Math.min(Math.floor(sx), W - 1);
        const y1 = Math.min(y0 + 1, H - 1);
        const x1 = Math.min(x0 + 1, W - 1);
        const ly = sy - y0;
        const lx = sx - x0;
        const at = (yy: number, xx: number) => x.data[(pl * H + yy) * W + xx];
        y[(pl * oh + oy) * ow + ox] =
          (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
      }
  return arr(y, [N, C, oh, ow]);
}

// ---- helpers ------------------------------------------------------------------------------------

let seed = 100;
async function randomPair(e: Engine, shape: number[], requiresGrad = false): Promise<[Tensor, Arr]> {
  const t = e.rand(shape, { seed: seed++, low: -1, high: 1, requiresGrad });
  return [t, arr(await t.toArray(), shape)];
}

/** max |got − want| / max(|want|, 1e-30): one number per check. */
function relErr(got: ArrayLike<number>, want: Arr): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.data.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want.data[i]));
    den = Math.max(den, Math.abs(want.data[i]));
  }
  return num / Math.max(den, 1e-30);
}

interface Check {
  family: string;
  case: string;
  relErr: number;
  tol: number;
  ok: boolean;
}

// ---- 1. correctness -----------------------------------------------------------------------------

async function correctness(e: Engine): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (family: string, c: string, err: number, tol = 2e-5) => {
    checks.push({ family, case: c, relErr: err, tol, ok: err <= tol });
    log(
      `  ${err <= tol ? 'ok  ' : 'FAIL'} ${family.padEnd(16)} ${c.padEnd(40)} ` +
        `rel. error ${err.toExponential(2)} (≤ ${tol})`,
    );
  };
  const convCases: [number[], number[], number, number][] = [
    [[2, 5, 13, 11], [7, 5, 4, 4], 2, 1], // odd sizes, SegAN's 4×4/2
    [[2, 6, 9, 10], [9, 6, 3, 3], 1, 1], // SegAN's decoder 3×3
    [[1, 3, 8, 8], [3, 3, 3, 3], 1, 1], // Cout = 3 (the last layer)
    ...(quick ? [] : ([[[2, 64, 40, 40], [128, 64, 4, 4], 2, 1]] as [number[], number[], number, number][])),
  ];
  /** conv2d's forward, dX and dW on random inputs against float64. */
  const checkConv = async ([xs, ws, s, p]: [number[], number[], number, number], suffix = '') => {
    const [x, xr] = await randomPair(e, xs, true);
    const [w, wr] = await randomPair(e, ws, true);
    const y = conv2d(x, w, null, { stride: s, padding: p });
    const [g, gr] = await randomPair(e, y.shape);
    const name = `${xs.join('×')} ⊛ ${ws.join('×')} /${s}${suffix}`;
    add(
      'conv2d.forward',
      name,
      relErr(await y.toArray(), conv2dRef(xr, wr, null, { stride: [s, s], padding: [p, p, p, p], dilation: [1, 1] })),
    );
    y.backward(g);
    const [dxr, dwr] = conv2dGradRef(xr, wr, gr, s, p);
    add('conv2d.dX', name, relErr(await x.grad!.toArray(), dxr));
    add('conv2d.dW', name, relErr(await w.grad!.toArray(), dwr));
    for (const t of [x, w, y, g, x.grad!, w.grad!]) t.dispose();
  };
  for (const c of convCases) await checkConv(c);
  const mm: [number[], number[]][] = [
    [
      [37, 53],
      [53, 29],
    ],
    [
      [3, 17, 33],
      [33, 21],
    ],
    [
      [64, 64],
      [64, 200],
    ],
    ...(quick
      ? []
      : ([
          [
            [512, 512],
            [512, 512],
          ],
        ] as [number[], number[]][])),
  ];
  const checkMatmul = async ([as, bs]: [number[], number[]], suffix = '') => {
    const [a, ar] = await randomPair(e, as);
    const [b, br] = await randomPair(e, bs);
    const c = matmul(a, b);
    add('matmul', `${as.join('×')} @ ${bs.join('×')}${suffix}`, relErr(await c.toArray(), matmulRef(ar, br)));
    for (const t of [a, b, c]) t.dispose();
  };
  for (const m of mm) await checkMatmul(m);
  // The tiled kernels (hardware plan): every tile the tuner may choose, on this adapter.
  const policy = e.runtime.policy;
  if (policy.conv.family === 'tiled' || policy.matmul === 'workgroup') {
    for (const tile of policy.tiles) {
      e.runtime.policy = { ...policy, tiles: [tile] };
      try {
        if (policy.conv.family === 'tiled')
          for (const c of convCases.slice(0, 2)) await checkConv(c, ` tile ${tileShort(tile)}`);
        if (policy.matmul === 'workgroup') await checkMatmul(mm[1], ` tile ${tileShort(tile)}`);
      } finally {
        e.runtime.policy = policy;
      }
    }
  }
  for (const shape of [
    [4, 6, 9, 7],
    [8, 16, 20, 20],
  ]) {
    const [x, xr] = await randomPair(e, shape);
    const wv = Float64Array.from({ length: shape[1] }, (_, i) => 0.5 + i / shape[1]);
    const bv = Float64Array.from({ length: shape[1] }, (_, i) => i / 10 - 0.3);
    const weight = e.tensor(Float32Array.from(wv), [shape[1]]);
    const bias = e.tensor(Float32Array.from(bv), [shape[1]]);
    const y = batchNorm2d(x, null, null, weight, bias, { training: true, eps: 1e-5 });
    add(
      'batchnorm',
      `training ${shape.join('×')}`,
      relErr(
        await y.toArray(),
        batchNormRef(xr, Float64Array.from(new Float32Array(wv)), Float64Array.from(new Float32Array(bv)), 1e-5),
      ),
      1e-4,
    );
    for (const t of [x, weight, bias, y]) t.dispose();
  }
  const red: [string, number[], number[] | undefined, 'sum' | 'max'][] = [
    ['sum', [7, 300, 33], [1], 'sum'],
    ['sum', [quick ? 1 << 16 : 1 << 22], undefined, 'sum'],
    ['max', [64, 1000], [1], 'max'],
    ['sum', [8, 16, 20, 20], [0, 2, 3], 'sum'],
  ];
  for (const [, shape, axes, kind] of red) {
    const [x, xr] = await randomPair(e, shape);
    const y = kind === 'sum' ? sum(x, axes) : max(x, axes);
    add(
      'reduce',
      `${kind} of ${shape.join('×')} over ${axes ? axes.join(',') : 'all'}`,
      relErr(await y.toArray(), reduceRef(kind, xr, axes, false)),
      kind === 'sum' ? 1e-5 : 0,
    );
    for (const t of [x, y]) t.dispose();
  }
  for (const [shape, size] of [
    [
      [2, 3, 9, 7],
      [18, 14],
    ],
    [
      [2, 3, 9, 7],
      [13, 5],
    ],
  ] as [number[], [number, number]][]) {
    const [x, xr] = await randomPair(e, shape);
    const y = interpolate(x, { size, mode: 'bilinear', alignCorners: false });
    add(
      'resize',
      `bilinear ${shape.join('×')} → ${size.join('×')}`,
      relErr(await y.toArray(), resizeRef(xr, size[0], size[1])),
      1e-5,
    );
    for (const t of [x, y]) t.dispose();
  }
  return checks;
}

// ---- 2. speed -----------------------------------------------------------------------------------

async function timeMs(e: Engine, fn: () => Tensor | Tensor[] | void, reps: number): Promise<number> {
  const once = async () => {
    const r = fn();
    await e.flush();
    for (const t of Array.isArray(r) ? r : r ? [r] : []) t.dispose();
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    await once();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function matmulSpeed(e: Engine, n: number) {
  const a = e.rand([n, n], { seed: 1 });
  const b = e.rand([n, n], { seed: 2 });
  const ms = await timeMs(e, () => matmul(a, b), quick ? 3 : 10);
  a.dispose();
  b.dispose();
  const gflops = (2 * n ** 3) / (ms * 1e6);
  log(`  matmul ${n}³: ${ms.toFixed(2)} ms, ${gflops.toFixed(1)} GFLOP/s`);
  return { n, ms, gflops };
}

interface LayerSpeed {
  layer: string;
  x: number[];
  w: number[];
  stride: number;
  gflop: number;
  forward: number | null;
  dX: number | null;
  dW: number | null;
  backward: number | null;
}

/** Every conv layer of SegAN's segmentor and critic at this batch, width and size (GFLOP/s per pass). */
async function convLayers(e: Engine, B: number, width: number, S: number): Promise<LayerSpeed[]> {
  const ch = (c: number) => Math.max(1, Math.round(c * width));
  const e1 = [64, 128, 256, 512].map(ch);
  const layers: [string, number[], number[], number, number][] = [
    ['S.enc1', [B, 3, S, S], [e1[0], 3, 4, 4], 2, 1],
    ['S.enc2', [B, e1[0], S / 2, S / 2], [e1[1], e1[0], 4, 4], 2, 1],
    ['S.enc3', [B, e1[1], S / 4, S / 4], [e1[2], e1[1], 4, 4], 2, 1],
    ['S.enc4', [B, e1[2], S / 8, S / 8], [e1[3], e1[2], 4, 4], 2, 1],
    ['S.dec1', [B, e1[3], S / 8, S / 8], [e1[2], e1[3], 3, 3], 1, 1],
    ['S.dec2', [B, e1[2], S / 4, S / 4], [e1[1], e1[2], 3, 3], 1, 1],
    ['S.dec3', [B, e1[1], S / 2, S / 2], [e1[0], e1[1], 3, 3], 1, 1],
    ['S.dec4', [B, e1[0], S, S], [3, e1[0], 3, 3], 1, 1],
    ['C.conv1', [B, 3, S, S], [ch(64), 3, 4, 4], 2, 1],
    ['C.conv2', [B, ch(64), S / 2, S / 2], [ch(128), ch(64), 4, 4], 2, 1],
    ['C.conv3', [B, ch(128), S / 4, S / 4], [ch(256), ch(128), 4, 4], 2, 1],
  ];
  const profiling = e.runtime.enableProfiling();
  const rows: LayerSpeed[] = [];
  for (const [name, xs, ws, s, p] of layers) {
    const x = e.rand(xs, { seed: 3, requiresGrad: true });
    const w = e.rand(ws, { seed: 4, requiresGrad: true });
    const oh = Math.floor((xs[2] + 2 * p - ws[2]) / s) + 1;
    const gflop = (2 * xs[0] * ws[0] * oh * oh * ws[1] * ws[2] * ws[3]) / 1e9;
    const pass = () => {
      const y = conv2d(x, w, null, { stride: s, padding: p });
      y.backward(e.ones(y.shape));
      const grads = [x.grad!, w.grad!];
      x.grad = null;
      w.grad = null;
      return [y, ...grads];
    };
    const row: LayerSpeed = {
      layer: name,
      x: xs,
      w: ws,
      stride: s,
      gflop,
      forward: null,
      dX: null,
      dW: null,
      backward: null,
    };
    if (profiling) {
      await timeMs(e, pass, 0); // warm-up: pipelines, pools
      const per: number[][] = [[], [], []];
      for (let i = 0; i < (quick ? 2 : 5); i++) {
        e.runtime.profiler!.take();
        await timeMs(e, pass, 0);
        const recs = e.runtime.profiler!.take();
        ['conv2d', 'conv2d.dx', 'conv2d.dw'].forEach((op, k) =>
          per[k].push(recs.filter((r) => r.op === op).reduce((a, r) => a + r.ns, 0) / 1e6),
        );
      }
      const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
      const [fwd, dx, dw] = per.map(median);
      row.forward = fwd > 0 ? gflop / (fwd / 1e3) : null;
      row.dX = dx > 0 ? gflop / (dx / 1e3) : null;
      row.dW = dw > 0 ? gflop / (dw / 1e3) : null;
    } else {
      const fwd = await timeMs(e, () => conv2d(x, w, null, { stride: s, padding: p }).detach(), quick ? 2 : 5);
      const all = await timeMs(e, pass, quick ? 2 : 5);
      row.forward = gflop / (fwd / 1e3);
      row.backward = (2 * gflop) / (Math.max(all - fwd, 1e-3) / 1e3);
    }
    x.dispose();
    w.dispose();
    const fmt = (v: number | null) => (v === null ? '   -   ' : v.toFixed(1).padStart(7));
    log(
      `  ${name.padEnd(8)} x ${xs.join('×').padEnd(16)} w ${ws.join('×').padEnd(14)} ` +
        `forward ${fmt(row.forward)}  dX ${fmt(row.dX)}  ` +
        `dW ${fmt(row.dW)}${row.backward !== null ? `  dX+dW ${fmt(row.backward)}` : ''} GFLOP/s`,
    );
    rows.push(row);
  }
  if (profiling) e.runtime.enableProfiling(false);
  return rows;
}

async function stepMs(e: Engine, B: number, width: number, S: number): Promise<number> {
  const cfg = makeConfig({
    model: { inChannels: 3, classes: 3, width, skip: 'add', slope: 0.2, seed: 1 },
    size: S,
    batch: B,
  });
  const model = new SeganModel(e, cfg);
  const trainer = new SeganTrainer(model, cfg);
  const x = e.rand([B, 3, S, S], { seed: 2 });
  const y = e.tidy(() => e.rand([B, 3, S, S], { seed: 3 }).gt(0.7));
  const ms = await timeMs(
    e,
    () => {
      const l = trainer.step(x, y);
      return Object.values(l).filter((t): t is Tensor => t !== null);
    },
    quick ? 2 : 5,
  );
  for (const t of [x, y]) t.dispose();
  model.dispose();
  log(`  D+G step, batch ${B}, width ${width}, ${S}×${S}: ${ms.toFixed(1)} ms`);
  return ms;
}

// ---- main ---------------------------------------------------------------------------------------

const e = await createEngine({ seed: 1 });
const result: Record<string, unknown> = { date: new Date().toISOString(), quick };
try {
  const adapter = { ...e.adapter, plan: e.runtime.policy.plan, kernels: describePolicy(e.runtime.policy) };
  result.adapter = adapter;
  log(
    `GPU check on ${e.adapter.description || e.adapter.device} ` +
      `(${e.adapter.backend}, ${e.adapter.isSoftware ? 'software' : 'hardware'} ` +
      `adapter, plan ${e.runtime.policy.plan})${quick ? ', quick' : ''}`,
  );
  log('\n1. correctness against float64 references');
  const checks = await correctness(e);
  const families: Record<string, { ok: boolean; worstRelErr: number }> = {};
  for (const c of checks) {
    const fam = (families[c.family] ??= { ok: true, worstRelErr: 0 });
    fam.ok &&= c.ok;
    fam.worstRelErr = Math.max(fam.worstRelErr, c.relErr);
  }
  result.allCorrect = checks.every((c) => c.ok);
  result.correctness = families;
  result.checks = checks;

  log('\n2. speed');
  const B = quick ? 2 : 8;
  const width = quick ? 0.125 : 1;
  const S = quick ? 64 : 160;
  result.matmul = await matmulSpeed(e, quick ? 256 : 4096);
  log(
    `  SegAN conv layers at batch ${B}, ` +
      `width ${width}, ${S}×${S}${
        e.runtime.enableProfiling() ? ' (GPU timestamps)' : ' (wall clock: no timestamp-query)'
      }`,
  );
  e.runtime.enableProfiling(false);
  result.convLayers = { batch: B, width, size: S, layers: await convLayers(e, B, width, S) };
  const bigB = quick ? 4 : 64;
  const tuner = e.runtime.tuner;
  log(
    `  tuning ${tuner.mode}${tuner.mode === 'off' ? '' : `: ${tuner.recorded.size} conv shapes tuned (${tuner.file})`}`,
  );
  const f32 = { [`batch${B}`]: await stepMs(e, B, width, S), [`batch${bigB}`]: await stepMs(e, bigB, width, S) };
  let f16: Record<string, number> | string = "this adapter has no 'shader-f16'";
  if (e.adapter.features.includes('shader-f16')) {
    const h = await createEngine({ seed: 1, precision: 'f16' });
    try {
      log('  precision f16 (float16 conv operands, float32 sums):');
      f16 = { [`batch${B}`]: await stepMs(h, B, width, S), [`batch${bigB}`]: await stepMs(h, bigB, width, S) };
    } finally {
      await h.close();
    }
  }
  result.step = { width, size: S, f32, f16 };

  result.tuning = {
    mode: tuner.mode,
    file: tuner.file,
    choices: Object.fromEntries([...tuner.recorded].map(([k, c]) => [k, tileShort(c)])),
  };

  log('\n3. PyTorch');
  const torch = f['no-torch'] ? null : findTorchPython();
  if (!torch) {
    result.torch = null;
    log(f['no-torch'] ? '  skipped (--no-torch)' : '  no python3 with torch here: skipped');
  } else {
    const reps = quick ? 2 : 5;
    const device = torch.cuda ? 'cuda' : 'cpu';
    const runs: Record<string, unknown> = { python: torch.python, version: torch.version, device };
    runs.tf32Off = await torchStep(torch, { batch: B, width, size: S, device, reps });
    if (torch.cuda) runs.tf32On = await torchStep(torch, { batch: B, width, size: S, device, tf32: true, reps });
    const ours = (result.step as { f32: Record<string, number> }).f32[`batch${B}`];
    const theirs = (runs.tf32Off as { ms?: number }).ms;
    if (theirs) runs.ratioOursOverTorch = ours / theirs;
    result.torch = runs;
    log(
      `  PyTorch ${torch.version} ` +
        `(${device}, ${torch.python}): ${
          theirs ? `${theirs.toFixed(1)} ms` : JSON.stringify(runs.tf32Off)
        }${runs.tf32On ? `; TF32 on: ${((runs.tf32On as { ms?: number }).ms ?? NaN).toFixed(1)} ms` : ''}`,
    );
    if (theirs) log(`  ours / PyTorch (fp32, TF32 off): ${(ours / theirs).toFixed(2)}×`);
  }
} catch (err) {
  result.error = (err as Error).message;
  result.allCorrect = false;
  log(`\nthe check stopped: ${(err as Error).message}`);
} finally {
  await e.close();
}
result.seconds = (performance.now() - t0) / 1000;
writeFileSync(join(out, 'gpu-check.json'), JSON.stringify(result, null, 2) + '\n');
log(
  `\n${result.allCorrect ? 'all kernel families correct' : 'SOME CHECKS FAILED'}; ` +
    `wrote ${join(out, 'gpu-check.json')} in ${(result.seconds as number).toFixed(0)} s`,
);
process.exit(result.allCorrect ? 0 : 1);
