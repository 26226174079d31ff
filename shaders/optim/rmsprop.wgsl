// rmsprop.wgsl — one fused RMSprop step (PyTorch's torch.optim.RMSprop, not centered, no momentum,
// L2 weight decay) for every parameter with a gradient, in place, over the optimizer's flat arrays
// (see flat.wgsl):
//   g   = grad + weight_decay * p           (only when weight_decay != 0)
//   s   = s * alpha + (1 - alpha) * g * g
//   p   = p - lr * (g / (sqrt(s) + eps))    (then clamped, when the step asks for it)
// The rule does not depend on the step count, so this kernel does not read it.
// skip[0] != 0 (raised by optim/nonfinite_check.wgsl in a guarded step) leaves everything untouched.
// One element per thread, one chunk (≤ 256 elements of one parameter) per workgroup of 256.
// Memory traffic: 20 bytes per element (read p, g, s; write p, s).

//#include "optim/flat"

//#uniforms RmspropParams

@group(0) @binding(0) var<uniform> P: RmspropParams;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> skip: array<u32>;
@group(0) @binding(4) var<storage, read> chunks: array<Chunk>;
@group(0) @binding(5) var<storage, read_write> square_avg: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = my_chunk(P.flat, wid);
  let i = c.start + lid;
  if (i >= c.end || skip[0] != 0u) { return; }
  let p = param[i];
  var g = grad[i];
  if (P.weight_decay != 0.0) { g = g + P.weight_decay * p; }
  let s = square_avg[i] * P.alpha + P.one_minus_alpha * (g * g);
  square_avg[i] = s;
  let avg = sqrt(s) + P.eps;
  param[i] = clipped(P.flat, p - P.lr * (g / avg));
}
