// bn_grad_merge.wgsl — batch-norm backward, stage 2: one thread per channel.
//
// What it computes, for channel c: (Σdŷ, Σdŷ·x̂) = the sum of the K partials of bn_grad_partial.wgsl
// in the fixed order k = 0, 1, ..., K − 1 (K = 0 gives zeros: eval mode when neither γ nor β needs a
// gradient). It writes
//   dbeta[c]  = Σdŷ,   dgamma[c] = Σdŷ·x̂,
//   coef[c]   = (α, Σdŷ / n, Σdŷ·x̂ / n, 0) in training mode (flag bit 0), (α, 0, 0, 0) in eval mode,
// with α = γ[c] · invstd[c] (γ = 1 without a weight, flag bit 2). bn_grad_apply.wgsl then computes
// dx = α · (dŷ − coef.y − x̂ · coef.z), which is γ·invstd/n · (n·dŷ − Σdŷ − x̂·Σdŷ·x̂) in training and
// γ·invstd·dŷ in eval mode. Folding the per-channel terms here keeps the apply kernel at 6 buffers.
// Tiling: 64 threads per workgroup (C is often small), no workgroup memory, no barriers.
// Memory traffic: 8 bytes per partial read; 24 bytes written per channel. FLOPs: 2 per partial.

//#include "norm/params"

@group(0) @binding(1) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(2) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(3) var<storage, read_write> coef: array<vec4f>;
@group(0) @binding(4) var<storage, read> partial: array<vec2f>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read> weight: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = thread_index(gid);
  if (c >= P.channels) { return; }
  var s = vec2f(0.0);
  for (var k = 0u; k < P.chunks; k++) {
    s += partial[c * P.chunks + k];
  }
  dbeta[c] = s.x;
  dgamma[c] = s.y;
  var alpha = stats[P.channels + c];
  if ((P.flags & HAS_WEIGHT) != 0u) { alpha *= weight[c]; }
  if ((P.flags & TRAINING) != 0u) {
    coef[c] = vec4f(alpha, s.x / P.count, s.y / P.count, 0.0);
  } else {
    coef[c] = vec4f(alpha, 0.0, 0.0, 0.0);
  }
}
