// adam.wgsl — one fused Adam step (PyTorch's torch.optim.Adam, amsgrad off, L2 weight decay) for
// every parameter with a gradient, in place, over the optimizer's flat arrays (see flat.wgsl and update.wgsl):
//   t    = steps[parameter]                  (already incremented by step_counter.wgsl)
//   g    = grad + weight_decay * p           (only when weight_decay != 0)
//   m    = lerp(m, g, 1 - beta1)             (torch.lerp: m + w (g - m), or g - (g - m)(1 - w) for w >= 0.5)
//   v    = v * beta2 + (1 - beta2) * g * g
//   step_size = lr / (1 - beta1^t)
//   denom     = sqrt(v) / sqrt(1 - beta2^t) + eps
//   p    = p - step_size * (m / denom)       (then clamped, when the step asks for it)
// The bias corrections 1 - beta^t come from the step count on the GPU as -expm1(t ln beta), with
// ln beta computed in float64 by the launcher: a Taylor polynomial for |t ln beta| < 0.5, 1 - exp()
// beyond. That is accurate to a few 1e-7 relative, where 1 - pow(beta_f32, t) would carry
// beta's float32 rounding (1.3e-5 relative for beta = 0.999, t = 1) into every step.
// skip[0] != 0 (raised by optim/nonfinite_check.wgsl in a guarded step) leaves everything untouched.
// One element per thread, one chunk (≤ 256 elements of one parameter) per workgroup of 256.
// Memory traffic: 28 bytes per element (read p, g, m, v; write p, m, v) plus, per workgroup, the
// chunk entry, the step and the skip flag (the same address for every thread: a broadcast).

//#uniforms AdamParams

@group(0) @binding(0) var<uniform> P: AdamParams;

//#include "optim/update"

@group(0) @binding(5) var<storage, read_write> exp_avg: array<f32>;
@group(0) @binding(6) var<storage, read_write> exp_avg_sq: array<f32>;
@group(0) @binding(7) var<storage, read> steps: array<u32>;

/** 1 - beta^t = -expm1(t ln beta) for t >= 1, ln beta <= 0. */
fn bias_correction(log_beta: f32, t: u32) -> f32 {
  let x = f32(t) * log_beta;
  if (x > -0.5) {
    // expm1(x) by its Taylor series to x^9 / 9! (the next term is below 5e-10 relative)
    let q = 1.0 + x * (1.0 / 2.0 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0
      + x * (1.0 / 5040.0 + x * (1.0 / 40320.0 + x * (1.0 / 362880.0))))))));
    return -(x * q);
  }
  return 1.0 - exp(x);
}

/** torch.lerp(a, b, w) for a scalar weight. */
fn lerp(a: f32, b: f32, w: f32) -> f32 {
  if (abs(w) < 0.5) { return a + w * (b - a); }
  return b - (b - a) * (1.0 - w);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = my_chunk(P.flat, wid);
  if (!updates(c, lid)) { return; }
  let i = c.start + lid;
  let t = steps[c.tensor];
  let bias_correction1 = bias_correction(P.log_beta1, t);
  let bias_correction2 = bias_correction(P.log_beta2, t);
  let step_size = P.lr / bias_correction1;
  let bias_correction2_sqrt = sqrt(bias_correction2);

  let p = param[i];
  let g = decayed_grad(i, p);
  let m = lerp(exp_avg[i], g, P.one_minus_beta1);
  let v = exp_avg_sq[i] * P.beta2 + P.one_minus_beta2 * (g * g);
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  let denom = sqrt(v) / bias_correction2_sqrt + P.eps;
  param[i] = clipped(P.flat, p - step_size * (m / denom));
}
