// nearest_backward.wgsl — gradient of nearest.wgsl with respect to its input, in gather form.
//
// What it computes: dx[p, ih, iw] = Σ g[p, oh, ow] over every (oh, ow) with src(oh) == ih and
// src(ow) == iw, src() recomputed exactly as in the forward (one f32 multiply and a floor, so the
// membership test is exact). No atomics: each thread owns one input-gradient element and adds in a
// fixed order (oh, then ow, ascending): deterministic, and equal to the scatter form to rounding.
//
// Candidate window: o maps to i only if o·scale ∈ [i, i + 1) (or ≥ in − 1 for the last index), so
//   lo(i) = floor(inv·i + lo_off) − PAD,  hi(i) = ceil(inv·i + hi_off) + PAD
// with inv = 1/scale, lo_off = 0, hi_off = inv (set by src/ops/interpolate.ts), clamped to
// [0, out − 1]; the last input index takes every output up to out − 1. PAD = 2 absorbs rounding; the
// exact test decides. Inputs that no output picks (downsampling) get 0.
//
// What each thread does: one input-gradient element; gid.x = iw, gid.y = ih, gid.z = plane.
// Memory traffic: every output gradient is loaded once in all (by the one input it came from), so
// 4 B of loads per output element plus one 4-byte store per input element.
// FLOPs: 1 add per used output, plus 2 per candidate index for the recomputed source index.

//#include "resize/params"

@group(0) @binding(0) var<uniform> P: ResizeParams;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;

const PAD = 2.0;  // candidate positions added on each side of a window

// Identical to nearest.wgsl.
fn src_index(o: u32, n_in: u32, scale: f32) -> u32 {
  return min(u32(floor(f32(o) * scale)), n_in - 1u);
}

fn window(i: u32, n_in: u32, n_out: u32, inv: f32, lo_off: f32, hi_off: f32) -> vec2i {
  let fi = f32(i);
  // Clamped in f32 before converting, so no integer arithmetic can overflow.
  let lo = i32(max(floor(inv * fi + lo_off) - PAD, 0.0));
  var hi = i32(min(ceil(inv * fi + hi_off) + PAD, f32(n_out) - 1.0));
  if (i == n_in - 1u) { hi = i32(n_out) - 1i; }
  return vec2i(lo, hi);
}

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let iw = gid.x;
  let ih = gid.y;
  let plane = gid.z + P.plane_base;
  if (iw >= P.in_w || ih >= P.in_h || plane >= P.planes) { return; }
  let wh = window(ih, P.in_h, P.out_h, P.inv_h, P.lo_h, P.hi_h);
  let ww = window(iw, P.in_w, P.out_w, P.inv_w, P.lo_w, P.hi_w);
  let base = plane * P.out_h * P.out_w;
  var acc = 0.0;
  for (var oh = wh.x; oh <= wh.y; oh++) {
    if (src_index(u32(oh), P.in_h, P.scale_h) != ih) { continue; }
    let row = base + u32(oh) * P.out_w;
    for (var ow = ww.x; ow <= ww.y; ow++) {
      if (src_index(u32(ow), P.in_w, P.scale_w) == iw) { acc += g[row + u32(ow)]; }
    }
  }
  dx[(plane * P.in_h + ih) * P.in_w + iw] = acc;
}
