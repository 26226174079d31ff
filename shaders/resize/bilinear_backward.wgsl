// bilinear_backward.wgsl — gradient of bilinear.wgsl with respect to its input, in gather form.
//
// What it computes: the adjoint of the forward map, dx = Aᵀ·g, with A the (separable) bilinear
// interpolation matrix. Per plane and input pixel (ih, iw):
//   dx[p, ih, iw] = Σ_oh wh(oh, ih) · Σ_ow ww(ow, iw) · g[p, oh, ow]
//   w(o, i) = (i0(o) == i ? λ0(o) : 0) + (i1(o) == i ? λ1(o) : 0)
// with i0, i1, λ0, λ1 recomputed by exactly the forward's taps() (both taps can be the same pixel at
// the border; their weights then add up, as they do in the forward). No atomics: each thread owns one
// input-gradient element and sums in a fixed order, so the result is deterministic (bitwise
// repeatable) and equals the scatter form to rounding.
//
// Candidate window: an output o touches input i only if src(o) ∈ [i − 1, i + 1) (or, for the last
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

//#include "resize/params"

@group(0) @binding(0) var<uniform> P: ResizeParams;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;

const PAD = 2.0;  // candidate positions added on each side of a window

struct Taps { i0: u32, i1: u32, l0: f32, l1: f32 }

// Identical to bilinear.wgsl.
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

// Weight of input index i in output o along one axis.
fn weight(o: u32, i: u32, n_in: u32, scale: f32) -> f32 {
  let t = taps(o, n_in, scale);
  return select(0.0, t.l0, t.i0 == i) + select(0.0, t.l1, t.i1 == i);
}

// Candidate outputs [lo, hi] (inclusive) for input index i along one axis.
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
    let a = weight(u32(oh), ih, P.in_h, P.scale_h);
    if (a == 0.0) { continue; }
    let row = base + u32(oh) * P.out_w;
    var s = 0.0;
    for (var ow = ww.x; ow <= ww.y; ow++) {
      let b = weight(u32(ow), iw, P.in_w, P.scale_w);
      if (b != 0.0) { s += b * g[row + u32(ow)]; }
    }
    acc += a * s;
  }
  dx[(plane * P.in_h + ih) * P.in_w + iw] = acc;
}
