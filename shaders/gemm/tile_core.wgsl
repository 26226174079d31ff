// tile_core.wgsl — the part of the workgroup-tiled GEMM kernels (conv/tiled_forward.wgsl,
// conv/tiled_weight_grad.wgsl, matmul/workgroup_tile.wgsl) that does not depend on what the operands are.
//
// A workgroup of WG = WG_M × WG_N = {{WG_M}} × {{WG_N}} threads owns a TILE_M × TILE_N block of the
// output; thread (ty, tx) owns TM × TN = {{TM}} × {{TN}} of it, rows ty + i·WG_M and columns tx + j·WG_N
// (strided, so neighbouring threads read neighbouring words of workgroup memory and store neighbouring
// output columns). The inner dimension is walked TK = {{TK}} at a time: the operand tiles
// As[TK][TILE_M] and Bs[TK][TILE_N] sit in workgroup memory, 4·TK·(TILE_M + TILE_N) bytes.
// Per step each thread reads TM + TN words of workgroup memory for TM·TN FMAs.
// No subgroup operations: correct for any subgroup size.

const WG_M = {{WG_M}}u;
const WG_N = {{WG_N}}u;
const TM = {{TM}}u;
const TN = {{TN}}u;
const TK = {{TK}}u;
const WG = WG_M * WG_N;
const TILE_M = WG_M * TM;
const TILE_N = WG_N * TN;
/** Operand words each thread stages per step (the last slot may fall outside the tile). */
const A_LOADS = (TK * TILE_M + WG - 1u) / WG;
const B_LOADS = (TK * TILE_N + WG - 1u) / WG;

var<workgroup> As: array<f32, TK * TILE_M>;
var<workgroup> Bs: array<f32, TK * TILE_N>;
var<private> acc: array<f32, TM * TN>;
/** The next step's operands, loaded from global memory before this step's FMAs (register staging). */
var<private> stage_a: array<f32, A_LOADS>;
var<private> stage_b: array<f32, B_LOADS>;

/**
 * Copy the staged operands into workgroup memory. Slot s of thread lid holds operand word i = lid + s·WG
 * of the tile, which the including kernel places with a_word(i) / b_word(i) (its load order decides
 * which global words neighbouring threads read).
 */
fn store_stage(lid: u32) {
  for (var s = 0u; s < A_LOADS; s++) {
    let i = lid + s * WG;
    if (i < TK * TILE_M) { As[a_word(i)] = stage_a[s]; }
  }
  for (var s = 0u; s < B_LOADS; s++) {
    let i = lid + s * WG;
    if (i < TK * TILE_N) { Bs[b_word(i)] = stage_b[s]; }
  }
}

/** acc += As[:, rows of ty]ᵀ · Bs[:, columns of tx] over the TK steps in workgroup memory. */
fn multiply_tile(ty: u32, tx: u32) {
  for (var kk = 0u; kk < TK; kk++) {
    var a: array<f32, TM>;
    var b: array<f32, TN>;
    for (var i = 0u; i < TM; i++) { a[i] = As[kk * TILE_M + ty + i * WG_M]; }
    for (var j = 0u; j < TN; j++) { b[j] = Bs[kk * TILE_N + tx + j * WG_N]; }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]); }
    }
  }
}
