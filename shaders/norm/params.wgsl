// params.wgsl — what every batch-norm kernel (bn_*.wgsl) includes: the uniform block (filled by
// src/ops/batchnorm.ts params(); a kernel ignores the fields it does not need) and its binding, the
// flag bits, the thread → element decodings, and Chan's merge of (count, mean, M2) summaries (used by
// bn_stats_partial.wgsl and bn_stats_merge.wgsl).
//#uniforms BatchNormParams

@group(0) @binding(0) var<uniform> P: BatchNormParams;

const TRAINING = 1u;     // P.flags: training mode
const RUNNING = 2u;      // running statistics given
const HAS_WEIGHT = 4u;   // γ given
const HAS_BIAS = 8u;     // β given

/** Flat thread index: grids wider than 65535 workgroups fold into y (grid_x threads along x). */
fn thread_index(gid: vec3u) -> u32 {
  return gid.x + gid.y * P.grid_x;
}

/** A thread of the elementwise kernels: run r (plane (n, c), r = n·C + c), its first unit ku, and c. */
struct RunThread { r: u32, ku: u32, c: u32 }

/** Thread w takes run w / lanes_u and units ku = w % lanes_u, ku + lanes_u, ... of it. */
fn run_thread(w: u32) -> RunThread {
  let r = w / P.lanes_u;
  return RunThread(r, w % P.lanes_u, r % P.channels);
}

/** A thread of the partial kernels: channel c and chunk k = kn · lanes_u + ku of its K. */
struct ChunkThread { c: u32, k: u32, kn: u32, ku: u32 }

/** Thread w = c · K + k: one division per thread, none per element. */
fn chunk_thread(w: u32) -> ChunkThread {
  let k = w % P.chunks;
  return ChunkThread(w / P.chunks, k, k / P.lanes_u, k % P.lanes_u);
}

// Chan et al.: merge two (count, mean, M2) summaries.
fn chan(a: vec3f, b: vec3f) -> vec3f {
  let n = a.x + b.x;
  if (n == 0.0) { return a; }
  let d = b.y - a.y;
  let f = b.x / n;
  return vec3f(n, a.y + d * f, a.z + b.z + d * d * a.x * f);
}
