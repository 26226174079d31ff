// red_index.wgsl — offset in the input of reduction index r (row-major over P.red_shape with
// P.red_strides; rank 1 is a single multiply). Included, after out_index.wgsl, by serial.wgsl and tree.wgsl.

fn red_offset(r: u32) -> u32 {
  if (P.red_rank == 1u) { return r * at(P.red_strides, 0u); }
  return strided_offset(r, P.red_rank, P.red_shape, P.red_strides);
}
