// bilinear_x2.wgsl — bilinear.wgsl's result for the exact ×2 upsampling with align_corners = false
// (out = 2·in on both axes, scale 0.5: SegAN's decoder), four outputs per thread.
//
// What it computes: out[p, oh, ow] as bilinear.wgsl, with the same taps() and the same products in
// the same order. With scale 0.5 the taps are known in closed form: output 2i reads input rows
// (i − 1, i) for i ≥ 1 and (0, min(1, in − 1)) for i = 0 (with weights 1 and 0); output 2i + 1 reads
// (i, min(i + 1, in − 1)). So the 2×2 outputs (2i .. 2i + 1, 2j .. 2j + 1) need only the 3×3 inputs
// rows r0 = max(i − 1, 0), r1 = i, r2 = min(i + 1, in − 1) and the same columns.
//
// What each thread does: one input pixel (gid.x = j, gid.y = i, gid.z = plane − plane_base), 9 loads
// and 4 stores; the weights come from taps.wgsl, as in bilinear.wgsl.
// Why: on lavapipe a storage load costs far more than the arithmetic (each is a per-lane loop with a
// bounds check), and the generic kernel makes 16 loads per 4 outputs. Here 9.
// Memory traffic per input pixel: 9 loads of 4 bytes (the input is read about once from memory) and
// four 4-byte stores. FLOPs per output: 9 for the blend.

//#include "resize/forward_io"

//#include "resize/taps"

// bilinear.wgsl's taps() for align_corners = 0 (taps.wgsl), without the branch on it.
fn taps_x2(o: u32, n_in: u32, scale: f32) -> Taps {
  return taps_at(half_pixel_src(o, scale), n_in);
}

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let p = grid_pixel(gid);                       // (j, i, plane)
  if (!in_grid(p, P.in_w, P.in_h)) { return; }
  let j = p.x;
  let i = p.y;
  let base = p.z * P.in_h * P.in_w;
  let rows = vec3u(max(i, 1u) - 1u, i, min(i + 1u, P.in_h - 1u)) * P.in_w + base;
  let cols = vec3u(max(j, 1u) - 1u, j, min(j + 1u, P.in_w - 1u));
  let x0 = vec3f(x[rows.x + cols.x], x[rows.x + cols.y], x[rows.x + cols.z]);
  let x1 = vec3f(x[rows.y + cols.x], x[rows.y + cols.y], x[rows.y + cols.z]);
  let x2 = vec3f(x[rows.z + cols.x], x[rows.z + cols.y], x[rows.z + cols.z]);
  // The even output's second tap is column j, or column min(1, in − 1) = cols.z when j = 0.
  let te = taps_x2(2u * j, P.in_w, P.scale_w);
  let to = taps_x2(2u * j + 1u, P.in_w, P.scale_w);
  let first_col = j == 0u;
  // Per loaded row: the even and the odd output column's blend (bilinear.wgsl's `top` / `bottom`).
  let e = vec3f(te.l0 * x0.x + te.l1 * select(x0.y, x0.z, first_col),
                te.l0 * x1.x + te.l1 * select(x1.y, x1.z, first_col),
                te.l0 * x2.x + te.l1 * select(x2.y, x2.z, first_col));
  let o = vec3f(to.l0 * x0.y + to.l1 * x0.z,
                to.l0 * x1.y + to.l1 * x1.z,
                to.l0 * x2.y + to.l1 * x2.z);
  let he = taps_x2(2u * i, P.in_h, P.scale_h);
  let ho = taps_x2(2u * i + 1u, P.in_h, P.scale_h);
  let first_row = i == 0u;
  let out_w = 2u * P.in_w;
  let even = (p.z * 2u * P.in_h + 2u * i) * out_w + 2u * j;
  out[even] = he.l0 * e.x + he.l1 * select(e.y, e.z, first_row);
  out[even + 1u] = he.l0 * o.x + he.l1 * select(o.y, o.z, first_row);
  out[even + out_w] = ho.l0 * e.y + ho.l1 * e.z;
  out[even + out_w + 1u] = ho.l0 * o.y + ho.l1 * o.z;
}
