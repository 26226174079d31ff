// `npm run bench`: every benchmark suite, ours beside TF.js's WebGPU backend on the same adapter
// (and jax-js's, in the 'jax' suite: SegAN's encoder forward + backward).
//   BENCH_SUITES=kernels,layers,batchnorm,model,jax   which suites (default: all)
//   BENCH_BATCHES=1,8 BENCH_WIDTHS=0.125,1 BENCH_SIZE=160   the whole-model suites
//   BENCH_TFJS=0                  skip the TF.js peer; BENCH_TORCH=0 the PyTorch-on-the-CPU one (model suite)
//   BENCH_SAMPLES, BENCH_MAX_TIME benny's sampling; BENCH_ONLY=regex restricts the layer cases
//   BENCH_REPEAT=3                runs of the kernels suite (the median run is published)
//   BENCH_JAX_WIDTHS=0.125,1 BENCH_JAX_REPS=3   the jax suite (default width 1/8 only)
import { runKernelBench } from './kernels.ts';
import { runLayerBench, runBatchNormBench } from './layers.ts';
import { runModelBench } from './model.ts';
import { runJaxBench } from './jax.ts';
import { checkBenchEnv } from './options.ts';

try {
  checkBenchEnv();
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(2);
}

const suites = (process.env.BENCH_SUITES ?? 'kernels,layers,batchnorm,model,jax').split(',');
if (suites.includes('kernels')) await runKernelBench();
if (suites.includes('layers')) await runLayerBench();
if (suites.includes('batchnorm')) await runBatchNormBench();
if (suites.includes('model')) await runModelBench();
if (suites.includes('jax')) await runJaxBench();
process.exit(0); // TF.js keeps its device (and Dawn's event loop) alive
