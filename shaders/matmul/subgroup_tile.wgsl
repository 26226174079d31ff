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

/** acc[r] += a_r · b (one row of a thread's 4×16 block: 4 vec4 of B). */
fn fma_row(acc: ptr<function, array<vec4f, 4>>, a: f32, b0: vec4f, b1: vec4f, b2: vec4f, b3: vec4f) {
  (*acc)[0] = fma(vec4f(a), b0, (*acc)[0]);
  (*acc)[1] = fma(vec4f(a), b1, (*acc)[1]);
  (*acc)[2] = fma(vec4f(a), b2, (*acc)[2]);
  (*acc)[3] = fma(vec4f(a), b3, (*acc)[3]);
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
  // A rows (clamped: rows past M compute garbage that is never stored)
  let ra0 = a_off / 4u + min(m, P.M - 1u) * K4;
  let ra1 = a_off / 4u + min(m + 1u, P.M - 1u) * K4;
  let ra2 = a_off / 4u + min(m + 2u, P.M - 1u) * K4;
  let ra3 = a_off / 4u + min(m + 3u, P.M - 1u) * K4;
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
    // A: 8 steps of k for 4 rows as 8 vec4 (the second half is zero when K % 8 == 4 ends here)
    let q = k0 / 4u;
    let more = k0 + 4u < P.K;
    let q1 = select(q, q + 1u, more);
    let a0l = A[ra0 + q]; let a0h = select(z, A[ra0 + q1], more);
    let a1l = A[ra1 + q]; let a1h = select(z, A[ra1 + q1], more);
    let a2l = A[ra2 + q]; let a2h = select(z, A[ra2 + q1], more);
    let a3l = A[ra3 + q]; let a3h = select(z, A[ra3 + q1], more);
    { // k = k0 + 0: row 0 of B from lane 0
      let b0 = subgroupBroadcast(bl0, 0u); let b1 = subgroupBroadcast(bl1, 0u);
      let b2 = subgroupBroadcast(bl2, 0u); let b3 = subgroupBroadcast(bl3, 0u);
      fma_row(&acc0, a0l.x, b0, b1, b2, b3); fma_row(&acc1, a1l.x, b0, b1, b2, b3);
      fma_row(&acc2, a2l.x, b0, b1, b2, b3); fma_row(&acc3, a3l.x, b0, b1, b2, b3);
    }
    { // k = k0 + 1: row 1 of B from lane 1
      let b0 = subgroupBroadcast(bl0, 1u); let b1 = subgroupBroadcast(bl1, 1u);
      let b2 = subgroupBroadcast(bl2, 1u); let b3 = subgroupBroadcast(bl3, 1u);
      fma_row(&acc0, a0l.y, b0, b1, b2, b3); fma_row(&acc1, a1l.y, b0, b1, b2, b3);
      fma_row(&acc2, a2l.y, b0, b1, b2, b3); fma_row(&acc3, a3l.y, b0, b1, b2, b3);
    }
    { // k = k0 + 2: row 2 of B from lane 2
      let b0 = subgroupBroadcast(bl0, 2u); let b1 = subgroupBroadcast(bl1, 2u);
      let b2 = subgroupBroadcast(bl2, 2u); let b3 = subgroupBroadcast(bl3, 2u);
      fma_row(&acc0, a0l.z, b0, b1, b2, b3); fma_row(&acc1, a1l.z, b0, b1, b2, b3);
      fma_row(&acc2, a2l.z, b0, b1, b2, b3); fma_row(&acc3, a3l.z, b0, b1, b2, b3);
    }
    { // k = k0 + 3: row 3 of B from lane 3
      let b0 = subgroupBroadcast(bl0, 3u); let b1 = subgroupBroadcast(bl1, 3u);
      let b2 = subgroupBroadcast(bl2, 3u); let b3 = subgroupBroadcast(bl3, 3u);
      fma_row(&acc0, a0l.w, b0, b1, b2, b3); fma_row(&acc1, a1l.w, b0, b1, b2, b3);
      fma_row(&acc2, a2l.w, b0, b1, b2, b3); fma_row(&acc3, a3l.w, b0, b1, b2, b3);
    }
    { // k = k0 + 4: row 4 of B from lane 4
      let b0 = subgroupBroadcast(bl0, 4u); let b1 = subgroupBroadcast(bl1, 4u);
      let b2 = subgroupBroadcast(bl2, 4u); let b3 = subgroupBroadcast(bl3, 4u);
      fma_row(&acc0, a0h.x, b0, b1, b2, b3); fma_row(&acc1, a1h.x, b0, b1, b2, b3);
      fma_row(&acc2, a2h.x, b0, b1, b2, b3); fma_row(&acc3, a3h.x, b0, b1, b2, b3);
    }
    { // k = k0 + 5: row 5 of B from lane 5
      let b0 = subgroupBroadcast(bl0, 5u); let b1 = subgroupBroadcast(bl1, 5u);
      let b2 = subgroupBroadcast(bl2, 5u); let b3 = subgroupBroadcast(bl3, 5u);
      fma_row(&acc0, a0h.y, b0, b1, b2, b3); fma_row(&acc1, a1h.y, b0, b1, b2, b3);
      fma_row(&acc2, a2h.y, b0, b1, b2, b3); fma_row(&acc3, a3h.y, b0, b1, b2, b3);
    }
    { // k = k0 + 6: row 6 of B from lane 6
      let b0 = subgroupBroadcast(bl0, 6u); let b1 = subgroupBroadcast(bl1, 6u);
      let b2 = subgroupBroadcast(bl2, 6u); let b3 = subgroupBroadcast(bl3, 6u);
      fma_row(&acc0, a0h.z, b0, b1, b2, b3); fma_row(&acc1, a1h.z, b0, b1, b2, b3);
      fma_row(&acc2, a2h.z, b0, b1, b2, b3); fma_row(&acc3, a3h.z, b0, b1, b2, b3);
    }
    { // k = k0 + 7: row 7 of B from lane 7
      let b0 = subgroupBroadcast(bl0, 7u); let b1 = subgroupBroadcast(bl1, 7u);
      let b2 = subgroupBroadcast(bl2, 7u); let b3 = subgroupBroadcast(bl3, 7u);
      fma_row(&acc0, a0h.w, b0, b1, b2, b3); fma_row(&acc1, a1h.w, b0, b1, b2, b3);
      fma_row(&acc2, a2h.w, b0, b1, b2, b3); fma_row(&acc3, a3h.w, b0, b1, b2, b3);
    }
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
