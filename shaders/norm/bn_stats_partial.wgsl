// bn_stats_partial.wgsl — batch-norm statistics, stage 1: Welford partials per (channel, chunk).
//
// What it computes: for channel c of an NCHW input x and chunk k (K = lanes_n · lanes_u chunks per
// channel, k = kn · lanes_u + ku), the count, mean and M2 (sum of squared deviations from the mean) of
//   x[n, c, u]   for n = kn, kn + lanes_n, ... < N   and   u = ku, ku + lanes_u, ... < U,
// where u walks the H·W plane in units of VEC elements: vec4s when H·W is a multiple of 4 (T = vec4f),
// scalars otherwise (T = f32). It writes partial[c · K + k] = (count, mean, M2, 0);
// bn_stats_merge.wgsl merges each channel's K partials in the fixed order k = 0, 1, ..., K − 1.
// Index mapping (no transpose): plane (n, c) is the contiguous run of U units starting at unit
// (n · C + c) · U. Thread w = c · K + kn · lanes_u + ku, ku fastest, so neighbouring threads read
// neighbouring units of one run. w is split into (c, kn, ku) once per thread (chunk_thread() of
// params.wgsl); the element loops are
// nested (runs, then units), so there is no integer division per element.
// Each thread: Welford's update per unit, one accumulator per vec4 lane (the 4 lanes share the count,
// so one reciprocal per unit), then the lanes merged with Chan's formula (chan() of params.wgsl).
// Never E[x²] − E[x]².
// Tiling: 256 threads per workgroup, no workgroup memory, no barriers; the order of every operation is
// fixed by the shape alone, so results are bitwise repeatable.
// Memory traffic: 4 bytes read per element, 16 bytes written per partial.
// FLOPs: ~5 per element (sub, mul, add, sub, fma) plus one reciprocal per unit.

//#include "norm/params"

@group(0) @binding(1) var<storage, read_write> partial: array<vec4f>;
@group(0) @binding(2) var<storage, read> x: array<{{T}}>;

// The four lanes' summaries (equal counts) merged pairwise; the scalar variant has one lane.
fn lanes4(cnt: f32, mean: vec4f, m2: vec4f) -> vec3f {
  return chan(chan(vec3f(cnt, mean.x, m2.x), vec3f(cnt, mean.y, m2.y)), chan(vec3f(cnt, mean.z, m2.z), vec3f(cnt, mean.w, m2.w)));
}
fn lanes1(cnt: f32, mean: f32, m2: f32) -> vec3f { return vec3f(cnt, mean, m2); }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = thread_index(gid);
  if (w >= P.channels * P.chunks) { return; }
  let t = chunk_thread(w);
  var cnt = 0.0;
  var mean = {{T}}(0.0);
  var m2 = {{T}}(0.0);
  let run_step = P.lanes_n * P.channels * P.units;
  var base = (t.kn * P.channels + t.c) * P.units;
  for (var n = t.kn; n < P.batch; n += P.lanes_n) {
    for (var u = t.ku; u < P.units; u += P.lanes_u) {
      let v = x[base + u];
      cnt += 1.0;
      let d = v - mean;
      mean += d * (1.0 / cnt);
      m2 += d * (v - mean);
    }
    base += run_step;
  }
  partial[w] = vec4f(lanes{{VEC}}(cnt, mean, m2), 0.0);
}
