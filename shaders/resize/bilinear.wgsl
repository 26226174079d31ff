// bilinear.wgsl — bilinear resampling of NCHW planes (PyTorch's `interpolate(mode='bilinear')`).
//
// What it computes: for each plane p (= n·C + c) and output pixel (oh, ow),
//   out[p, oh, ow] = λ0h·(λ0w·x[p, h0, w0] + λ1w·x[p, h0, w1]) + λ1h·(λ0w·x[p, h1, w0] + λ1w·x[p, h1, w1])
// where each axis maps an output index o to two input taps (taps() of taps.wgsl, PyTorch's
// area_pixel_compute_source_index + guard_index_and_lambda):
//   align_corners = 0: src = max(0, scale·(o + 0.5) − 0.5)      align_corners = 1: src = scale·o
//   i0 = min(floor(src), in − 1), i1 = min(i0 + 1, in − 1), λ1 = clamp(src − i0, 0, 1), λ0 = 1 − λ1.
// `scale` is computed on the host exactly as PyTorch does (f32: 1/scaleFactor, in/out, or
// (in−1)/(out−1)); src/ops/interpolate.ts sets it to 1 on an axis whose size does not change,
// which reproduces ATen's "simply copy" special case.
// taps.wgsl is included by bilinear_backward.wgsl too: the backward recomputes exactly these taps.
//
// What each thread does: one output element. The 3-D grid gives the coordinates directly
// (gid.x = ow, gid.y = oh, gid.z = plane − plane_base), so there is no integer division; the
// workgroup shape (WG_X, WG_Y, WG_Z) is a template value chosen by the launcher.
// Memory traffic per output element: 4 loads of 4 bytes (16 B; neighbouring outputs share taps, so
// the input itself is read about once from memory) and one 4-byte store.
// FLOPs per output element: 9 for the blend (6 multiplies, 3 adds), about 7 per axis for the taps.

//#include "resize/forward_io"

//#include "resize/taps"

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let o = grid_pixel(gid);                       // (ow, oh, plane)
  if (!in_grid(o, P.out_w, P.out_h)) { return; }
  let th = taps(o.y, P.in_h, P.scale_h);
  let tw = taps(o.x, P.in_w, P.scale_w);
  let base = o.z * P.in_h * P.in_w;
  let r0 = base + th.i0 * P.in_w;
  let r1 = base + th.i1 * P.in_w;
  let top = tw.l0 * x[r0 + tw.i0] + tw.l1 * x[r0 + tw.i1];
  let bottom = tw.l0 * x[r1 + tw.i0] + tw.l1 * x[r1 + tw.i1];
  out[(o.z * P.out_h + o.y) * P.out_w + o.x] = th.l0 * top + th.l1 * bottom;
}
