// bilinear.wgsl — bilinear resampling of NCHW planes (PyTorch's `interpolate(mode='bilinear')`).
//
// What it computes: for each plane p (= n·C + c) and output pixel (oh, ow),
//   out[p, oh, ow] = λ0h·(λ0w·x[p, h0, w0] + λ1w·x[p, h0, w1]) + λ1h·(λ0w·x[p, h1, w0] + λ1w·x[p, h1, w1])
// where each axis maps an output index o to two input taps (taps() below, PyTorch's
// area_pixel_compute_source_index + guard_index_and_lambda):
//   align_corners = 0: src = max(0, scale·(o + 0.5) − 0.5)      align_corners = 1: src = scale·o
//   i0 = min(floor(src), in − 1), i1 = min(i0 + 1, in − 1), λ1 = clamp(src − i0, 0, 1), λ0 = 1 − λ1.
// `scale` is computed on the host exactly as PyTorch does (f32: 1/scaleFactor, in/out, or
// (in−1)/(out−1)); src/ops/interpolate.ts sets it to 1 on an axis whose size does not change,
// which reproduces ATen's "simply copy" special case.
// taps() must stay identical to the one in bilinear_backward.wgsl: the backward recomputes it.
//
// What each thread does: one output element. The 3-D grid gives the coordinates directly
// (gid.x = ow, gid.y = oh, gid.z = plane − plane_base), so there is no integer division; the
// workgroup shape (WG_X, WG_Y, WG_Z) is a template value chosen by the launcher.
// Memory traffic per output element: 4 loads of 4 bytes (16 B; neighbouring outputs share taps, so
// the input itself is read about once from memory) and one 4-byte store.
// FLOPs per output element: 9 for the blend (6 multiplies, 3 adds), about 7 per axis for the taps.

//#include "resize/params"

@group(0) @binding(0) var<uniform> P: ResizeParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

struct Taps { i0: u32, i1: u32, l0: f32, l1: f32 }

fn taps(o: u32, n_in: u32, scale: f32) -> Taps {
  var src: f32;
  if (P.align_corners == 1u) {
    src = scale * f32(o);
  } else {
    src = max(0.0, scale * (f32(o) + 0.5) - 0.5);
  }
  let i0 = min(u32(floor(src)), n_in - 1u);
  let l1 = clamp(src - f32(i0), 0.0, 1.0);
  return Taps(i0, min(i0 + 1u, n_in - 1u), 1.0 - l1, l1);
}

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let ow = gid.x;
  let oh = gid.y;
  let plane = gid.z + P.plane_base;
  if (ow >= P.out_w || oh >= P.out_h || plane >= P.planes) { return; }
  let th = taps(oh, P.in_h, P.scale_h);
  let tw = taps(ow, P.in_w, P.scale_w);
  let base = plane * P.in_h * P.in_w;
  let r0 = base + th.i0 * P.in_w;
  let r1 = base + th.i1 * P.in_w;
  let top = tw.l0 * x[r0 + tw.i0] + tw.l1 * x[r0 + tw.i1];
  let bottom = tw.l0 * x[r1 + tw.i0] + tw.l1 * x[r1 + tw.i1];
  out[(plane * P.out_h + oh) * P.out_w + ow] = th.l0 * top + th.l1 * bottom;
}
