// params.wgsl — included by the matmul kernels (//#include "matmul/params"): their shared uniform
// block and the batch-offset decomposition. Not a kernel of its own.

//#uniforms MatmulParams

@group(0) @binding(0) var<uniform> P: MatmulParams;

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
