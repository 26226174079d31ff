// subgroup_wide.wgsl — batched matmul C[b] = A[b] · B[b] (A: M×K, B: K×N, row-major) for lavapipe /
// llvmpipe: subgroup_tile.wgsl's scheme with a thread tile 4× as wide and the arithmetic ordered for
// llvmpipe's register allocator.
//
// Tiling: a thread owns a 4 × 64 block of C (4 rows, 16 vec4 columns: 64 vec4 accumulators). A block of
// 16 lanes (one subgroup of 16 or two of 8) owns 64 consecutive rows of the same 64 columns; a
// workgroup of 64 lanes is 4 blocks side by side: a 64 × 256 tile of C. Grid: [ceil(N / 256),
// ceil(M / 64), numBatch].
//
// Per 8 steps along k, lane l loads row k0 + (l mod 8) of its block's 64 columns (16 vec4), and
// subgroupBroadcast(…, j) hands row k0 + j to every lane (a vpermilps/vpermpd pair on llvmpipe). A
// thread reads its own 4 rows × 8 k of A as 8 vec4. So per 8 steps a lane issues 24 vec4 loads for
// 2048 FMAs (subgroup_tile: 12 for 512).
//
// Why this shape suits llvmpipe (measured; docs/kernels/matmul.md):
// - A storage load costs one bounds-checked, branchy scalar load per lane and component (~10
//   instructions per float), a subgroupBroadcast ~3, an FMA 2 (a separate multiply and add). The
//   loads an 8-lane chunk issues per step along k are the rows plus the columns of its tile
//   (32 + 64 here), the FMAs their product: a wide tile is cheap in loads.
// - 64 vec4 accumulators are 256 AVX2 registers per 8 lanes: they live on the stack whatever we do.
//   What matters is how much else is spilled. The FMAs are therefore written per accumulator pair:
//   for 2 rows and one vec4 column, all 8 steps along k (col8 below), so that only 2 accumulators,
//   one broadcast B row and 2 A values are live at a time. Ordered by k (all 64 accumulators per
//   step, as subgroup_tile does), LLVM spills the products and broadcasts too.
// Memory traffic: A is read N/64 times, B M/64 times (mostly from the CPU caches); C written once.
// FLOPs: 2·M·N·K per batch. Requires K % 4 == 0 and N % 4 == 0 (src/ops/matmul.ts pads).
// Edges: control flow stays uniform, as subgroupBroadcast requires. Rows past M read a clamped row,
// columns past N and steps past K read exact zeros (select, not a multiply by 0, so an infinity
// cannot become NaN in a stored output), and only the stores are guarded.

enable subgroups;

//#include "matmul/params"

@group(0) @binding(1) var<storage, read_write> C: array<vec4f>;
@group(0) @binding(2) var<storage, read> A: array<vec4f>;
@group(0) @binding(3) var<storage, read> B: array<vec4f>;

//#include "matmul/subgroup_rows"

/**
 * 8 steps along k for two rows and one vec4 column: acc_r += a_r[j] · (row k0 + j of bl), j = 0…7.
 * a_r = (lo, hi): the row's 8 values of A at k0 … k0 + 7. bl: this lane's row of the vec4 column.
 */
fn col8(acc0: ptr<function, vec4f>, acc1: ptr<function, vec4f>, a0l: vec4f, a0h: vec4f, a1l: vec4f, a1h: vec4f, bl: vec4f) {
  { let b = subgroupBroadcast(bl, 0u); *acc0 = fma(vec4f(a0l.x), b, *acc0); *acc1 = fma(vec4f(a1l.x), b, *acc1); }
  { let b = subgroupBroadcast(bl, 1u); *acc0 = fma(vec4f(a0l.y), b, *acc0); *acc1 = fma(vec4f(a1l.y), b, *acc1); }
  { let b = subgroupBroadcast(bl, 2u); *acc0 = fma(vec4f(a0l.z), b, *acc0); *acc1 = fma(vec4f(a1l.z), b, *acc1); }
  { let b = subgroupBroadcast(bl, 3u); *acc0 = fma(vec4f(a0l.w), b, *acc0); *acc1 = fma(vec4f(a1l.w), b, *acc1); }
  { let b = subgroupBroadcast(bl, 4u); *acc0 = fma(vec4f(a0h.x), b, *acc0); *acc1 = fma(vec4f(a1h.x), b, *acc1); }
  { let b = subgroupBroadcast(bl, 5u); *acc0 = fma(vec4f(a0h.y), b, *acc0); *acc1 = fma(vec4f(a1h.y), b, *acc1); }
  { let b = subgroupBroadcast(bl, 6u); *acc0 = fma(vec4f(a0h.z), b, *acc0); *acc1 = fma(vec4f(a1h.z), b, *acc1); }
  { let b = subgroupBroadcast(bl, 7u); *acc0 = fma(vec4f(a0h.w), b, *acc0); *acc1 = fma(vec4f(a1h.w), b, *acc1); }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let offsets = batch_offsets(wid.z);
  let a_off = offsets.x / 4u;
  let b_off = offsets.y / 4u;
  let K4 = P.K / 4u;
  let N4 = P.N / 4u;
  let block = lid / 16u;
  let lane16 = lid % 16u;
  let lane8 = lid % 8u;
  let m = wid.y * 64u + lane16 * 4u;          // this thread's first row
  let c4 = (wid.x * 4u + block) * 16u;        // the block's first vec4 column
  let ra = a_rows(a_off, m, K4);
  let z = vec4f(0.0);

  // acc_r[q]: row m + r, vec4 column c4 + q
  var acc0: array<vec4f, 16>;
  var acc1: array<vec4f, 16>;
  var acc2: array<vec4f, 16>;
  var acc3: array<vec4f, 16>;
  for (var k0 = 0u; k0 < P.K; k0 += 8u) {
    // B: this lane's row k0 + lane8 of the block's 16 vec4 columns (exact zeros past K or N)
    let kb = k0 + lane8;
    let kin = kb < P.K;
    let kr = b_off + min(kb, P.K - 1u) * N4;
    var bl: array<vec4f, 16>;
    bl[0] = select(z, B[kr + min(c4 + 0u, N4 - 1u)], kin && c4 + 0u < N4);
    bl[1] = select(z, B[kr + min(c4 + 1u, N4 - 1u)], kin && c4 + 1u < N4);
    bl[2] = select(z, B[kr + min(c4 + 2u, N4 - 1u)], kin && c4 + 2u < N4);
    bl[3] = select(z, B[kr + min(c4 + 3u, N4 - 1u)], kin && c4 + 3u < N4);
    bl[4] = select(z, B[kr + min(c4 + 4u, N4 - 1u)], kin && c4 + 4u < N4);
    bl[5] = select(z, B[kr + min(c4 + 5u, N4 - 1u)], kin && c4 + 5u < N4);
    bl[6] = select(z, B[kr + min(c4 + 6u, N4 - 1u)], kin && c4 + 6u < N4);
    bl[7] = select(z, B[kr + min(c4 + 7u, N4 - 1u)], kin && c4 + 7u < N4);
    bl[8] = select(z, B[kr + min(c4 + 8u, N4 - 1u)], kin && c4 + 8u < N4);
    bl[9] = select(z, B[kr + min(c4 + 9u, N4 - 1u)], kin && c4 + 9u < N4);
    bl[10] = select(z, B[kr + min(c4 + 10u, N4 - 1u)], kin && c4 + 10u < N4);
    bl[11] = select(z, B[kr + min(c4 + 11u, N4 - 1u)], kin && c4 + 11u < N4);
    bl[12] = select(z, B[kr + min(c4 + 12u, N4 - 1u)], kin && c4 + 12u < N4);
    bl[13] = select(z, B[kr + min(c4 + 13u, N4 - 1u)], kin && c4 + 13u < N4);
    bl[14] = select(z, B[kr + min(c4 + 14u, N4 - 1u)], kin && c4 + 14u < N4);
    bl[15] = select(z, B[kr + min(c4 + 15u, N4 - 1u)], kin && c4 + 15u < N4);
    // A: 8 steps of k for the 4 rows, a[2r] (k0 … k0 + 3) and a[2r + 1] (k0 + 4 … k0 + 7) for row r
    let a = load_a(ra, k0);
    // rows 0 and 1, then rows 2 and 3; each vec4 column through all 8 steps (see the header)
    col8(&acc0[0], &acc1[0], a[0], a[1], a[2], a[3], bl[0]);
    col8(&acc0[1], &acc1[1], a[0], a[1], a[2], a[3], bl[1]);
    col8(&acc0[2], &acc1[2], a[0], a[1], a[2], a[3], bl[2]);
    col8(&acc0[3], &acc1[3], a[0], a[1], a[2], a[3], bl[3]);
    col8(&acc0[4], &acc1[4], a[0], a[1], a[2], a[3], bl[4]);
    col8(&acc0[5], &acc1[5], a[0], a[1], a[2], a[3], bl[5]);
    col8(&acc0[6], &acc1[6], a[0], a[1], a[2], a[3], bl[6]);
    col8(&acc0[7], &acc1[7], a[0], a[1], a[2], a[3], bl[7]);
    col8(&acc0[8], &acc1[8], a[0], a[1], a[2], a[3], bl[8]);
    col8(&acc0[9], &acc1[9], a[0], a[1], a[2], a[3], bl[9]);
    col8(&acc0[10], &acc1[10], a[0], a[1], a[2], a[3], bl[10]);
    col8(&acc0[11], &acc1[11], a[0], a[1], a[2], a[3], bl[11]);
    col8(&acc0[12], &acc1[12], a[0], a[1], a[2], a[3], bl[12]);
    col8(&acc0[13], &acc1[13], a[0], a[1], a[2], a[3], bl[13]);
    col8(&acc0[14], &acc1[14], a[0], a[1], a[2], a[3], bl[14]);
    col8(&acc0[15], &acc1[15], a[0], a[1], a[2], a[3], bl[15]);
    col8(&acc2[0], &acc3[0], a[4], a[5], a[6], a[7], bl[0]);
    col8(&acc2[1], &acc3[1], a[4], a[5], a[6], a[7], bl[1]);
    col8(&acc2[2], &acc3[2], a[4], a[5], a[6], a[7], bl[2]);
    col8(&acc2[3], &acc3[3], a[4], a[5], a[6], a[7], bl[3]);
    col8(&acc2[4], &acc3[4], a[4], a[5], a[6], a[7], bl[4]);
    col8(&acc2[5], &acc3[5], a[4], a[5], a[6], a[7], bl[5]);
    col8(&acc2[6], &acc3[6], a[4], a[5], a[6], a[7], bl[6]);
    col8(&acc2[7], &acc3[7], a[4], a[5], a[6], a[7], bl[7]);
    col8(&acc2[8], &acc3[8], a[4], a[5], a[6], a[7], bl[8]);
    col8(&acc2[9], &acc3[9], a[4], a[5], a[6], a[7], bl[9]);
    col8(&acc2[10], &acc3[10], a[4], a[5], a[6], a[7], bl[10]);
    col8(&acc2[11], &acc3[11], a[4], a[5], a[6], a[7], bl[11]);
    col8(&acc2[12], &acc3[12], a[4], a[5], a[6], a[7], bl[12]);
    col8(&acc2[13], &acc3[13], a[4], a[5], a[6], a[7], bl[13]);
    col8(&acc2[14], &acc3[14], a[4], a[5], a[6], a[7], bl[14]);
    col8(&acc2[15], &acc3[15], a[4], a[5], a[6], a[7], bl[15]);
  }

  let row = wid.z * P.M * N4;
  if (m < P.M) { store_row(row + m * N4, c4, N4, acc0); }
  if (m + 1u < P.M) { store_row(row + (m + 1u) * N4, c4, N4, acc1); }
  if (m + 2u < P.M) { store_row(row + (m + 2u) * N4, c4, N4, acc2); }
  if (m + 3u < P.M) { store_row(row + (m + 3u) * N4, c4, N4, acc3); }
}

/** The 16 vec4 of one C row that lie inside N. */
fn store_row(row: u32, c4: u32, N4: u32, acc: array<vec4f, 16>) {
  for (var q = 0u; q < 16u; q++) {
    if (c4 + q < N4) { C[row + c4 + q] = acc[q]; }
  }
}
