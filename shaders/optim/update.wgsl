// update.wgsl — what the fused update kernels (adam.wgsl, rmsprop.wgsl, sgd.wgsl) share, after their
// uniform block P (whose first block is flat.wgsl's FlatHeader, and which has weight_decay): the
// chunk table of flat.wgsl, the bindings 1–4 (the flat parameters, updated in place; their gradients;
// the skip flag raised by nonfinite_check.wgsl; the chunk table), the thread's element and the
// L2-decayed gradient. A kernel's own state buffers follow from binding 5.
//#include "optim/flat"

@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> skip: array<u32>;
@group(0) @binding(4) var<storage, read> chunks: array<Chunk>;

/**
 * Whether thread lid of the workgroup that took chunk c updates flat element c.start + lid: inside
 * the chunk, and not a step skipped for a non-finite loss or gradient (skip[0] != 0).
 */
fn updates(c: Chunk, lid: u32) -> bool {
  return c.start + lid < c.end && skip[0] == 0u;
}

/** g = grad + weight_decay · p (only when weight_decay != 0). */
fn decayed_grad(i: u32, p: f32) -> f32 {
  var g = grad[i];
  if (P.weight_decay != 0.0) { g = g + P.weight_decay * p; }
  return g;
}
