// forward_sg.wgsl — conv2d as an implicit GEMM with a fused epilogue, for kernels up to 4 taps wide,
// with weights shared through subgroup broadcasts and input rows loaded as aligned vec4 runs. Used
// on lavapipe (src/ops/conv-launch.ts, useSubgroups) for conv2d's forward and, phase by phase, for every
// transposed conv (conv2d's dX, convTranspose2d's forward).
//   y[n, co, oy, ox] = act( bias[co] + Σ_{ci, ki, kj} x[n, ci, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw] · w[co, ci, ki, kj] )
// Output pixel (oy, ox) of the computed grid is stored at row oy·out_sh + out_ry, column
// ox·out_sw + out_rx of y (1, 1, 0, 0 for a plain conv; the stride and the phase for one phase of a
// transposed conv, whose reversed sub-kernel the launcher puts in wt).
//
// Tiling: thread = CO output channels (4 when Cout ≤ 4, 8, or 16 when Cout > 8) × 4 neighbouring pixels ox0 .. ox0+3 of
// row oy of image n: CO vec4 accumulators; wt[k, co] pre-transposed with co padded to CO. Grid x
// enumerates (image, row, pixel quad), so a 10×10 output of batch 8 fills 4 whole workgroups of 64;
// grid z is the channel group, the same for the whole workgroup. Per kernel row (ci, ki), KW taps:
//  - Weights: every lane of a subgroup needs the same ITEMS = KW·CO/4 vec4 of wt. Lane l loads only
//    items l mod 8 and 8 + l mod 8 (1 load, 2 when ITEMS > 8, instead of ITEMS), and the taps take
//    them from the other lanes with subgroupBroadcast (a register move on llvmpipe). Needs a subgroup
//    size of at least 8 (lavapipe: 8) and KW ≤ 4. No lane may leave before the loop: threads past the
//    end compute a clamped copy and skip the store; whole subgroups past the end leave (subgroupAll).
//  - Input: the 4 pixels × KW taps read columns ox0·SW − PW + {t·SW + kj·DW}, a run of
//    3·SW + (KW−1)·DW + 1 columns (10 for 4×4 stride 2, 6 for 3×3 stride 1). X_MODE 2 (W % 4 == 0,
//    rows vec4-aligned): the run is loaded as NC aligned vec4 (4 resp. 3), zero where the run leaves
//    the row (an aligned vec4 is wholly inside or outside), instead of 4·KW scalar loads. X_MODE 1:
//    each column of the run once, as a scalar. X_MODE 0: 4 scalar loads per tap, as in forward.wgsl.
// KW, SW, PW, DW are template constants, so the column arithmetic folds away. No workgroup memory.
// The run, the accumulators and the broadcasts come from subgroup_rows.wgsl (shared with
// weight_grad_sg.wgsl), the bindings 0–4, the activation and the scalar tap loads from forward_base.wgsl.
// Memory traffic per kernel row of 4×4 stride 2 with CO16: 4 vec4 loads of x + 2 of wt (≈ 15
// scalar-load equivalents on llvmpipe) for 256 FMAs, against 16 scalar + 8 vec4 loads (≈ 36) for 128
// FMAs in forward.wgsl. Unique bytes: x read ~Cout/CO times (mostly from cache), wt once per pixel
// quad, y written once. FLOPs: 2·N·Cout·OH·OW·Cin·kh·kw.
enable subgroups;
diagnostic(off, subgroup_uniformity);   // after the subgroupAll exit every lane of a subgroup is still there

const KW: u32 = {{KW}}u;                         // kernel width, 1 … 4
const SW: u32 = {{SW}}u;                         // column stride
const PW: u32 = {{PW}}u;                         // leading column padding
const DW: u32 = {{DW}}u;                         // column dilation
const X_MODE: u32 = {{X_MODE}}u;                 // how x reaches the taps: 0 scalar loads per tap,
                                                 // 1 the run as scalar loads, 2 the run as aligned vec4 (W % 4 == 0)
const CO: u32 = {{CO}}u;                         // output channels per thread: 4, 8 or 16 (wt padded to CO)
const CO16: bool = CO == 16u;
const VPT: u32 = CO / 4u;                        // vec4 of wt per tap
const ITEMS: u32 = KW * VPT;                     // vec4 of wt per kernel row (≤ 16: two per lane)

//#include "conv/forward_base"

@group(0) @binding(5) var<storage, read> x4: array<vec4f>;     // the same buffer as x

// acc[4h + t]: channels co0 + 4h … co0 + 4h + 3 at pixel t; run: the row's run of columns (X_MODE ≠ 0)
//#include "conv/subgroup_rows"

// Item i of this kernel row's weights, from the lane that loaded it (i is a constant after inlining).
fn bc(mine: vec4f, mine2: vec4f, i: u32) -> vec4f {
  if (i < 8u) { return bc8(mine, i); }
  return bc8(mine2, i - 8u);
}

// Tap kj's input value at the 4 pixels (from the run, or 4 scalar loads).
fn tap_x(kj: u32, r: InputRow, ix0: vec4i, ok_px: vec4<bool>) -> vec4f {
  if (X_MODE != 0u) {
    let i = vec4u(LEAD) + vec4u(0u, SW, 2u * SW, 3u * SW) + vec4u(kj * DW);
    return vec4f(rv(i.x), rv(i.y), rv(i.z), rv(i.w));
  }
  return load_quad(r, ix0 + vec4i(i32(kj * DW)), ok_px);
}

fn tap(v: vec4f, w0: vec4f, w1: vec4f) {
  acc[0] = fma(vec4f(v.x), w0, acc[0]); acc[1] = fma(vec4f(v.y), w0, acc[1]);
  acc[2] = fma(vec4f(v.z), w0, acc[2]); acc[3] = fma(vec4f(v.w), w0, acc[3]);
  if (CO >= 8u) {                                 // CO = 4 (Cout ≤ 4): w1 is not this tap's
    acc[4] = fma(vec4f(v.x), w1, acc[4]); acc[5] = fma(vec4f(v.y), w1, acc[5]);
    acc[6] = fma(vec4f(v.z), w1, acc[6]); acc[7] = fma(vec4f(v.w), w1, acc[7]);
  }
}

// CO16: channels co0 + 8 … co0 + 15.
fn tap_hi(v: vec4f, w2: vec4f, w3: vec4f) {
  acc[8] = fma(vec4f(v.x), w2, acc[8]); acc[9] = fma(vec4f(v.y), w2, acc[9]);
  acc[10] = fma(vec4f(v.z), w2, acc[10]); acc[11] = fma(vec4f(v.w), w2, acc[11]);
  acc[12] = fma(vec4f(v.x), w3, acc[12]); acc[13] = fma(vec4f(v.y), w3, acc[13]);
  acc[14] = fma(vec4f(v.z), w3, acc[14]); acc[15] = fma(vec4f(v.w), w3, acc[15]);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) sid: u32) {
  // x enumerates (image, row, pixel quad): a 10×10 output of batch 8 is 240 threads in 4 full
  // workgroups (one image per workgroup would leave 34 of 64 threads idle). z is the channel group.
  let quads = (P.OW + 3u) / 4u;
  let total = P.N * P.OH * quads;
  let live = gid.x < total;                      // threads past the end run the loop but store nothing
  if (subgroupAll(!live)) { return; }            // whole subgroups past the end leave
  let g = min(gid.x, total - 1u);
  let n = g / (P.OH * quads);
  let oy = (g / quads) % P.OH;
  let ox0 = (g % quads) * 4u;
  let co0 = wid.z * CO;
  let ix0 = vec4i(vec4u(ox0, ox0 + 1u, ox0 + 2u, ox0 + 3u) * SW) - i32(PW);
  let ok_px = vec4u(ox0, ox0 + 1u, ox0 + 2u, ox0 + 3u) < vec4u(P.OW);
  let iy0 = i32(oy * P.sh) - i32(P.ph);
  let HW = P.H * P.W;
  let c4 = P.cout_pad / 4u;
  // This lane's share of a row's weights: items sid mod 8 and 8 + sid mod 8 (when ITEMS > 8); item i
  // is tap i / VPT, channels co0 + 4·(i mod VPT) …
  let item = sid & 7u;
  let w_off = min(item / VPT, KW - 1u) * c4 + co0 / 4u + item % VPT;
  let w_off2 = min((item + 8u) / VPT, KW - 1u) * c4 + co0 / 4u + (item + 8u) % VPT;
  for (var ci = 0u; ci < P.Cin; ci++) {
    let plane = (n * P.Cin + ci) * HW;
    for (var ki = 0u; ki < P.kh; ki++) {
      let r = input_row(plane, iy0 + i32(ki * P.dh));
      let mine = wt[((ci * P.kh + ki) * KW) * c4 + w_off];
      var mine2 = vec4f(0.0);
      if (ITEMS > 8u) { mine2 = wt[((ci * P.kh + ki) * KW) * c4 + w_off2]; }
      if (X_MODE != 0u) { load_run(r.row, ix0.x, r.ok); }   // the run from column ox0·SW − PW
      let v0 = tap_x(0u, r, ix0, ok_px);
      tap(v0, bc(mine, mine2, 0u), bc(mine, mine2, 1u));
      if (CO16) { tap_hi(v0, bc(mine, mine2, 2u), bc(mine, mine2, 3u)); }
      if (KW > 1u) {
        let v1 = tap_x(1u, r, ix0, ok_px);
        tap(v1, bc(mine, mine2, VPT), bc(mine, mine2, VPT + 1u));
        if (CO16) { tap_hi(v1, bc(mine, mine2, VPT + 2u), bc(mine, mine2, VPT + 3u)); }
      }
      if (KW > 2u) {
        let v2 = tap_x(2u, r, ix0, ok_px);
        tap(v2, bc(mine, mine2, 2u * VPT), bc(mine, mine2, 2u * VPT + 1u));
        if (CO16) { tap_hi(v2, bc(mine, mine2, 2u * VPT + 2u), bc(mine, mine2, 2u * VPT + 3u)); }
      }
      if (KW > 3u) {
        let v3 = tap_x(3u, r, ix0, ok_px);
        tap(v3, bc(mine, mine2, 3u * VPT), bc(mine, mine2, 3u * VPT + 1u));
        if (CO16) { tap_hi(v3, bc(mine, mine2, 3u * VPT + 2u), bc(mine, mine2, 3u * VPT + 3u)); }
      }
    }
  }
  if (!live) { return; }
  let plane_out = P.out_h * P.out_w;
  let pix = (oy * P.out_sh + P.out_ry) * P.out_w + P.out_rx;
  let accs = acc_values();
  for (var c = 0u; c < CO; c++) {
    let co = co0 + c;
    if (co >= P.Cout) { break; }
    let bv = select(0.0, bias[co], P.has_bias == 1u);
    let base = (n * P.Cout + co) * plane_out + pix;
    for (var t = 0u; t < 4u; t++) {
      if (ox0 + t < P.OW) { y[base + (ox0 + t) * P.out_sw] = activate(accs[(c / 4u) * 4u + t][c % 4u] + bv); }
    }
  }
}
