// nearest_backward.wgsl — gradient of nearest.wgsl with respect to its input, in gather form.
//
// What it computes: dx[p, ih, iw] = Σ g[p, oh, ow] over every (oh, ow) with src(oh) == ih and
// src(ow) == iw, src() recomputed exactly as in the forward (nearest_index.wgsl, included by both:
// one f32 multiply and a floor, so the membership test is exact). No atomics: each thread owns one input-gradient element and adds in a
// fixed order (oh, then ow, ascending): deterministic, and equal to the scatter form to rounding.
//
// Candidate window (window.wgsl): o maps to i only if o·scale ∈ [i, i + 1) (or ≥ in − 1 for the last index), so
//   lo(i) = floor(inv·i + lo_off) − PAD,  hi(i) = ceil(inv·i + hi_off) + PAD
// with inv = 1/scale, lo_off = 0, hi_off = inv (set by src/ops/interpolate.ts), clamped to
// [0, out − 1]; the last input index takes every output up to out − 1. PAD = 2 absorbs rounding; the
// exact test decides. Inputs that no output picks (downsampling) get 0.
//
// What each thread does: one input-gradient element; gid.x = iw, gid.y = ih, gid.z = plane.
// Memory traffic: every output gradient is loaded once in all (by the one input it came from), so
// 4 B of loads per output element plus one 4-byte store per input element.
// FLOPs: 1 add per used output, plus 2 per candidate index for the recomputed source index.

//#include "resize/backward_io"

//#include "resize/nearest_index"

//#include "resize/window"

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = grid_pixel(gid);                       // (iw, ih, plane)
  if (!in_grid(i, P.in_w, P.in_h)) { return; }
  let win = candidates(i.x, i.y);                // rows win.x ..= win.y, columns win.z ..= win.w
  let base = i.z * P.out_h * P.out_w;
  var acc = 0.0;
  for (var oh = win.x; oh <= win.y; oh++) {
    if (src_index(u32(oh), P.in_h, P.scale_h) != i.y) { continue; }
    let row = base + u32(oh) * P.out_w;
    for (var ow = win.z; ow <= win.w; ow++) {
      if (src_index(u32(ow), P.in_w, P.scale_w) == i.x) { acc += g[row + u32(ow)]; }
    }
  }
  dx[(i.z * P.in_h + i.y) * P.in_w + i.x] = acc;
}
