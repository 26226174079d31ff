// params.wgsl — the uniform block every resize kernel reads (included; filled by
// src/ops/interpolate.ts params()).
struct Params {
  in_h: u32, in_w: u32, out_h: u32, out_w: u32,
  planes: u32,                      // N·C
  plane_base: u32,                  // first plane of this dispatch (grids taller than the z limit)
  align_corners: u32,               // bilinear only
  pad0: u32,
  scale_h: f32, scale_w: f32,       // source-index scale per axis (f32, as PyTorch computes it)
  inv_h: f32, lo_h: f32, hi_h: f32, // the backward's candidate windows (see bilinear_backward.wgsl)
  inv_w: f32, lo_w: f32, hi_w: f32,
}
