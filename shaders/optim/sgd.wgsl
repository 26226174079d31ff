// sgd.wgsl — one fused SGD step (PyTorch's torch.optim.SGD, no dampening, not Nesterov, L2 weight
// decay) for every parameter with a gradient, in place, over the optimizer's flat arrays (see
// flat.wgsl and update.wgsl):
//   g   = grad + weight_decay * p           (only when weight_decay != 0)
//   b   = g                    on a parameter's first step (t = steps[parameter] = 1)
//   b   = momentum * b + g     afterwards
//   p   = p - lr * b                        (b = g when momentum is 0: no buffer at all; then
//                                            clamped, when the step asks for it)
// Two entry points: the launcher names the one it wants `main` through the templates
// ({{MOMENTUM_ENTRY}} / {{PLAIN_ENTRY}}). The pipeline's automatic layout holds only the bindings
// its entry point uses, so the plain variant binds p, g, skip and the chunks only.
// skip[0] != 0 (raised by optim/nonfinite_check.wgsl in a guarded step) leaves everything untouched.
// One element per thread, one chunk (≤ 256 elements of one parameter) per workgroup of 256.
// Memory traffic: with momentum 20 bytes per element (read p, g, b; write p, b; 16 on the first
// step, which does not read b), without momentum 12 bytes (read p, g; write p).

//#uniforms SgdParams

@group(0) @binding(0) var<uniform> P: SgdParams;

//#include "optim/update"

@group(0) @binding(5) var<storage, read_write> momentum_buffer: array<f32>;
@group(0) @binding(6) var<storage, read> steps: array<u32>;

@compute @workgroup_size(256)
fn {{MOMENTUM_ENTRY}}(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = my_chunk(P.flat, wid);
  if (!updates(c, lid)) { return; }
  let i = c.start + lid;
  let p = param[i];
  let g = decayed_grad(i, p);
  var b = g;
  if (steps[c.tensor] > 1u) { b = P.momentum * momentum_buffer[i] + g; }
  momentum_buffer[i] = b;
  param[i] = clipped(P.flat, p - P.lr * b);
}

@compute @workgroup_size(256)
fn {{PLAIN_ENTRY}}(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = my_chunk(P.flat, wid);
  if (!updates(c, lid)) { return; }
  let i = c.start + lid;
  let p = param[i];
  param[i] = clipped(P.flat, p - P.lr * decayed_grad(i, p));
}
