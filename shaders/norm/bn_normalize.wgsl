// bn_normalize.wgsl — batch-norm forward: normalise, scale and shift, with an optional fused activation.
//
// What it computes: y[n, c, h, w] = act((x[n, c, h, w] − mean[c]) · invstd[c] · γ[c] + β[c]) with
// mean and invstd from stats = [mean (C), invstd (C)] (bn_stats_merge.wgsl), γ = 1 and β = 0 where
// weight / bias are absent (flag bits 2 / 3), and act = identity (ACT 0), ReLU (ACT 1) or
// LeakyReLU with P.slope (ACT 2).
// Index mapping: each plane (n, c) is a contiguous run of U units (vec4s when H·W is a multiple of 4,
// T = vec4f; else scalars, T = f32) starting at unit r · U, r = n · C + c. Thread w takes run
// r = w / lanes_u and units u = w % lanes_u, + lanes_u, ... < U (run_thread() of params.wgsl; neighbouring threads read
// neighbouring units). Divisions happen once per thread, and the per-channel values are loaded once
// per thread, so each element costs one load and one store.
// Tiling: 256 threads per workgroup, no workgroup memory, no barriers.
// Memory traffic: 8 bytes per element (read x, write y). FLOPs: 3 per element (+1 for the activation).

//#include "norm/params"

@group(0) @binding(1) var<storage, read_write> y: array<{{T}}>;
@group(0) @binding(2) var<storage, read> x: array<{{T}}>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;

fn act(z: {{T}}) -> {{T}} {
  if ({{ACT}} == 1) { return max(z, {{T}}(0.0)); }
  if ({{ACT}} == 2) { return select(z * P.slope, z, z > {{T}}(0.0)); }
  return z;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = thread_index(gid);
  if (w >= P.batch * P.channels * P.lanes_u) { return; }
  let t = run_thread(w);
  var a = stats[P.channels + t.c];
  var b = 0.0;
  if ((P.flags & HAS_WEIGHT) != 0u) { a *= weight[t.c]; }
  if ((P.flags & HAS_BIAS) != 0u) { b = bias[t.c]; }
  let mean = stats[t.c];
  let base = t.r * P.units;
  for (var u = t.ku; u < P.units; u += P.lanes_u) {
    let i = base + u;
    y[i] = act((x[i] - mean) * a + b);
  }
}
