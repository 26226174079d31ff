// tiled_forward.wgsl — conv2d as a workgroup-tiled implicit GEMM (the hardware plan), fused epilogue:
//   y[n, co, oy, ox] = act( bias[co] + Σ_{ci, ki, kj} x[n, ci, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw] · w[co, ci, ki, kj] )
// GEMM view: C[co, p] = Σ_k A[k, co] · B[k, p] with A = wt (the weight as [K, cout_pad], K = Cin·kh·kw,
// built by weight_layout.wgsl) and B the im2col matrix of x (never built: each load computes its
// input address), p = (n, oy, ox) over the whole batch, so a 10×10 image and a 160×160 one both fill
// whole tiles. A transposed conv (and conv2d's dX) runs through this kernel as stride-1 phase
// convolutions: pixel (oy, ox) of a phase goes to row oy·out_sh + out_ry, column ox·out_sw + out_rx
// of y [N, Cout, out_h, out_w].
//
// Tiling (tile_core.wgsl): workgroup (x, z) → pixel tile x + z·grid_x, workgroup y → channel tile. Each
// TK step a thread stages A_LOADS words of wt (consecutive threads, consecutive channels: coalesced)
// and B_LOADS words of x (consecutive threads, consecutive pixels: coalesced within image rows), then
// does TM·TN·TK FMAs from workgroup memory while the next step's global loads are in flight.
// ELEM (a template value): f32, or f16 (precision 'f16': x and wt are float16 copies, src/ops/conv-tiled.ts makes
// them with copy/pack_f16.wgsl; sums stay float32).
// Memory traffic from global memory: x about Cout/TILE_M times (kh·kw taps hit the cache), wt
// N·OH·OW/TILE_N times, y once. FLOPs: 2·N·Cout·OH·OW·Cin·kh·kw.

{{ENABLE_F16}}
//#uniforms ConvForward
//#include "gemm/tile_core"

@group(0) @binding(0) var<uniform> P: ConvForward;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<{{ELEM}}>;
@group(0) @binding(3) var<storage, read> wt: array<{{ELEM}}>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// Per B slot: where its pixel's image starts in x (−1: past the last pixel) and its first input row
// and column (may be negative: padding).
var<private> slot_base: array<i32, B_LOADS>;
var<private> slot_iy: array<i32, B_LOADS>;
var<private> slot_ix: array<i32, B_LOADS>;

// Slot order = tile order: word i is (k = i / TILE_M, m = i % TILE_M) of A, (i / TILE_N, i % TILE_N) of B.
fn a_word(i: u32) -> u32 { return i; }
fn b_word(i: u32) -> u32 { return i; }

//#include "conv/activate"

/** First output channel of this workgroup's tile (set once by main). */
var<private> m0: u32;

fn load_stage(lid: u32, k0: u32) {
  let K = P.Cin * P.kh * P.kw;
  let khw = P.kh * P.kw;
  for (var s = 0u; s < A_LOADS; s++) {
    let i = lid + s * WG;
    let k = k0 + i / TILE_M;
    let m = m0 + i % TILE_M;
    stage_a[s] = select(0.0, f32(wt[min(k, K - 1u) * P.cout_pad + min(m, P.cout_pad - 1u)]), k < K && m < P.cout_pad);
  }
  for (var s = 0u; s < B_LOADS; s++) {
    let i = lid + s * WG;
    let k = k0 + i / TILE_N;
    let ci = k / khw;
    let r = k % khw;
    let iy = slot_iy[s] + i32((r / P.kw) * P.dh);
    let ix = slot_ix[s] + i32((r % P.kw) * P.dw);
    let ok = k < K && slot_base[s] >= 0 && iy >= 0 && iy < i32(P.H) && ix >= 0 && ix < i32(P.W);
    let at = select(0u, u32(slot_base[s]) + (ci * P.H + u32(iy)) * P.W + u32(ix), ok);
    stage_b[s] = select(0.0, f32(x[at]), ok);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let p0 = (wid.x + wid.z * P.grid_x) * TILE_N;
  m0 = wid.y * TILE_M;
  let tx = lid % WG_N;
  let ty = lid / WG_N;
  let ohw = P.OH * P.OW;
  let npix = P.N * ohw;
  for (var s = 0u; s < B_LOADS; s++) {
    let p = p0 + (lid + s * WG) % TILE_N;
    let n = p / ohw;
    let oy = (p % ohw) / P.OW;
    let ox = p % P.OW;
    slot_base[s] = select(-1, i32(n * P.Cin * P.H * P.W), p < npix);
    slot_iy[s] = i32(oy * P.sh) - i32(P.ph);
    slot_ix[s] = i32(ox * P.sw) - i32(P.pw);
  }
  run_tiles(lid, 0u, P.Cin * P.kh * P.kw);
  // Epilogue: bias, activation, store.
  for (var j = 0u; j < TN; j++) {
    let p = p0 + tx + j * WG_N;
    if (p >= npix) { continue; }
    let n = p / ohw;
    let oy = (p % ohw) / P.OW;
    let ox = p % P.OW;
    let pix = (oy * P.out_sh + P.out_ry) * P.out_w + ox * P.out_sw + P.out_rx;
    for (var i = 0u; i < TM; i++) {
      let co = m0 + ty + i * WG_M;
      if (co >= P.Cout) { continue; }
      let bv = select(0.0, bias[min(co, arrayLength(&bias) - 1u)], P.has_bias == 1u);
      y[(n * P.Cout + co) * P.out_h * P.out_w + pix] = activate(acc[i * TN + j] + bv);
    }
  }
}
