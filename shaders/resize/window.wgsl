// window.wgsl — the candidate windows of the generic gather-form backwards (bilinear_backward.wgsl,
// nearest_backward.wgsl): the outputs that may read input index i along one axis,
//   lo(i) = floor(inv·i + lo_off) − PAD,  hi(i) = ceil(inv·i + hi_off) + PAD,
// clamped to [0, out − 1], the last input index taking every output up to out − 1 (inv, lo_off and
// hi_off per axis from src/ops/interpolate.ts). PAD = 2 absorbs rounding; the kernels' exact index
// tests decide membership, so a window only has to be a superset.

const PAD = 2.0;  // candidate positions added on each side of a window

/** Candidate outputs [lo, hi] (inclusive) for input index i along one axis. */
fn window(i: u32, n_in: u32, n_out: u32, inv: f32, lo_off: f32, hi_off: f32) -> vec2i {
  let fi = f32(i);
  // Clamped in f32 before converting, so no integer arithmetic can overflow.
  let lo = i32(max(floor(inv * fi + lo_off) - PAD, 0.0));
  var hi = i32(min(ceil(inv * fi + hi_off) + PAD, f32(n_out) - 1.0));
  if (i == n_in - 1u) { hi = i32(n_out) - 1i; }
  return vec2i(lo, hi);
}

/** The candidate output rows (xy) and columns (zw) of input pixel (iw, ih). */
fn candidates(iw: u32, ih: u32) -> vec4i {
  return vec4i(window(ih, P.in_h, P.out_h, P.inv_h, P.lo_h, P.hi_h), window(iw, P.in_w, P.out_w, P.inv_w, P.lo_w, P.hi_w));
}
