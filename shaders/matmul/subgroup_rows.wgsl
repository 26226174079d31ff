// subgroup_rows.wgsl — what the subgroup matmul kernels (subgroup_tile.wgsl, subgroup_wide.wgsl)
// share, after matmul/params and their bindings: a thread's 4 rows of A and their loads for 8 steps
// along k. Rows past M read a clamped row (garbage that is never stored); steps past K read exact
// zeros (select, not a multiply by 0, so an infinity cannot become NaN in a stored output).

/** The vec4 offsets in A of rows m … m + 3 (clamped to M − 1) of the matrix at vec4 a_off4; K4 vec4 per row. */
fn a_rows(a_off4: u32, m: u32, K4: u32) -> vec4u {
  return vec4u(a_off4 + min(m, P.M - 1u) * K4, a_off4 + min(m + 1u, P.M - 1u) * K4,
               a_off4 + min(m + 2u, P.M - 1u) * K4, a_off4 + min(m + 3u, P.M - 1u) * K4);
}

/**
 * A at k0 … k0 + 7 for the 4 rows as 8 vec4: [lo, hi] of row 0, then of rows 1, 2, 3 (hi is zero
 * when K % 8 == 4 ends here).
 */
fn load_a(ra: vec4u, k0: u32) -> array<vec4f, 8> {
  let q = k0 / 4u;
  let more = k0 + 4u < P.K;
  let q1 = select(q, q + 1u, more);
  let z = vec4f(0.0);
  return array<vec4f, 8>(A[ra.x + q], select(z, A[ra.x + q1], more), A[ra.y + q], select(z, A[ra.y + q1], more),
                         A[ra.z + q], select(z, A[ra.z + q1], more), A[ra.w + q], select(z, A[ra.w + q1], more));
}
