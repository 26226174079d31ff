// red_index.wgsl — offset in the input of reduction index r (row-major over P.red_shape with
// P.red_strides; rank 1 is a single multiply). Included by serial.wgsl and tree.wgsl.

fn red_offset(r: u32) -> u32 {
  if (P.red_rank == 1u) { return r * at(P.red_strides, 0u); }
  var rem = r;
  var off = 0u;
  for (var d = P.red_rank; d > 0u; d--) {
    let n = at(P.red_shape, d - 1u);
    off += (rem % n) * at(P.red_strides, d - 1u);
    rem /= n;
  }
  return off;
}
