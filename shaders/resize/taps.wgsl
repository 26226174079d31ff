// taps.wgsl — bilinear sampling along one axis: output index o → two input taps and their weights
// (PyTorch's area_pixel_compute_source_index + guard_index_and_lambda, in f32):
//   align_corners = 0: src = max(0, scale·(o + 0.5) − 0.5)      align_corners = 1: src = scale·o
//   i0 = min(floor(src), in − 1), i1 = min(i0 + 1, in − 1), λ1 = clamp(src − i0, 0, 1), λ0 = 1 − λ1.
// Included by bilinear.wgsl, bilinear_x2.wgsl and bilinear_backward.wgsl: one copy, so the backward
// recomputes exactly the forward's taps.

struct Taps { i0: u32, i1: u32, l0: f32, l1: f32 }

/** The taps at source position src (≥ 0) of an axis of n_in inputs. */
fn taps_at(src: f32, n_in: u32) -> Taps {
  let i0 = min(u32(floor(src)), n_in - 1u);
  let l1 = clamp(src - f32(i0), 0.0, 1.0);
  return Taps(i0, min(i0 + 1u, n_in - 1u), 1.0 - l1, l1);
}

/** Source position of output o without align_corners (half-pixel centres, clamped at 0). */
fn half_pixel_src(o: u32, scale: f32) -> f32 {
  return max(0.0, scale * (f32(o) + 0.5) - 0.5);
}

/** The taps of output o, for P.align_corners. */
fn taps(o: u32, n_in: u32, scale: f32) -> Taps {
  if (P.align_corners == 1u) { return taps_at(scale * f32(o), n_in); }
  return taps_at(half_pixel_src(o, scale), n_in);
}
