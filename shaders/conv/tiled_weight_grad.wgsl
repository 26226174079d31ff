// tiled_weight_grad.wgsl — conv2d's weight gradient as a workgroup-tiled GEMM (the hardware plan),
// split over the output pixels (split-K), no atomics:
//   dw[co, ci, ki, kj] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, ci, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw]
// GEMM view: C[co, t] = Σ_p A[p, co] · B[p, t], rows = output channels, columns = taps
// t = (ci·kh + ki)·kw + kj, inner dimension = the N·OH·OW output pixels p. Workgroup z sums only the
// pixels [z·pixels_per_chunk, (z+1)·pixels_per_chunk) and writes part[z, co, t]; src/ops/conv-tiled.ts sums
// the partials over z in a fixed order, so the result is bitwise repeatable. One chunk writes dW.
// The same kernel gives a transposed convolution's weight gradient (x and dy swap roles).
//
// Tiling (tile_core.wgsl): workgroup x → tap tile, y → channel tile, z → chunk. Staging walks the
// pixels fastest (word i is pixel i % TK of row/column i / TK), so neighbouring threads read
// neighbouring words of dy and of x's rows. The tap of each B slot and the channel of each A slot are
// fixed, decoded once. ELEM (a template value): f32, or f16 (precision 'f16': float16 copies of x and dy,
// float32 sums). Memory traffic: dy read Cin·kh·kw/TILE_N times, x Cout/TILE_M times (per tap,
// from cache), the partials chunks·Cout·Cin·kh·kw words. FLOPs: 2·N·OH·OW·Cout·Cin·kh·kw.

{{ENABLE_F16}}
//#uniforms ConvWeightGrad
//#include "gemm/tile_core"

@group(0) @binding(0) var<uniform> P: ConvWeightGrad;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<{{ELEM}}>;
@group(0) @binding(3) var<storage, read> dy: array<{{ELEM}}>;

// Per B slot: its tap's channel offset in an image of x (−1: past the last tap), row and column offsets.
var<private> slot_ci: array<i32, B_LOADS>;
var<private> slot_ky: array<i32, B_LOADS>;
var<private> slot_kx: array<i32, B_LOADS>;

fn a_word(i: u32) -> u32 { return (i % TK) * TILE_M + i / TK; }
fn b_word(i: u32) -> u32 { return (i % TK) * TILE_N + i / TK; }

/** This workgroup's first output channel and the end of its pixel range (set once by main). */
var<private> m0: u32;
var<private> p_end: u32;

fn load_stage(lid: u32, p0: u32) {
  let ohw = P.OH * P.OW;
  for (var s = 0u; s < A_LOADS; s++) {
    let i = lid + s * WG;
    let p = p0 + i % TK;
    let co = m0 + i / TK;
    let ok = p < p_end && co < P.Cout;
    let n = p / ohw;
    stage_a[s] = select(0.0, f32(dy[select(0u, (n * P.Cout + co) * ohw + p % ohw, ok)]), ok);
  }
  for (var s = 0u; s < B_LOADS; s++) {
    let i = lid + s * WG;
    let p = p0 + i % TK;
    let n = p / ohw;
    let iy = i32(((p % ohw) / P.OW) * P.sh) + slot_ky[s];
    let ix = i32((p % P.OW) * P.sw) + slot_kx[s];
    let ok = p < p_end && slot_ci[s] >= 0 && iy >= 0 && iy < i32(P.H) && ix >= 0 && ix < i32(P.W);
    let at = select(0u, n * P.Cin * P.H * P.W + u32(slot_ci[s]) + u32(iy) * P.W + u32(ix), ok);
    stage_b[s] = select(0.0, f32(x[at]), ok);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t0 = wid.x * TILE_N;
  m0 = wid.y * TILE_M;
  let tx = lid % WG_N;
  let ty = lid / WG_N;
  let khw = P.kh * P.kw;
  for (var s = 0u; s < B_LOADS; s++) {
    let t = t0 + (lid + s * WG) / TK;
    let r = t % khw;
    slot_ci[s] = select(-1, i32((t / khw) * P.H * P.W), t < P.taps);
    slot_ky[s] = i32((r / P.kw) * P.dh) - i32(P.ph);
    slot_kx[s] = i32((r % P.kw) * P.dw) - i32(P.pw);
  }
  let p_start = wid.z * P.pixels_per_chunk;
  let end = min(p_start + P.pixels_per_chunk, P.N * P.OH * P.OW);
  p_end = end;
  run_tiles(lid, p_start, end);
  for (var i = 0u; i < TM; i++) {
    let co = m0 + ty + i * WG_M;
    if (co >= P.Cout) { continue; }
    for (var j = 0u; j < TN; j++) {
      let t = t0 + tx + j * WG_N;
      if (t < P.taps) { part[(wid.z * P.Cout + co) * P.taps + t] = acc[i * TN + j]; }
    }
  }
}
