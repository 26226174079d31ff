// subgroup_rows.wgsl — what the subgroup conv kernels (forward_sg.wgsl, weight_grad_sg.wgsl) share,
// after their template constants (KW, SW, PW, DW, X_MODE) and bindings (P with W, x, x4: the same
// buffer as vec4s): the 16 vec4 accumulators (their meaning is the kernel's), the run of input
// columns that 4 neighbouring pixels × KW taps read in one kernel row, and broadcasts from the
// first 8 lanes of a subgroup (the lane a constant once inlined: subgroupBroadcast wants one).
// The run is 3·SW + (KW−1)·DW + 1 columns from column col0 (10 for 4×4 stride 2, 6 for 3×3 stride
// 1). X_MODE 2 (W % 4 == 0, rows vec4-aligned) loads it as NC aligned vec4, zero where the run
// leaves the row (an aligned vec4 is wholly inside or outside); X_MODE 1 loads each column once.

const RUN: u32 = 3u * SW + (KW - 1u) * DW + 1u;  // columns in the run of 4 pixels × KW taps
const LEAD: u32 = select(0u, (4u - PW % 4u) % 4u, X_MODE == 2u);   // offset of the run's first column in run[0]
const NC: u32 = (LEAD + RUN + 3u) / 4u;          // vec4 chunks in the run (≤ 8)

var<private> acc: array<vec4f, 16>;
var<private> run: array<vec4f, 8>;              // the row's run of columns

/** A copy of acc, for loops over it: indexing acc itself with a runtime index would keep it in memory. */
fn acc_values() -> array<vec4f, 16> {
  return array<vec4f, 16>(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7],
                          acc[8], acc[9], acc[10], acc[11], acc[12], acc[13], acc[14], acc[15]);
}

/** Run element i (a constant once inlined). */
fn rv(i: u32) -> f32 { return run[i / 4u][i % 4u]; }

/** Fill run[] from input row offset `row`, starting at column col0 (may be negative: padding); row_ok false: a padding row, all zeros. */
fn load_run(row: u32, col0: i32, row_ok: bool) {
  if (X_MODE == 2u) {
    let W4 = i32(P.W / 4u);
    let ch0 = (col0 - i32(LEAD)) / 4;            // exact: ox·SW is a multiple of 4, PW + LEAD too
    for (var m = 0u; m < NC; m++) {
      let ch = ch0 + i32(m);
      let v = x4[row / 4u + u32(clamp(ch, 0, W4 - 1))];
      run[m] = select(vec4f(0.0), v, row_ok && ch >= 0 && ch < W4);
    }
  } else {
    for (var m = 0u; m < RUN; m++) {
      let col = col0 + i32(m);
      let v = x[row + u32(clamp(col, 0, i32(P.W) - 1))];
      run[m / 4u][m % 4u] = select(0.0, v, row_ok && col >= 0 && col < i32(P.W));
    }
  }
}

/** v from lane i (0 … 7) of the subgroup. */
fn bc8(v: vec4f, i: u32) -> vec4f {
  switch i {
    case 0u: { return subgroupBroadcast(v, 0u); }
    case 1u: { return subgroupBroadcast(v, 1u); }
    case 2u: { return subgroupBroadcast(v, 2u); }
    case 3u: { return subgroupBroadcast(v, 3u); }
    case 4u: { return subgroupBroadcast(v, 4u); }
    case 5u: { return subgroupBroadcast(v, 5u); }
    case 6u: { return subgroupBroadcast(v, 6u); }
    default: { return subgroupBroadcast(v, 7u); }
  }
}
