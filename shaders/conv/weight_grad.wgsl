// weight_grad.wgsl — conv2d's weight gradient, split over the pixels (split-K), no atomics.
//   dw[co, ci, ki, kj] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, ci, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw]
// GEMM view: rows = output channels, columns = taps t = (ci·kh + ki)·kw + kj, inner dimension = the
// N·OH·OW output pixels — long, so it is split: workgroup column z sums only the image rows
// (n, oy) in [z·rows_per_chunk, (z+1)·rows_per_chunk) and writes its partial dW to
// part[z, co, t]. src/ops/conv-weight-grad.ts then sums the partials over z in a fixed order (a column reduction),
// so the result is bitwise repeatable, unlike float atomics. With one chunk it writes dW directly.
// The same kernel gives a transposed convolution's weight gradient (x and dy swap roles).
//
// Tiling: thread owns 8 output channels × 4 taps (32 scalar accumulators). Per group of 4 neighbouring
// pixels of a row it loads 8×4 values of dy and 4×4 of x (0 where padding) and does 128 FMAs.
// Threads along x take neighbouring taps; the tap's (ci, ki, kj) is decoded once per thread.
// Memory traffic: dy and x are each read Cin·kh·kw/4 resp. Cout/8 times (mostly from cache); the
// partials are chunks·Cout·Cin·kh·kw floats. FLOPs: 2·N·OH·OW·Cout·Cin·kh·kw.

//#include "conv/grad_params"

@group(0) @binding(0) var<uniform> P: ConvWeightGrad;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  // x enumerates (channel group, tap group) pairs, taps fastest: a first layer with 3·4·4 = 48 taps
  // still fills whole workgroups.
  let tap_groups = (P.taps + 3u) / 4u;
  let t0 = (gid.x % tap_groups) * 4u;
  let co0 = (gid.x / tap_groups) * 8u;
  let chunk = gid.z;
  if (co0 >= P.Cout) { return; }
  // Decode the 4 taps: channel offset, row and column offsets (taps past the end repeat the last one).
  var tci: array<u32, 4>;
  var tky: array<i32, 4>;
  var tkx: array<i32, 4>;
  let khw = P.kh * P.kw;
  for (var j = 0u; j < 4u; j++) {
    let t = min(t0 + j, P.taps - 1u);
    tci[j] = (t / khw) * P.H * P.W;
    tky[j] = i32(((t % khw) / P.kw) * P.dh) - i32(P.ph);
    tkx[j] = i32((t % P.kw) * P.dw) - i32(P.pw);
  }
  let ci0 = tci[0]; let ci1 = tci[1]; let ci2 = tci[2]; let ci3 = tci[3];
  var acc: array<array<f32, 4>, 8>;
  let plane_out = P.OH * P.OW;
  let co_n = min(8u, P.Cout - co0);
  let rows = chunk_rows(chunk);
  for (var r = rows.x; r < rows.y; r++) {
    let o = out_row(r);
    let dybase = (o.n * P.Cout + co0) * plane_out + o.oy * P.OW;
    // Input row of each tap (or -1 when the tap falls in the padding for this output row).
    let iy = vec4i(i32(o.oy * P.sh)) + vec4i(tky[0], tky[1], tky[2], tky[3]);
    let row_ok = (iy >= vec4i(0)) & (iy < vec4i(i32(P.H)));
    let rowoff = vec4u(clamp(iy, vec4i(0), vec4i(i32(P.H) - 1))) * P.W + vec4u(ci0, ci1, ci2, ci3) + o.xbase;
    for (var ox = 0u; ox < P.OW; ox += 4u) {
      let px = vec4u(ox, ox + 1u, ox + 2u, ox + 3u);
      let px_ok = px < vec4u(P.OW);
      let pxc = min(px, vec4u(P.OW - 1u));
      let ixb = vec4i(pxc * P.sw);
      // x for the 4 taps × 4 pixels
      var xv: array<vec4f, 4>;
      for (var j = 0u; j < 4u; j++) {
        let ix = ixb + vec4i(tkx[j]);
        let ok = px_ok & (ix >= vec4i(0)) & (ix < vec4i(i32(P.W))) & vec4<bool>(row_ok[j]);
        let cx = vec4u(clamp(ix, vec4i(0), vec4i(i32(P.W) - 1))) + rowoff[j];
        xv[j] = select(vec4f(0.0), vec4f(x[cx.x], x[cx.y], x[cx.z], x[cx.w]), ok);
      }
      for (var c = 0u; c < 8u; c++) {
        let cc = min(c, co_n - 1u);
        let b = dybase + cc * plane_out;
        let d = select(vec4f(0.0), vec4f(dy[b + pxc.x], dy[b + pxc.y], dy[b + pxc.z], dy[b + pxc.w]), px_ok);
        acc[c][0] += dot(d, xv[0]);
        acc[c][1] += dot(d, xv[1]);
        acc[c][2] += dot(d, xv[2]);
        acc[c][3] += dot(d, xv[3]);
      }
    }
  }
  let out = chunk * P.Cout * P.taps;
  for (var c = 0u; c < co_n; c++) {
    for (var j = 0u; j < 4u; j++) {
      if (t0 + j < P.taps) { part[out + (co0 + c) * P.taps + t0 + j] = acc[c][j]; }
    }
  }
}
