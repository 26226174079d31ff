// sgd.wgsl — one fused SGD step (PyTorch's torch.optim.SGD, no dampening, not Nesterov, L2 weight
// decay) for one parameter tensor, in place:
//   g   = grad + weight_decay * p           (only when weight_decay != 0)
//   b   = g                    on this parameter's first step (t = steps[index] = 1)
//   b   = momentum * b + g     afterwards
//   p   = p - lr * b                        (b = g when momentum is 0: no buffer at all)
// Two entry points: the launcher names the one it wants `main` through the templates
// ({{MOMENTUM_ENTRY}} / {{PLAIN_ENTRY}}). The pipeline's automatic layout holds only the bindings
// its entry point uses, so the plain variant binds p, g and skip only.
// skip[0] != 0 (raised by optim/nonfinite_check.wgsl in a guarded step) leaves everything untouched.
// One element per thread, 256 threads per workgroup; grids wider than 65535 workgroups fold into y.
// Memory traffic: with momentum 20 bytes per element (read p, g, b; write p, b; 16 on the first
// step, which does not read b), without momentum 12 bytes (read p, g; write p).

struct Params {
  count: u32,
  grid_x: u32,
  index: u32,        // this parameter's slot in steps
  pad0: u32,
  lr: f32,
  momentum: f32,
  weight_decay: f32,
  pad1: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> skip: array<u32>;
@group(0) @binding(4) var<storage, read_write> momentum_buffer: array<f32>;
@group(0) @binding(5) var<storage, read> steps: array<u32>;

fn decayed_grad(i: u32, p: f32) -> f32 {
  var g = grad[i];
  if (P.weight_decay != 0.0) { g = g + P.weight_decay * p; }
  return g;
}

@compute @workgroup_size(256)
fn {{MOMENTUM_ENTRY}}(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * P.grid_x;
  if (i >= P.count || skip[0] != 0u) { return; }
  let p = param[i];
  let g = decayed_grad(i, p);
  var b = g;
  if (steps[P.index] > 1u) { b = P.momentum * momentum_buffer[i] + g; }
  momentum_buffer[i] = b;
  param[i] = p - P.lr * b;
}

@compute @workgroup_size(256)
fn {{PLAIN_ENTRY}}(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * P.grid_x;
  if (i >= P.count || skip[0] != 0u) { return; }
  let p = param[i];
  param[i] = p - P.lr * decayed_grad(i, p);
}
