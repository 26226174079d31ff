// out_index.wgsl — offset in the input of kept position o (row-major over P.out_shape with
// P.out_strides). Included by the reduction kernels, whose uniform blocks all have these fields.

fn at(v: array<vec4u, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }

fn out_offset(o: u32) -> u32 {
  var rem = o;
  var off = 0u;
  for (var d = P.out_rank; d > 0u; d--) {
    let n = at(P.out_shape, d - 1u);
    off += (rem % n) * at(P.out_strides, d - 1u);
    rem /= n;
  }
  return off;
}
