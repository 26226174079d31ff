// bn_grad_apply.wgsl — batch-norm backward, stage 3: the input gradient.
//
// What it computes: dx[n, c, h, w] = α · (dŷ − m1 − x̂ · m2), with (α, m1, m2) = coef[c].xyz from
// bn_grad_merge.wgsl, x̂ = (x − mean[c]) · invstd[c] from stats = [mean (C), invstd (C)], and
// dŷ = dy · act'(y) from dact.wgsl, as in bn_grad_partial.wgsl (ACT 0: dy; ACT 1: ReLU; ACT 2: LeakyReLU, P.slope).
// Training: α = γ·invstd, m1 = Σdŷ / n, m2 = Σdŷ·x̂ / n, so dx = γ·invstd/n · (n·dŷ − Σdŷ − x̂·Σdŷ·x̂).
// Eval: m1 = m2 = 0, so dx = γ·invstd·dŷ. Computing with x̂ (not x) keeps the subtraction of the
// mean exact-ish for inputs with a large mean and a small spread.
// Index mapping as bn_normalize.wgsl (run_thread() of params.wgsl): thread w takes run r = w / lanes_u (plane (n, c), c = r % C)
// and units u = w % lanes_u, + lanes_u, ... < U of that run (vec4s when H·W is a multiple of 4);
// per-channel values are loaded once per thread. With ACT 0 the y binding is a dummy (dy again)
// and is never read.
// Tiling: 256 threads per workgroup, no workgroup memory, no barriers.
// Memory traffic: 12 bytes per element (read dy and x, write dx), 16 with an activation (+ y).
// FLOPs: ~5 per element (+1 for the activation's select).

//#include "norm/params"

@group(0) @binding(1) var<storage, read_write> dx: array<{{T}}>;
@group(0) @binding(2) var<storage, read> dy: array<{{T}}>;
@group(0) @binding(3) var<storage, read> y: array<{{T}}>;
@group(0) @binding(4) var<storage, read> x: array<{{T}}>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read> coef: array<vec4f>;

//#include "norm/dact"

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = thread_index(gid);
  if (w >= P.batch * P.channels * P.lanes_u) { return; }
  let t = run_thread(w);
  let cf = coef[t.c];
  let mean = stats[t.c];
  let m2 = stats[P.channels + t.c] * cf.z;   // x̂ · m2 = (x − mean) · (invstd · m2)
  let base = t.r * P.units;
  for (var u = t.ku; u < P.units; u += P.lanes_u) {
    let i = base + u;
    dx[i] = cf.x * (dact(dy[i], i) - cf.y - (x[i] - mean) * m2);
  }
}
