// subgroup_tile.wgsl — batched matmul C[b] = A[b] · B[b] (A: M×K, B: K×N, row-major) for lavapipe /
// llvmpipe, where a storage load costs far more than an FMA and subgroups are 8 (or 16) lanes.
//
// Why this shape: llvmpipe splits every storage-buffer load into per-lane scalar loads with bounds
// checks (~1 G lane-loads/s on 2 cores) while FMAs run 8 lanes per instruction. register_tile.wgsl
// spends 12 lane-loads per 32 FMAs. Here a thread owns a 4×16 block of C (16 vec4 accumulators), and
// the lanes of a subgroup own different rows of the same 16 columns, so they need the same B values:
// for 8 steps along k, lane l loads row k0 + (l mod 8) of the 16 columns (4 vec4) and subgroupBroadcast
// hands each row to every lane. A thread reads its own 4 rows × 8 k of A as 8 vec4. Per 8 steps of k:
// 12 vec4 loads for 512 FMAs (register_tile.wgsl: 96 scalar loads for 256 FMAs).
//
// Tiling: workgroup 64 lanes = 4 blocks of 16 lanes; block q owns columns 16·(4·wid.x + q) + 0..15,
// and lane i of the block rows 64·wid.y + 4·i + 0..3. A block of 16 lanes is one subgroup of 16 or
// two of 8 that load the same B rows. Control flow stays uniform: rows and columns past the end read
// clamped (or zeroed) values and skip the store.
// Memory traffic: A is read N/16 times, B M/64 times (mostly from the CPU caches); C written once.
// FLOPs: 2·M·N·K per batch. Requires K % 4 == 0 and N % 4 == 0 (src/ops/matmul.ts pads).

enable subgroups;

//#include "matmul/params"

@group(0) @binding(1) var<storage, read_write> C: array<vec4f>;
@group(0) @binding(2) var<storage, read> A: array<vec4f>;
@group(0) @binding(3) var<storage, read> B: array<vec4f>;

//#include "matmul/subgroup_rows"

/** acc[r] += a_r · b (one row of a thread's 4×16 block: 4 vec4 of B). */
fn fma_row(acc: ptr<function, array<vec4f, 4>>, a: f32, b0: vec4f, b1: vec4f, b2: vec4f, b3: vec4f) {
  (*acc)[0] = fma(vec4f(a), b0, (*acc)[0]);
  (*acc)[1] = fma(vec4f(a), b1, (*acc)[1]);
  (*acc)[2] = fma(vec4f(a), b2, (*acc)[2]);
  (*acc)[3] = fma(vec4f(a), b3, (*acc)[3]);
}

/** One step along k for the thread's 4 rows: acc_r += a[r] · (b0 b1 b2 b3: the broadcast row of B). */
fn step_k(acc0: ptr<function, array<vec4f, 4>>, acc1: ptr<function, array<vec4f, 4>>, acc2: ptr<function, array<vec4f, 4>>,
          acc3: ptr<function, array<vec4f, 4>>, a: vec4f, b0: vec4f, b1: vec4f, b2: vec4f, b3: vec4f) {
  fma_row(acc0, a.x, b0, b1, b2, b3); fma_row(acc1, a.y, b0, b1, b2, b3);
  fma_row(acc2, a.z, b0, b1, b2, b3); fma_row(acc3, a.w, b0, b1, b2, b3);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let offsets = batch_offsets(wid.z);
  let a_off = offsets.x;
  let b_off = offsets.y;
  let K4 = P.K / 4u;
  let N4 = P.N / 4u;
  let block = lid / 16u;
  let lane16 = lid % 16u;
  let lane8 = lid % 8u;
  let m = wid.y * 64u + lane16 * 4u;          // this thread's first row
  let c4 = (wid.x * 4u + block) * 4u;         // the block's first vec4 column
  let ra = a_rows(a_off / 4u, m, K4);
  // the 4 vec4 columns this lane loads for the block (clamped; zeroed below when past N)
  let cb0 = b_off / 4u + min(c4, N4 - 1u);
  let cb1 = b_off / 4u + min(c4 + 1u, N4 - 1u);
  let cb2 = b_off / 4u + min(c4 + 2u, N4 - 1u);
  let cb3 = b_off / 4u + min(c4 + 3u, N4 - 1u);
  let z = vec4f(0.0);

  var acc0: array<vec4f, 4>;
  var acc1: array<vec4f, 4>;
  var acc2: array<vec4f, 4>;
  var acc3: array<vec4f, 4>;
  for (var k0 = 0u; k0 < P.K; k0 += 8u) {
    // B: this lane's row k0 + lane8 of the block's 16 columns (exact zeros past K or N: select, not a multiply, so an Inf in B cannot turn into NaN)
    let kb = k0 + lane8;
    let kin = kb < P.K;
    let kr = min(kb, P.K - 1u) * N4;
    let bl0 = select(z, B[kr + cb0], kin && c4 < N4);
    let bl1 = select(z, B[kr + cb1], kin && c4 + 1u < N4);
    let bl2 = select(z, B[kr + cb2], kin && c4 + 2u < N4);
    let bl3 = select(z, B[kr + cb3], kin && c4 + 3u < N4);
    // A: 8 steps of k for the 4 rows, a[2r] (k0 … k0 + 3) and a[2r + 1] (k0 + 4 … k0 + 7) for row r
    let a = load_a(ra, k0);
    // k = k0 + j (j = 0 … 7): row j of B from lane j, times the 4 rows' A values at k
    step_k(&acc0, &acc1, &acc2, &acc3, vec4f(a[0].x, a[2].x, a[4].x, a[6].x), subgroupBroadcast(bl0, 0u), subgroupBroadcast(bl1, 0u), subgroupBroadcast(bl2, 0u), subgroupBroadcast(bl3, 0u));
    step_k(&acc0, &acc1, &acc2, &acc3, vec4f(a[0].y, a[2].y, a[4].y, a[6].y), subgroupBroadcast(bl0, 1u), subgroupBroadcast(bl1, 1u), subgroupBroadcast(bl2, 1u), subgroupBroadcast(bl3, 1u));
    step_k(&acc0, &acc1, &acc2, &acc3, vec4f(a[0].z, a[2].z, a[4].z, a[6].z), subgroupBroadcast(bl0, 2u), subgroupBroadcast(bl1, 2u), subgroupBroadcast(bl2, 2u), subgroupBroadcast(bl3, 2u));
    step_k(&acc0, &acc1, &acc2, &acc3, vec4f(a[0].w, a[2].w, a[4].w, a[6].w), subgroupBroadcast(bl0, 3u), subgroupBroadcast(bl1, 3u), subgroupBroadcast(bl2, 3u), subgroupBroadcast(bl3, 3u));
    step_k(&acc0, &acc1, &acc2, &acc3, vec4f(a[1].x, a[3].x, a[5].x, a[7].x), subgroupBroadcast(bl0, 4u), subgroupBroadcast(bl1, 4u), subgroupBroadcast(bl2, 4u), subgroupBroadcast(bl3, 4u));
    step_k(&acc0, &acc1, &acc2, &acc3, vec4f(a[1].y, a[3].y, a[5].y, a[7].y), subgroupBroadcast(bl0, 5u), subgroupBroadcast(bl1, 5u), subgroupBroadcast(bl2, 5u), subgroupBroadcast(bl3, 5u));
    step_k(&acc0, &acc1, &acc2, &acc3, vec4f(a[1].z, a[3].z, a[5].z, a[7].z), subgroupBroadcast(bl0, 6u), subgroupBroadcast(bl1, 6u), subgroupBroadcast(bl2, 6u), subgroupBroadcast(bl3, 6u));
    step_k(&acc0, &acc1, &acc2, &acc3, vec4f(a[1].w, a[3].w, a[5].w, a[7].w), subgroupBroadcast(bl0, 7u), subgroupBroadcast(bl1, 7u), subgroupBroadcast(bl2, 7u), subgroupBroadcast(bl3, 7u));
  }

  let n_out = C_row_base(wid.z);
  if (m < P.M) { store_row(n_out + m * N4, c4, N4, acc0); }
  if (m + 1u < P.M) { store_row(n_out + (m + 1u) * N4, c4, N4, acc1); }
  if (m + 2u < P.M) { store_row(n_out + (m + 2u) * N4, c4, N4, acc2); }
  if (m + 3u < P.M) { store_row(n_out + (m + 3u) * N4, c4, N4, acc3); }
}

fn C_row_base(z: u32) -> u32 {
  return z * P.M * (P.N / 4u);
}

/** The 4 vec4 of one C row that lie inside N. */
fn store_row(row: u32, c4: u32, N4: u32, acc: array<vec4f, 4>) {
  if (c4 < N4) { C[row + c4] = acc[0]; }
  if (c4 + 1u < N4) { C[row + c4 + 1u] = acc[1]; }
  if (c4 + 2u < N4) { C[row + c4 + 2u] = acc[2]; }
  if (c4 + 3u < N4) { C[row + c4 + 3u] = acc[3]; }
}
