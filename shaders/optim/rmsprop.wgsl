// rmsprop.wgsl — one fused RMSprop step (PyTorch's torch.optim.RMSprop, not centered, no momentum,
// L2 weight decay) for every parameter with a gradient, in place, over the optimizer's flat arrays
// (see flat.wgsl and update.wgsl):
//   g   = grad + weight_decay * p           (only when weight_decay != 0)
//   s   = s * alpha + (1 - alpha) * g * g
//   p   = p - lr * (g / (sqrt(s) + eps))    (then clamped, when the step asks for it)
// The rule does not depend on the step count, so this kernel does not read it.
// skip[0] != 0 (raised by optim/nonfinite_check.wgsl in a guarded step) leaves everything untouched.
// One element per thread, one chunk (≤ 256 elements of one parameter) per workgroup of 256.
// Memory traffic: 20 bytes per element (read p, g, s; write p, s).

//#uniforms RmspropParams

@group(0) @binding(0) var<uniform> P: RmspropParams;

//#include "optim/update"

@group(0) @binding(5) var<storage, read_write> square_avg: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = my_chunk(P.flat, wid);
  if (!updates(c, lid)) { return; }
  let i = c.start + lid;
  let p = param[i];
  let g = decayed_grad(i, p);
  let s = square_avg[i] * P.alpha + P.one_minus_alpha * (g * g);
  square_avg[i] = s;
  let avg = sqrt(s) + P.eps;
  param[i] = clipped(P.flat, p - P.lr * (g / avg));
}
