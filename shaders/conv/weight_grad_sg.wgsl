// weight_grad_sg.wgsl — conv2d's weight gradient, split over the pixels (split-K), dy shared through
// subgroup broadcasts. The same partials as weight_grad.wgsl (up to rounding: another summation order):
//   dw[co, ci, ki, kj] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, ci, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw]
// GEMM view: rows = output channels, columns = taps t = (ci·kh + ki)·kw + kj, inner dimension = the
// N·OH·OW output pixels, split into chunks of image rows (workgroup z); each chunk writes part[z, co, t]
// and src/ops/conv.ts sums the partials in a fixed order (bitwise repeatable). One chunk: dW directly.
//
// Tiling: thread owns CO output channels (8, or 16 when CO16) × 4 taps: CO vec4 accumulators, one per
// channel, over the taps. Threads along x take neighbouring tap groups; the channel group is workgroup
// y, so every thread of a subgroup needs the same CO × 4 values of dy per group of 4 pixels. In
// weight_grad.wgsl each thread loads all of them itself (the same addresses in every lane: 32
// lane-loads per thread on llvmpipe). Here lane l loads only channel co0 + (l mod 8) (and co0 + 8 +
// (l mod 8) with CO16): 4 scalar loads, or 1 vec4 load when the rows are vec4-aligned (DY_VEC4), and
// the channels are passed around with subgroupBroadcast (a register move on llvmpipe).
// Needs a subgroup size of at least 8 (lavapipe: 8); every thread runs the loop (no early return).
// Workgroups are WG = 64 threads, or fewer (a power of two ≥ 8) when there are fewer tap groups, so
// that a first layer with 3·4·4 = 48 taps (12 tap groups) does not leave 52 of 64 threads idle.
// No workgroup memory. Per 4 pixels a thread issues 16 scalar loads of x + 1 or 2 vec4 of dy for
// 128 or 256 FMAs (CO16), instead of 16 + 32 scalar loads for 128 FMAs in weight_grad.wgsl.
// Memory traffic: x read Cout/CO times and dy Cin·kh·kw/32 times (mostly from cache); partials
// chunks·Cout·Cin·kh·kw floats, written once and read once by the reduction. FLOPs: 2·N·OH·OW·Cout·Cin·kh·kw.
enable subgroups;

struct Grad {
  N: u32, Cin: u32, H: u32, W: u32,              // x: [N, Cin, H, W]
  Cout: u32, OH: u32, OW: u32, taps: u32,         // dy: [N, Cout, OH, OW]; taps = Cin·kh·kw
  kh: u32, kw: u32, sh: u32, sw: u32,
  ph: u32, pw: u32, dh: u32, dw: u32,
  rows_per_chunk: u32,                            // image rows (n, oy) per partial
  pad0: u32, pad1: u32, pad2: u32,
}

const DY_VEC4: bool = {{DY_VEC4}};               // true when OW % 4 == 0: dy rows are vec4-aligned
const CO16: bool = {{CO16}};                     // 16 output channels per thread instead of 8
const CO: u32 = select(8u, 16u, CO16);

@group(0) @binding(0) var<uniform> P: Grad;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> dy4: array<vec4f>;   // the same buffer as dy

// dy[row + ox .. row + ox + 3] (0 past the end of the row).
fn load_dy(row: u32, ox: u32, pxc: vec4u, ok: vec4<bool>) -> vec4f {
  if (DY_VEC4) { return dy4[(row + ox) / 4u]; }
  return select(vec4f(0.0), vec4f(dy[row + pxc.x], dy[row + pxc.y], dy[row + pxc.z], dy[row + pxc.w]), ok);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) sid: u32) {
  let t0 = gid.x * 4u;                           // first tap (threads past the end compute a copy of the last)
  let co0 = wid.y * CO;
  let chunk = wid.z;
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
  let ci4 = vec4u(tci[0], tci[1], tci[2], tci[3]);
  let ky4 = vec4i(tky[0], tky[1], tky[2], tky[3]);
  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);   // channel co0 + c, over taps t0..t0+3
  var a4 = vec4f(0.0); var a5 = vec4f(0.0); var a6 = vec4f(0.0); var a7 = vec4f(0.0);
  var a8 = vec4f(0.0); var a9 = vec4f(0.0); var a10 = vec4f(0.0); var a11 = vec4f(0.0);   // CO16: channels co0 + 8 + c
  var a12 = vec4f(0.0); var a13 = vec4f(0.0); var a14 = vec4f(0.0); var a15 = vec4f(0.0);
  let plane_out = P.OH * P.OW;
  let my_co = min(co0 + (sid & 7u), P.Cout - 1u);  // the dy channel this lane loads for the subgroup
  let my_co2 = min(co0 + 8u + (sid & 7u), P.Cout - 1u);   // CO16: and the one 8 channels on
  let row_start = chunk * P.rows_per_chunk;
  let row_end = min(row_start + P.rows_per_chunk, P.N * P.OH);
  for (var r = row_start; r < row_end; r++) {
    let n = r / P.OH;
    let oy = r % P.OH;
    let xbase = n * P.Cin * P.H * P.W;
    let dyrow = (n * P.Cout + my_co) * plane_out + oy * P.OW;
    let dyrow2 = (n * P.Cout + my_co2) * plane_out + oy * P.OW;
    let iy = vec4i(i32(oy * P.sh)) + ky4;
    let row_ok = (iy >= vec4i(0)) & (iy < vec4i(i32(P.H)));
    let rowoff = vec4u(clamp(iy, vec4i(0), vec4i(i32(P.H) - 1))) * P.W + ci4 + xbase;
    for (var ox = 0u; ox < P.OW; ox += 4u) {
      let px = vec4u(ox, ox + 1u, ox + 2u, ox + 3u);
      let px_ok = px < vec4u(P.OW);
      let pxc = min(px, vec4u(P.OW - 1u));
      let ixb = vec4i(pxc * P.sw);
      var xv: array<vec4f, 4>;                   // xv[j] = tap j at the 4 pixels
      for (var j = 0u; j < 4u; j++) {
        let ix = ixb + vec4i(tkx[j]);
        let ok = px_ok & (ix >= vec4i(0)) & (ix < vec4i(i32(P.W))) & vec4<bool>(row_ok[j]);
        let cx = vec4u(clamp(ix, vec4i(0), vec4i(i32(P.W) - 1))) + rowoff[j];
        xv[j] = select(vec4f(0.0), vec4f(x[cx.x], x[cx.y], x[cx.z], x[cx.w]), ok);
      }
      // The same values per pixel, over the 4 taps.
      let p0 = vec4f(xv[0].x, xv[1].x, xv[2].x, xv[3].x);
      let p1 = vec4f(xv[0].y, xv[1].y, xv[2].y, xv[3].y);
      let p2 = vec4f(xv[0].z, xv[1].z, xv[2].z, xv[3].z);
      let p3 = vec4f(xv[0].w, xv[1].w, xv[2].w, xv[3].w);
      let mine = load_dy(dyrow, ox, pxc, px_ok);  // dy[n, my_co, oy, ox .. ox+3]
      var d: vec4f;
      if (CO16) {
        let mine2 = load_dy(dyrow2, ox, pxc, px_ok);  // dy[n, my_co2, oy, ox .. ox+3]
        d = subgroupBroadcast(mine2, 0u); a8 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a8))));
        d = subgroupBroadcast(mine2, 1u); a9 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a9))));
        d = subgroupBroadcast(mine2, 2u); a10 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a10))));
        d = subgroupBroadcast(mine2, 3u); a11 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a11))));
        d = subgroupBroadcast(mine2, 4u); a12 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a12))));
        d = subgroupBroadcast(mine2, 5u); a13 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a13))));
        d = subgroupBroadcast(mine2, 6u); a14 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a14))));
        d = subgroupBroadcast(mine2, 7u); a15 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a15))));
      }
      d = subgroupBroadcast(mine, 0u); a0 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a0))));
      d = subgroupBroadcast(mine, 1u); a1 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a1))));
      d = subgroupBroadcast(mine, 2u); a2 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a2))));
      d = subgroupBroadcast(mine, 3u); a3 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a3))));
      d = subgroupBroadcast(mine, 4u); a4 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a4))));
      d = subgroupBroadcast(mine, 5u); a5 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a5))));
      d = subgroupBroadcast(mine, 6u); a6 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a6))));
      d = subgroupBroadcast(mine, 7u); a7 = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, a7))));
    }
  }
  let out = chunk * P.Cout * P.taps;
  let accs = array<vec4f, 16>(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
  for (var c = 0u; c < CO; c++) {
    if (co0 + c >= P.Cout) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (t0 + j < P.taps) { part[out + (co0 + c) * P.taps + t0 + j] = accs[c][j]; }
    }
  }
}
