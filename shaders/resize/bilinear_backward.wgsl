// bilinear_backward.wgsl — gradient of bilinear.wgsl with respect to its input, in gather form.
//
// What it computes: the adjoint of the forward map, dx = Aᵀ·g, with A the (separable) bilinear
// interpolation matrix. Per plane and input pixel (ih, iw):
//   dx[p, ih, iw] = Σ_oh wh(oh, ih) · Σ_ow ww(ow, iw) · g[p, oh, ow]
//   w(o, i) = (i0(o) == i ? λ0(o) : 0) + (i1(o) == i ? λ1(o) : 0)
// with i0, i1, λ0, λ1 recomputed by exactly the forward's taps() (taps.wgsl, included by both; both
// taps can be the same pixel at the border; their weights then add up, as they do in the forward). No atomics: each thread owns one
// input-gradient element and sums in a fixed order, so the result is deterministic (bitwise
// repeatable) and equals the scatter form to rounding.
//
// Candidate window (window.wgsl): an output o touches input i only if src(o) ∈ [i − 1, i + 1) (or, for the last
// input index, src(o) ≥ in − 1). Inverting the monotone map src(o) gives, per axis,
//   lo(i) = floor(inv·i + lo_off) − PAD,  hi(i) = ceil(inv·i + hi_off) + PAD
// (inv = 1/scale; the offsets come from src/ops/interpolate.ts for each align_corners value), clamped
// to [0, out − 1]; the last input index takes every output up to out − 1. PAD = 2 absorbs rounding
// in src(o) and in the window arithmetic; the exact equality tests above decide membership, so the
// window only has to be a superset. This works for any scale, integer or not, up or down.
//
// What each thread does: one input-gradient element; gid.x = iw, gid.y = ih, gid.z = plane.
// It tests about 2·inv_h + 5 candidate rows (inv ≈ out/in) and, for each of the ≈ 2·inv_h rows with a
// non-zero weight, about 2·inv_w + 5 candidate columns; it loads g only where both weights are non-zero.
// Memory traffic: each output gradient is loaded by the (up to 4) input pixels it feeds, so about
// 16 B of loads per output element and one 4-byte store per input element.
// FLOPs: 2 per used (oh, ow) pair, plus about 10 per candidate weight (taps + the two index tests);
// the column weights are recomputed for every used row (about 45 weights per element for ×2).

//#include "resize/backward_io"

//#include "resize/taps"

//#include "resize/window"

// Weight of input index i in output o along one axis.
fn weight(o: u32, i: u32, n_in: u32, scale: f32) -> f32 {
  let t = taps(o, n_in, scale);
  return select(0.0, t.l0, t.i0 == i) + select(0.0, t.l1, t.i1 == i);
}

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = grid_pixel(gid);                       // (iw, ih, plane)
  if (!in_grid(i, P.in_w, P.in_h)) { return; }
  let win = candidates(i.x, i.y);                // rows win.x ..= win.y, columns win.z ..= win.w
  let base = i.z * P.out_h * P.out_w;
  var acc = 0.0;
  for (var oh = win.x; oh <= win.y; oh++) {
    let a = weight(u32(oh), i.y, P.in_h, P.scale_h);
    if (a == 0.0) { continue; }
    let row = base + u32(oh) * P.out_w;
    var s = 0.0;
    for (var ow = win.z; ow <= win.w; ow++) {
      let b = weight(u32(ow), i.x, P.in_w, P.scale_w);
      if (b != 0.0) { s += b * g[row + u32(ow)]; }
    }
    acc += a * s;
  }
  dx[(i.z * P.in_h + i.y) * P.in_w + i.x] = acc;
}
