// forward.wgsl — conv2d as an implicit GEMM with a fused epilogue:
//   y[n, co, oy, ox] = act( bias[co] + Σ_{ci, ki, kj} x[n, ci, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw] · w[co, ci, ki, kj] )
// (zero outside the input: padding), act = identity, ReLU or LeakyReLU(slope).
//
// GEMM view: rows = output channels, columns = output pixels, inner dimension K = Cin·kh·kw. The
// im2col matrix is never built: each thread computes its input addresses from (ci, ki, kj) on the fly
// (input_row() and load_quad() of forward_base.wgsl, shared with forward_sg.wgsl).
// Weights come pre-transposed as wt[k, co] (k = (ci·kh + ki)·kw + kj, co padded to a multiple of 8 with
// zeros; src/ops/conv-weights.ts builds it), so one vec4 load fetches 4 output channels of one tap.
//
// Tiling (register tiles, no workgroup memory: on lavapipe each load costs a bounds check per lane and
// workgroup memory is slower than the cache): thread (gid.x, gid.y, gid.z) owns 8 output channels
// co0 .. co0+7 and 4 neighbouring pixels ox0 .. ox0+3 of row oy of image n. Per tap it loads 4 input
// values (one per pixel, 0 where padding) and 2 vec4 of weights, then does 32 FMAs into 8 vec4
// accumulators. Workgroups are 64 threads along x, which enumerates (row, pixel quad): neighbouring
// threads read neighbouring input columns, and a 10×10 image still fills whole workgroups (with
// one row per workgroup, 61 of 64 lanes would idle through the whole loop on a CPU adapter).
// Memory traffic: x is read ~Cout/8 times (mostly from cache), wt once per pixel quad, y written once.
// FLOPs: 2·N·Cout·OH·OW·Cin·kh·kw.

//#include "conv/forward_base"

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  // x enumerates (row, pixel quad) pairs, so that small images still fill whole workgroups.
  let quads = (P.OW + 3u) / 4u;
  let oy = gid.x / quads;
  let ox0 = (gid.x % quads) * 4u;
  let n = gid.z / P.co_groups;
  let co0 = (gid.z % P.co_groups) * 8u;
  if (ox0 >= P.OW || oy >= P.OH) { return; }
  // Input column of each pixel for tap column 0 (may be negative: padding).
  let ix0 = vec4i(vec4u(ox0, ox0 + 1u, ox0 + 2u, ox0 + 3u) * P.sw) - i32(P.pw);
  let pixel_ok = vec4u(ox0, ox0 + 1u, ox0 + 2u, ox0 + 3u) < vec4u(P.OW);
  let iy0 = i32(oy * P.sh) - i32(P.ph);
  let HW = P.H * P.W;
  let c4 = P.cout_pad / 4u;
  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);   // channels co0..co0+3, pixels 0..3
  var b0 = vec4f(0.0); var b1 = vec4f(0.0); var b2 = vec4f(0.0); var b3 = vec4f(0.0);   // channels co0+4..co0+7
  var k = 0u;
  for (var ci = 0u; ci < P.Cin; ci++) {
    let plane = (n * P.Cin + ci) * HW;
    for (var ki = 0u; ki < P.kh; ki++) {
      let r = input_row(plane, iy0 + i32(ki * P.dh));
      for (var kj = 0u; kj < P.kw; kj++) {
        let v = load_quad(r, ix0 + vec4i(i32(kj * P.dw)), pixel_ok);
        let w0 = wt[k * c4 + co0 / 4u];
        let w1 = wt[k * c4 + co0 / 4u + 1u];
        a0 = fma(vec4f(v.x), w0, a0); a1 = fma(vec4f(v.y), w0, a1); a2 = fma(vec4f(v.z), w0, a2); a3 = fma(vec4f(v.w), w0, a3);
        b0 = fma(vec4f(v.x), w1, b0); b1 = fma(vec4f(v.y), w1, b1); b2 = fma(vec4f(v.z), w1, b2); b3 = fma(vec4f(v.w), w1, b3);
        k++;
      }
    }
  }
  // Epilogue: bias, activation, store (8 channels × 4 pixels, skipping padding channels / pixels).
  let plane_out = P.OH * P.OW;
  let pix = oy * P.OW + ox0;
  let accs = array<vec4f, 8>(a0, a1, a2, a3, b0, b1, b2, b3);
  for (var c = 0u; c < 8u; c++) {
    let co = co0 + c;
    if (co >= P.Cout) { break; }
    let bv = select(0.0, bias[co], P.has_bias == 1u);
    let base = (n * P.Cout + co) * plane_out + pix;
    let half = c / 4u;
    let lane = c % 4u;
    for (var t = 0u; t < 4u; t++) {
      if (ox0 + t < P.OW) { y[base + t] = activate(accs[half * 4u + t][lane] + bv); }
    }
  }
}
