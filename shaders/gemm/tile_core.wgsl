// tile_core.wgsl — the part of the workgroup-tiled GEMM kernels (conv/tiled_forward.wgsl,
// conv/tiled_weight_grad.wgsl, matmul/workgroup_tile.wgsl) that does not depend on what the operands
// are: the tile constants, workgroup memory, the FMAs and the loop over the inner dimension.
//
// A workgroup of WG = WG_M × WG_N threads owns a TILE_M × TILE_N block of the output; thread (ty, tx)
// owns TM × TN of it, rows ty + i·WG_M and columns tx + j·WG_N (strided, so neighbouring threads read
// neighbouring words of workgroup memory and store neighbouring output columns). The inner dimension
// is walked TK at a time: the operand tiles As[TK][TILE_M] and Bs[TK][TILE_N] sit in workgroup
// memory, BUFS · 4·TK·(TILE_M + TILE_N) bytes. Per step each thread reads TM + TN words of workgroup
// memory for TM·TN FMAs. (WG_M, WG_N, TM, TN, TK, BUFS are template values; the tuner picks them.)
//
// The loop (run_tiles): each step's global loads go into registers (stage_a, stage_b) before the
// previous step's FMAs, so their latency overlaps compute. With BUFS = 1 the registers are written to
// workgroup memory after a barrier that ends the FMAs (two barriers per step); with BUFS = 2 they go
// to the other buffer, which nobody reads in this step (one barrier per step, twice the memory).
// No subgroup operations: correct for any subgroup size.
//
// The including kernel defines a_word(i) / b_word(i) (where staged word i goes in the tile: its load
// order) and load_stage(lid, k0) (fill stage_a / stage_b for the step starting at k0; zeros outside).

const WG_M = {{WG_M}}u;
const WG_N = {{WG_N}}u;
const TM = {{TM}}u;
const TN = {{TN}}u;
const TK = {{TK}}u;
const BUFS = {{BUFS}}u;
const WG = WG_M * WG_N;
const TILE_M = WG_M * TM;
const TILE_N = WG_N * TN;
/** Operand words each thread stages per step (the last slot may fall outside the tile). */
const A_LOADS = (TK * TILE_M + WG - 1u) / WG;
const B_LOADS = (TK * TILE_N + WG - 1u) / WG;

var<workgroup> As: array<f32, BUFS * TK * TILE_M>;
var<workgroup> Bs: array<f32, BUFS * TK * TILE_N>;
var<private> acc: array<f32, TM * TN>;
var<private> stage_a: array<f32, A_LOADS>;
var<private> stage_b: array<f32, B_LOADS>;

/** Copy the staged operands into buffer `buf` of workgroup memory (slot s of thread lid is word lid + s·WG). */
fn store_stage(lid: u32, buf: u32) {
  for (var s = 0u; s < A_LOADS; s++) {
    let i = lid + s * WG;
    if (i < TK * TILE_M) { As[buf * TK * TILE_M + a_word(i)] = stage_a[s]; }
  }
  for (var s = 0u; s < B_LOADS; s++) {
    let i = lid + s * WG;
    if (i < TK * TILE_N) { Bs[buf * TK * TILE_N + b_word(i)] = stage_b[s]; }
  }
}

/** acc += As[buf][:, rows of ty]ᵀ · Bs[buf][:, columns of tx] over the TK steps in workgroup memory. */
fn multiply_tile(ty: u32, tx: u32, buf: u32) {
  let a0 = buf * TK * TILE_M;
  let b0 = buf * TK * TILE_N;
  for (var kk = 0u; kk < TK; kk++) {
    var a: array<f32, TM>;
    var b: array<f32, TN>;
    for (var i = 0u; i < TM; i++) { a[i] = As[a0 + kk * TILE_M + ty + i * WG_M]; }
    for (var j = 0u; j < TN; j++) { b[j] = Bs[b0 + kk * TILE_N + tx + j * WG_N]; }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]); }
    }
  }
}

/** acc = Σ over the inner dimension [k_begin, k_end) (uniform across the workgroup), TK at a time. */
fn run_tiles(lid: u32, k_begin: u32, k_end: u32) {
  let ty = lid / WG_N;
  let tx = lid % WG_N;
  if (k_begin >= k_end) { return; }
  load_stage(lid, k_begin);
  store_stage(lid, 0u);
  workgroupBarrier();
  var buf = 0u;
  for (var k0 = k_begin; k0 < k_end; k0 += TK) {
    let more = k0 + TK < k_end;
    if (more) { load_stage(lid, k0 + TK); }
    multiply_tile(ty, tx, buf);
    if (BUFS == 1u) { workgroupBarrier(); }
    buf = (buf + 1u) % BUFS;
    if (more) { store_stage(lid, buf); }
    workgroupBarrier();
  }
}
