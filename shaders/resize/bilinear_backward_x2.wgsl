// bilinear_backward_x2.wgsl — bilinear_backward.wgsl's result for the exact ×2 upsampling with
// align_corners = false (out = 2·in on both axes, scale 0.5: SegAN's decoder), with the weights in
// closed form.
//
// What it computes: dx[p, i, j] = Σ_a wh(a) · Σ_b ww(b) · g[p, 2i − 1 + a, 2j − 1 + b], a, b = 0..3.
// With scale 0.5, input i of an axis of n receives from outputs 2i − 1 .. 2i + 2 only, with weights
//   o = 2i − 1: 1/4 (none for i = 0)        o = 2i:     3/4, or 1 for i = 0 (src clamps to 0)
//   o = 2i + 1: 3/4, or 1 for i = n − 1     o = 2i + 2: 1/4 (none for i = n − 1)
//   (both taps of output 2n − 1 are pixel n − 1: 3/4 + 1/4)
// exactly the weights bilinear_backward.wgsl computes from taps(), summed in the same order (rows,
// then columns, ascending; zero weights skipped), so the two kernels agree bitwise.
//
// What each thread does: one input-gradient element; gid.x = j, gid.y = i, gid.z = plane. Up to 16
// loads (columns clamped into the row; a row or column whose weight is zero is skipped by if /
// continue, so a load never leaves the buffer and a stray Inf there cannot leak in), no candidate
// windows, no division.
// Why: the generic gather tests ~2·inv + 5 candidate outputs per axis and recomputes taps() for each
// (~45 weights per element); it took 3.6 % of a full-width SegAN step on lavapipe.
// Memory traffic: 16 loads of 4 bytes per element (each output gradient is read by up to 4 inputs),
// one 4-byte store. FLOPs: 2 per (row, column) pair, 32 per element.

//#include "resize/backward_io"

/** The weights of outputs 2i − 1, 2i, 2i + 1, 2i + 2 on input i of an axis of n inputs. */
fn weights(i: u32, n: u32) -> vec4f {
  return vec4f(select(0.25, 0.0, i == 0u), select(0.75, 1.0, i == 0u),
               select(0.75, 1.0, i == n - 1u), select(0.25, 0.0, i == n - 1u));
}

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let p = grid_pixel(gid);                       // (j, i, plane)
  if (!in_grid(p, P.in_w, P.in_h)) { return; }
  let j = p.x;
  let i = p.y;
  let out_h = 2u * P.in_h;
  let out_w = 2u * P.in_w;
  let wh = weights(i, P.in_h);
  let ww = weights(j, P.in_w);
  // output columns 2j − 1 .. 2j + 2, clamped into the row (their weight is 0 where clamped)
  let c = vec4u(max(2u * j, 1u) - 1u, 2u * j, 2u * j + 1u, min(2u * j + 2u, out_w - 1u));
  let base = p.z * out_h * out_w;
  var acc = 0.0;
  for (var a = 0u; a < 4u; a++) {
    if (wh[a] == 0.0) { continue; }
    let row = base + (2u * i + a - 1u) * out_w;  // a = 0 only when i ≥ 1; a = 3 only when i < n − 1
    var s = 0.0;
    if (ww.x != 0.0) { s += ww.x * g[row + c.x]; }
    s += ww.y * g[row + c.y];
    s += ww.z * g[row + c.z];
    if (ww.w != 0.0) { s += ww.w * g[row + c.w]; }
    acc += wh[a] * s;
  }
  dx[(p.z * P.in_h + i) * P.in_w + j] = acc;
}
