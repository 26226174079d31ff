// `npm run bench`: every benchmark suite, ours beside TF.js's WebGPU backend on the same adapter.
// BENCH_TFJS=0 skips the peer; BENCH_SAMPLES / BENCH_MAX_TIME tune benny's sampling.
import { runKernelBench } from './kernels.ts';

await runKernelBench();
process.exit(0); // TF.js keeps its device (and Dawn's event loop) alive
