// bn_grad_partial.wgsl — batch-norm backward, stage 1: partial Σdŷ and Σdŷ·x̂ per (channel, chunk).
//
// What it computes: dŷ = dy · act'(y) is the gradient at the normalised-and-affine output before the
// fused activation (ACT 0: dŷ = dy; ACT 1, ReLU: dy where y > 0, else 0; ACT 2, LeakyReLU: dy where
// y > 0, else dy · slope). The activation's derivative is taken from the saved output y: both
// activations keep the sign (slope ≥ 0), so y > 0 exactly where their input is > 0.
// x̂ = (x − mean[c]) · invstd[c] from stats = [mean (C), invstd (C)]. For channel c and chunk
// k = kn · lanes_u + ku of K, partial[c · K + k] = (Σ dŷ, Σ dŷ · x̂) over the same elements as
// bn_stats_partial.wgsl: n = kn, kn + lanes_n, ... and u = ku, ku + lanes_u, ... (units of VEC elements).
// bn_grad_merge.wgsl adds each channel's K partials in the fixed order k = 0, 1, ...
// Index mapping and tiling as bn_stats_partial.wgsl: thread w = c · K + k, ku fastest (chunk_thread() of
// params.wgsl); one division
// per thread, nested loops, no workgroup memory, no barriers; bitwise repeatable. Each thread keeps
// one accumulator per vec4 lane and multiplies Σ dŷ · (x − mean) by invstd once at the end.
// With ACT 0 the y binding is a dummy (the launcher binds dy again) and is never read.
// Memory traffic: 8 bytes per element (dy, x), 12 with an activation (+ y); 8 bytes per partial
// written. FLOPs: ~4 per element (+1 for the activation's select).

//#include "norm/params"

@group(0) @binding(1) var<storage, read_write> partial: array<vec2f>;
@group(0) @binding(2) var<storage, read> dy: array<{{T}}>;
@group(0) @binding(3) var<storage, read> y: array<{{T}}>;
@group(0) @binding(4) var<storage, read> x: array<{{T}}>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;

// dŷ from the upstream gradient and the saved output.
//#include "norm/dact"

fn hsum4(v: vec4f) -> f32 { return (v.x + v.y) + (v.z + v.w); }
fn hsum1(v: f32) -> f32 { return v; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = thread_index(gid);
  if (w >= P.channels * P.chunks) { return; }
  let t = chunk_thread(w);
  let mean = stats[t.c];
  var sd = {{T}}(0.0);
  var sdx = {{T}}(0.0);
  let run_step = P.lanes_n * P.channels * P.units;
  var base = (t.kn * P.channels + t.c) * P.units;
  for (var n = t.kn; n < P.batch; n += P.lanes_n) {
    for (var u = t.ku; u < P.units; u += P.lanes_u) {
      let i = base + u;
      let d = dact(dy[i], i);
      sd += d;
      sdx += d * (x[i] - mean);
    }
    base += run_step;
  }
  partial[w] = vec2f(hsum{{VEC}}(sd), hsum{{VEC}}(sdx) * stats[P.channels + t.c]);
}
