// nearest.wgsl — nearest-neighbour resampling of NCHW planes (PyTorch's legacy `mode='nearest'`).
//
// What it computes: out[p, oh, ow] = x[p, src(oh), src(ow)] with, per axis,
//   src(o) = min(floor(f32(o) · scale), in − 1)
// (ATen's nearest_neighbor_compute_source_index: one f32 multiply, then floor, so the result is
// exactly reproducible). `scale` is the f32 1/scaleFactor or in/out from src/ops/interpolate.ts,
// which also sets it to 1 (out == in) or 0.5 (out == 2·in) to reproduce ATen's CPU special cases.
// src_index() must stay identical to the one in nearest_backward.wgsl.
//
// What each thread does: one output element; gid.x = ow, gid.y = oh, gid.z = plane − plane_base,
// so the coordinates come from the grid without integer division.
// Memory traffic per output element: one 4-byte load and one 4-byte store. FLOPs: 2 per axis.

//#include "resize/params"

@group(0) @binding(0) var<uniform> P: ResizeParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

fn src_index(o: u32, n_in: u32, scale: f32) -> u32 {
  return min(u32(floor(f32(o) * scale)), n_in - 1u);
}

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let ow = gid.x;
  let oh = gid.y;
  let plane = gid.z + P.plane_base;
  if (ow >= P.out_w || oh >= P.out_h || plane >= P.planes) { return; }
  let ih = src_index(oh, P.in_h, P.scale_h);
  let iw = src_index(ow, P.in_w, P.scale_w);
  out[(plane * P.out_h + oh) * P.out_w + ow] = x[(plane * P.in_h + ih) * P.in_w + iw];
}
