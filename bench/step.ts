// One side-by-side SegAN D+G step: ours against the same model in TF.js (WebGPU backend) on the same
// adapter, timed the same way (warm-up excluded, the GPU waited for inside the timed region, median).
//   npx tsx bench/step.ts --batch B --width W --size S [--classes K] [--reps N] [--no-tfjs] [--json]
import { createEngine } from '../src/index.ts';
import { makeConfig, type TrainConfig } from '../src/segan/config.ts';
import { SeganModel } from '../src/segan/model.ts';
import { SeganTrainer } from '../src/segan/trainer.ts';
import { benchFlags } from './options.ts';
import { loadTfjs } from './peers/tfjs.ts';
import { TfSegan } from './peers/segan-tfjs.ts';

export interface StepResult {
  adapter: string;
  batch: number;
  width: number;
  size: number;
  classes: number;
  oursMs: number;
  tfjsMs: number | null;
  ratio: number | null;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

export async function stepComparison(o: {
  batch: number;
  width: number;
  size: number;
  classes: number;
  reps: number;
  tfjs: boolean;
}): Promise<StepResult> {
  const cfg: TrainConfig = makeConfig({
    model: { inChannels: 3, classes: o.classes, width: o.width, skip: 'add', slope: 0.2, seed: 1 },
    size: o.size,
    batch: o.batch,
  });
  const e = await createEngine({ seed: 1 });
  const adapter = e.adapter.description || e.adapter.device;
  const xs = new Float32Array(o.batch * 3 * o.size * o.size).map((_, i) => ((i * 2654435761) % 1000) / 1000);
  const ys = new Float32Array(o.batch * o.classes * o.size * o.size).map((_, i) => ((i * 40503) % 97 > 60 ? 1 : 0));
  let oursMs: number;
  {
    const model = new SeganModel(e, cfg);
    const trainer = new SeganTrainer(model, cfg);
    const x = e.tensor(xs, [o.batch, 3, o.size, o.size]);
    const y = e.tensor(ys, [o.batch, o.classes, o.size, o.size]);
    const run = async () => {
      const s = trainer.step(x, y);
      await s.segmentor.item(); // wait for the GPU: one readback, as TF.js's side does
      for (const t of Object.values(s)) t?.dispose();
    };
    await run(); // warm-up: pipelines, pools
    const times: number[] = [];
    for (let i = 0; i < o.reps; i++) {
      const t0 = performance.now();
      await run();
      times.push(performance.now() - t0);
    }
    oursMs = median(times);
    model.dispose();
  }
  await e.close();
  let tfjsMs: number | null = null;
  if (o.tfjs) {
    const tf = await loadTfjs();
    const net = new TfSegan(tf, cfg);
    // NCHW data transposed to TF.js's NHWC
    const x = tf.tidy(
      () =>
        tf.tensor4d(xs, [o.batch, 3, o.size, o.size]).transpose([0, 2, 3, 1]) as import('@tensorflow/tfjs').Tensor4D,
    );
    const y = tf.tidy(
      () =>
        tf
          .tensor4d(ys, [o.batch, o.classes, o.size, o.size])
          .transpose([0, 2, 3, 1]) as import('@tensorflow/tfjs').Tensor4D,
    );
    await net.step(x, y);
    const times: number[] = [];
    for (let i = 0; i < o.reps; i++) {
      const t0 = performance.now();
      await net.step(x, y);
      times.push(performance.now() - t0);
    }
    tfjsMs = median(times);
    net.dispose();
    x.dispose();
    y.dispose();
  }
  return {
    adapter,
    batch: o.batch,
    width: o.width,
    size: o.size,
    classes: o.classes,
    oursMs,
    tfjsMs,
    ratio: tfjsMs ? tfjsMs / oursMs : null,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const f = await benchFlags({
    name: 'step.ts',
    summary: 'One SegAN D+G step, ours beside TF.js on the same adapter.',
    options: [
      { name: 'batch', type: 'int', meta: 'B', min: 1, max: 1024, default: 8, help: 'batch' },
      { name: 'width', type: 'number', meta: 'W', min: 1 / 64, max: 8, default: 1, help: 'model width' },
      { name: 'size', type: 'int', meta: 'S', min: 16, max: 1024, multipleOf: 16, default: 160, help: 'input size' },
      { name: 'classes', type: 'enum', meta: 'K', values: ['1', '3'], default: 3, help: 'classes' },
      { name: 'reps', type: 'int', meta: 'N', min: 1, max: 1000, default: 3, help: 'timed steps (median)' },
      { name: 'no-tfjs', type: 'flag', help: 'skip TF.js' },
      { name: 'json', type: 'flag', help: 'JSON on stdout' },
    ],
  });
  const r = await stepComparison({
    batch: Number(f.batch ?? 8),
    width: Number(f.width ?? 1),
    size: Number(f.size ?? 160),
    classes: Number(f.classes ?? 3),
    reps: Number(f.reps ?? 3),
    tfjs: !f['no-tfjs'],
  });
  if (f.json) console.log(JSON.stringify(r));
  else
    console.log(
      `${r.adapter}\nbatch ${r.batch}, width ${r.width}, ${r.size}x${r.size}, ` +
        `K=${r.classes}: ours ${r.oursMs.toFixed(0)} ms` +
        (r.tfjsMs ? `, TF.js ${r.tfjsMs.toFixed(0)} ms, ratio ${r.ratio!.toFixed(2)}x` : ''),
    );
  process.exit(0);
}
