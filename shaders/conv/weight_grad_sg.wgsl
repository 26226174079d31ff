// weight_grad_sg.wgsl — conv2d's weight gradient, split over the pixels (split-K), dy shared through
// subgroup broadcasts. The same partials as weight_grad.wgsl (up to rounding: another summation order):
//   dw[co, ci, ki, kj] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, ci, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw]
// GEMM view: rows = output channels, columns = taps t = (ci·kh + ki)·kw + kj, inner dimension = the
// N·OH·OW output pixels, split into chunks of image rows (workgroup z); each chunk writes part[z, co, t]
// and src/ops/conv-weight-grad.ts sums the partials in a fixed order (bitwise repeatable). One chunk: dW directly.
//
// Tiling: thread owns CO output channels (8, or 16 when CO16) × 4 taps: CO vec4 accumulators, one per
// channel, over the taps. A tap group is 4 consecutive taps, or, in ROW mode (kernels 1 … 4 wide), one
// kernel row (ci, ki) with its KW ≤ 4 taps kj. Threads along x take neighbouring tap groups; the channel group is workgroup
// y, so every thread of a subgroup needs the same CO × 4 values of dy per group of 4 pixels. In
// weight_grad.wgsl each thread loads all of them itself (the same addresses in every lane: 32
// lane-loads per thread on llvmpipe). Here lane l loads only channel co0 + (l mod 8) (and co0 + 8 +
// (l mod 8) with CO16): 4 scalar loads, or 1 vec4 load when the rows are vec4-aligned (DY_VEC4), and
// the channels are passed around with subgroupBroadcast (a register move on llvmpipe).
// Needs a subgroup size of at least 8 (lavapipe: 8); every thread runs the loop (no early return).
// Workgroups are WG = 64 threads, or fewer (a power of two ≥ 8) when there are fewer tap groups, so
// that a first layer with 3·4·4 = 48 taps (12 tap groups) does not leave 52 of 64 threads idle.
// x per 4 pixels: 4 scalar loads per tap; in ROW mode the 4 pixels × KW taps of a kernel row read one
// run of 3·SW + (KW−1)·DW + 1 input columns (10 for 4×4 stride 2, 6 for 3×3 stride 1), loaded as
// aligned vec4 when W % 4 == 0 (X_MODE 2: 4 resp. 3 vec4) or else once per column (X_MODE 1), as
// in forward_sg.wgsl (subgroup_rows.wgsl, shared with it). No workgroup memory. Per 4 pixels of a 4×4 stride-2 conv with CO16 a thread
// issues 4 vec4 loads of x + 2 vec4 of dy (≈ 15 scalar-load equivalents) for 256 FMAs, against
// 16 + 32 scalar loads for 128 FMAs in weight_grad.wgsl.
// Memory traffic: x read Cout/CO times and dy Cin·kh·kw/32 times (mostly from cache); partials
// chunks·Cout·Cin·kh·kw floats, written once and read once by the reduction. FLOPs: 2·N·OH·OW·Cout·Cin·kh·kw.
enable subgroups;
diagnostic(off, subgroup_uniformity);   // bc(): the lane is a constant once inlined

//#include "conv/grad_params"

const DY_VEC4: bool = {{DY_VEC4}};               // true when OW % 4 == 0: dy rows are vec4-aligned
const CO16: bool = {{CO16}};                     // 16 output channels per thread instead of 8
const CO: u32 = select(8u, 16u, CO16);
const ROW: bool = {{ROW}};                       // tap group = one kernel row of KW taps
const KW: u32 = {{KW}}u;                         // ROW: kernel width (1 … 4), column stride, leading
const SW: u32 = {{SW}}u;                         // padding and dilation, as constants
const PW: u32 = {{PW}}u;
const DW: u32 = {{DW}}u;
const X_MODE: u32 = {{X_MODE}}u;                 // ROW: 1 the run as scalar loads, 2 as aligned vec4 (W % 4 == 0)

@group(0) @binding(0) var<uniform> P: ConvWeightGrad;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> dy4: array<vec4f>;   // the same buffer as dy
@group(0) @binding(5) var<storage, read> x4: array<vec4f>;    // the same buffer as x

// acc[c]: channel co0 + c over the thread's 4 taps; run: the row's run of input columns (ROW)
//#include "conv/subgroup_rows"

// dy[row + ox .. row + ox + 3] (0 past the end of the row).
fn load_dy(row: u32, ox: u32, pxc: vec4u, ok: vec4<bool>) -> vec4f {
  if (DY_VEC4) { return dy4[(row + ox) / 4u]; }
  return select(vec4f(0.0), vec4f(dy[row + pxc.x], dy[row + pxc.y], dy[row + pxc.z], dy[row + pxc.w]), ok);
}

// Pixel t of the run over the taps kj = 0 … 3 (taps past KW repeat the last; they are not stored).
fn run_px(t: u32) -> vec4f {
  let b = LEAD + t * SW;
  return vec4f(rv(b), rv(b + min(1u, KW - 1u) * DW), rv(b + min(2u, KW - 1u) * DW), rv(b + min(3u, KW - 1u) * DW));
}

// acc[c] += Σ_p dy[co0 + c, pixel p] · x_p (x_p: the taps at pixel p), for the channels of the
// subgroup: channel c's 4 pixels come from lane c (mine) or lane c − 8 (mine2).
fn accumulate(p0: vec4f, p1: vec4f, p2: vec4f, p3: vec4f, mine: vec4f, mine2: vec4f) {
  for (var c = 0u; c < 8u; c++) {
    let d = bc8(mine, c);
    acc[c] = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, acc[c]))));
  }
  if (CO16) {
    for (var c = 0u; c < 8u; c++) {
      let d = bc8(mine2, c);
      acc[8u + c] = fma(vec4f(d.x), p0, fma(vec4f(d.y), p1, fma(vec4f(d.z), p2, fma(vec4f(d.w), p3, acc[8u + c]))));
    }
  }
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) sid: u32) {
  let co0 = wid.y * CO;
  let chunk = wid.z;
  let khw = P.kh * P.kw;
  // The thread's taps: t0 … t0 + 3, or kernel row rr's KW taps (threads past the end compute a copy
  // of the last group and store nothing).
  let rows_k = P.Cin * P.kh;
  let rr = min(gid.x, rows_k - 1u);
  let t0 = select(gid.x * 4u, rr * KW, ROW);
  var tci: array<u32, 4>;
  var tky: array<i32, 4>;
  var tkx: array<i32, 4>;
  for (var j = 0u; j < 4u; j++) {
    let t = min(t0 + j, P.taps - 1u);
    tci[j] = (t / khw) * P.H * P.W;
    tky[j] = i32(((t % khw) / P.kw) * P.dh) - i32(P.ph);
    tkx[j] = i32((t % P.kw) * P.dw) - i32(P.pw);
  }
  let ci4 = vec4u(tci[0], tci[1], tci[2], tci[3]);
  let ky4 = vec4i(tky[0], tky[1], tky[2], tky[3]);
  let plane_out = P.OH * P.OW;
  let my_co = min(co0 + (sid & 7u), P.Cout - 1u);  // the dy channels this lane loads for the subgroup
  let my_co2 = min(co0 + 8u + (sid & 7u), P.Cout - 1u);
  let rows = chunk_rows(chunk);
  for (var r = rows.x; r < rows.y; r++) {
    let o = out_row(r);
    let dyrow = (o.n * P.Cout + my_co) * plane_out + o.oy * P.OW;
    let dyrow2 = (o.n * P.Cout + my_co2) * plane_out + o.oy * P.OW;
    let iy = vec4i(i32(o.oy * P.sh)) + ky4;
    let row_ok = (iy >= vec4i(0)) & (iy < vec4i(i32(P.H)));
    let rowoff = vec4u(clamp(iy, vec4i(0), vec4i(i32(P.H) - 1))) * P.W + ci4 + o.xbase;
    for (var ox = 0u; ox < P.OW; ox += 4u) {
      let px = vec4u(ox, ox + 1u, ox + 2u, ox + 3u);
      let px_ok = px < vec4u(P.OW);
      let pxc = min(px, vec4u(P.OW - 1u));
      var p0: vec4f; var p1: vec4f; var p2: vec4f; var p3: vec4f;   // x at pixel p over the 4 taps
      if (ROW) {
        // All taps in kernel row rr: one run of input columns, from column ox·SW − PW.
        load_run(rowoff.x, i32(ox * SW) - i32(PW), row_ok.x);
        p0 = run_px(0u); p1 = run_px(1u); p2 = run_px(2u); p3 = run_px(3u);
      } else {
        let ixb = vec4i(pxc * P.sw);
        var xv: array<vec4f, 4>;                 // xv[j] = tap j at the 4 pixels
        for (var j = 0u; j < 4u; j++) {
          let ix = ixb + vec4i(tkx[j]);
          let ok = px_ok & (ix >= vec4i(0)) & (ix < vec4i(i32(P.W))) & vec4<bool>(row_ok[j]);
          let cx = vec4u(clamp(ix, vec4i(0), vec4i(i32(P.W) - 1))) + rowoff[j];
          xv[j] = select(vec4f(0.0), vec4f(x[cx.x], x[cx.y], x[cx.z], x[cx.w]), ok);
        }
        p0 = vec4f(xv[0].x, xv[1].x, xv[2].x, xv[3].x);
        p1 = vec4f(xv[0].y, xv[1].y, xv[2].y, xv[3].y);
        p2 = vec4f(xv[0].z, xv[1].z, xv[2].z, xv[3].z);
        p3 = vec4f(xv[0].w, xv[1].w, xv[2].w, xv[3].w);
      }
      let mine = load_dy(dyrow, ox, pxc, px_ok);  // dy[n, my_co, oy, ox .. ox+3]
      var mine2 = vec4f(0.0);
      if (CO16) { mine2 = load_dy(dyrow2, ox, pxc, px_ok); }
      accumulate(p0, p1, p2, p3, mine, mine2);
    }
  }
  let accs = acc_values();
  let live = select(gid.x * 4u < P.taps, gid.x < rows_k, ROW);
  if (!live) { return; }
  let nt = select(4u, KW, ROW);                  // taps in the group
  let out = chunk * P.Cout * P.taps;
  for (var c = 0u; c < CO; c++) {
    if (co0 + c >= P.Cout) { break; }
    for (var j = 0u; j < nt; j++) {
      if (t0 + j < P.taps) { part[out + (co0 + c) * P.taps + t0 + j] = accs[c][j]; }
    }
  }
}
