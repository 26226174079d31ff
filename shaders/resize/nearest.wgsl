// nearest.wgsl — nearest-neighbour resampling of NCHW planes (PyTorch's legacy `mode='nearest'`).
//
// What it computes: out[p, oh, ow] = x[p, src(oh), src(ow)] with, per axis,
//   src(o) = min(floor(f32(o) · scale), in − 1)
// (ATen's nearest_neighbor_compute_source_index: one f32 multiply, then floor, so the result is
// exactly reproducible). `scale` is the f32 1/scaleFactor or in/out from src/ops/interpolate.ts,
// which also sets it to 1 (out == in) or 0.5 (out == 2·in) to reproduce ATen's CPU special cases.
// src_index() comes from nearest_index.wgsl, which nearest_backward.wgsl includes too.
//
// What each thread does: one output element; gid.x = ow, gid.y = oh, gid.z = plane − plane_base,
// so the coordinates come from the grid without integer division.
// Memory traffic per output element: one 4-byte load and one 4-byte store. FLOPs: 2 per axis.

//#include "resize/forward_io"

//#include "resize/nearest_index"

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let o = grid_pixel(gid);                       // (ow, oh, plane)
  if (!in_grid(o, P.out_w, P.out_h)) { return; }
  let src = vec2u(src_index(o.x, P.in_w, P.scale_w), src_index(o.y, P.in_h, P.scale_h));   // (iw, ih)
  out[(o.z * P.out_h + o.y) * P.out_w + o.x] = x[(o.z * P.in_h + src.y) * P.in_w + src.x];
}
