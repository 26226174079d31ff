// nearest_index.wgsl — nearest-neighbour sampling along one axis: src(o) = min(floor(f32(o) · scale),
// in − 1) (ATen's nearest_neighbor_compute_source_index: one f32 multiply, then floor, so the result
// is exactly reproducible). Included by nearest.wgsl and nearest_backward.wgsl: one copy, so the
// backward's membership test recomputes exactly the forward's index.

fn src_index(o: u32, n_in: u32, scale: f32) -> u32 {
  return min(u32(floor(f32(o) * scale)), n_in - 1u);
}
