// workgroup_tile.wgsl — batched matmul C[b] = A[b] · B[b] (A: M×K, B: K×N, row-major) for GPUs,
// staging tiles of A and B in workgroup memory (the hardware plan).
//
// Tiling (gemm/tile_core.wgsl, shared with the tiled conv kernels): a workgroup of WG_M × WG_N threads
// owns a TILE_M × TILE_N block of C, each thread TM × TN outputs (strided rows and columns); per step
// of TK along k the workgroup stages a TK × TILE_M tile of A and a TK × TILE_N tile of B, each thread
// then does TM·TN·TK FMAs from workgroup memory while the next step's global loads are in flight.
// Staging order: A along k (its rows are contiguous in k), B along n: neighbouring threads read
// neighbouring words. The tile shape is a template value; the tuner (src/runtime/tuner.ts) picks one
// per (M, N, K, batch) from the candidates in src/runtime/policy.ts.
// Memory traffic from global memory: A is read N/TILE_N times, B M/TILE_M times, C written once.
// FLOPs: 2·M·N·K per batch. Any M, N, K (edges are zero-filled in the tiles).

//#include "matmul/params"
//#include "gemm/tile_core"

@group(0) @binding(1) var<storage, read_write> C: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;

fn a_word(i: u32) -> u32 { return (i % TK) * TILE_M + i / TK; }
fn b_word(i: u32) -> u32 { return i; }

// This workgroup's tile and batch (set once by main).
var<private> m0: u32;
var<private> n0: u32;
var<private> a_off: u32;
var<private> b_off: u32;

fn load_stage(lid: u32, k0: u32) {
  for (var s = 0u; s < A_LOADS; s++) {
    let i = lid + s * WG;
    let k = k0 + i % TK;
    let m = m0 + i / TK;
    stage_a[s] = select(0.0, A[a_off + min(m, P.M - 1u) * P.K + min(k, P.K - 1u)], k < P.K && m < P.M);
  }
  for (var s = 0u; s < B_LOADS; s++) {
    let i = lid + s * WG;
    let k = k0 + i / TILE_N;
    let n = n0 + i % TILE_N;
    stage_b[s] = select(0.0, B[b_off + min(k, P.K - 1u) * P.N + min(n, P.N - 1u)], k < P.K && n < P.N);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let offsets = batch_offsets(wid.z);
  a_off = offsets.x;
  b_off = offsets.y;
  m0 = wid.y * TILE_M;
  n0 = wid.x * TILE_N;
  let tx = lid % WG_N;
  let ty = lid / WG_N;
  run_tiles(lid, 0u, P.K);
  let c_off = wid.z * P.M * P.N;
  for (var i = 0u; i < TM; i++) {
    let m = m0 + ty + i * WG_M;
    if (m >= P.M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + tx + j * WG_N;
      if (n < P.N) { C[c_off + m * P.N + n] = acc[i * TN + j]; }
    }
  }
}
