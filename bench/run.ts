// `npm run bench`: every benchmark suite, ours beside TF.js's WebGPU backend on the same adapter.
//   BENCH_SUITES=kernels,layers   which suites (default: all)
//   BENCH_TFJS=0                  skip the peer
//   BENCH_SAMPLES, BENCH_MAX_TIME benny's sampling; BENCH_ONLY=regex restricts the layer cases
import { runKernelBench } from './kernels.ts';
import { runLayerBench } from './layers.ts';

const suites = (process.env.BENCH_SUITES ?? 'kernels,layers').split(',');
if (suites.includes('kernels')) await runKernelBench();
if (suites.includes('layers')) await runLayerBench();
process.exit(0); // TF.js keeps its device (and Dawn's event loop) alive
