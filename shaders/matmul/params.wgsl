// params.wgsl — included by the matmul kernels (//#include "matmul/params"): their shared uniform
// block and the batch-offset decomposition. Not a kernel of its own.

struct Params {
  M: u32,
  N: u32,                         // columns of B and C
  K: u32,
  batch_rank: u32,
  batch_shape: vec4u,             // broadcast batch shape (rank <= 4 after merging axes)
  a_batch_strides: vec4u,         // in elements; 0 where A is broadcast
  b_batch_strides: vec4u,
}

@group(0) @binding(0) var<uniform> P: Params;

/** Element offsets of A's and B's matrices for batch index z (broadcast batch axes have stride 0). */
fn batch_offsets(z: u32) -> vec2u {
  var rem = z;
  var off = vec2u(0u);
  for (var d = P.batch_rank; d > 0u; d--) {
    let n = P.batch_shape[d - 1u];
    let c = rem % n;
    rem /= n;
    off += c * vec2u(P.a_batch_strides[d - 1u], P.b_batch_strides[d - 1u]);
  }
  return off;
}
