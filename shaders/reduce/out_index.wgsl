// out_index.wgsl — offsets in the input of a strided (row-major) walk: strided_offset(), and the
// offset of kept position o (over P.out_shape with P.out_strides). Included by every reduction kernel,
// whose uniform blocks all have these fields; red_index.wgsl builds on it.

fn at(v: array<vec4u, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }

/** Offset of index i, row-major over the first `rank` axes of shape, each with its stride. */
fn strided_offset(i: u32, rank: u32, shape: array<vec4u, 2>, strides: array<vec4u, 2>) -> u32 {
  var rem = i;
  var off = 0u;
  for (var d = rank; d > 0u; d--) {
    let n = at(shape, d - 1u);
    off += (rem % n) * at(strides, d - 1u);
    rem /= n;
  }
  return off;
}

fn out_offset(o: u32) -> u32 {
  return strided_offset(o, P.out_rank, P.out_shape, P.out_strides);
}
