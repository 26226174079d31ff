// register_tile.wgsl — batched matmul C[b] = A[b] · B[b] (A: M×K, B: K×N, row-major), tuned for CPU
// implementations of WebGPU (lavapipe / llvmpipe), which run 8 invocations per SIMD instruction.
//
// Why this shape: on llvmpipe every storage-buffer load inside a loop is split into one scalar load per
// lane, with a bounds check and a branch each (~1 G lane-loads/s on 2 cores), while FMAs run 8 lanes
// at a time. Workgroup memory is slower still (measured 5x). So the kernel keeps a 4×8 block of C in
// registers per thread and loads, per step along k, 4 scalars of A and 2 vec4s of B (12 lane-loads)
// for 32 FMAs, with no workgroup memory and no barriers.
//
// Tiling: workgroup 16×16 threads covers 64 rows × 128 columns; thread (tx, ty) owns rows
// 4·(16·wid.y + ty) + 0..3 and columns 8·(16·wid.x + tx) + 0..7.
// Memory traffic: A is read N/8 times and B M/4 times (served mostly by the CPU caches), C written
// once. FLOPs: 2·M·N·K per batch. Requires N % 4 == 0 for the vec4 view of B (src/ops/matmul.ts pads).

//#include "matmul/params"

@group(0) @binding(1) var<storage, read_write> C: array<vec4f>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<vec4f>;

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let offsets = batch_offsets(gid.z);
  let a_off = offsets.x;
  let b_off = offsets.y;
  let N4 = P.N / 4u;
  let m = gid.y * 4u;             // first of this thread's 4 rows
  let n4 = gid.x * 2u;            // first of its 2 vec4 columns
  if (m >= P.M || n4 >= N4) { return; }
  // Rows past M and the column past N4 read a clamped, valid address; their results are not stored.
  let r0 = a_off + m * P.K;
  let r1 = a_off + min(m + 1u, P.M - 1u) * P.K;
  let r2 = a_off + min(m + 2u, P.M - 1u) * P.K;
  let r3 = a_off + min(m + 3u, P.M - 1u) * P.K;
  let c0 = b_off / 4u + n4;
  let c1 = b_off / 4u + min(n4 + 1u, N4 - 1u);
  var acc00 = vec4f(0.0); var acc01 = vec4f(0.0);
  var acc10 = vec4f(0.0); var acc11 = vec4f(0.0);
  var acc20 = vec4f(0.0); var acc21 = vec4f(0.0);
  var acc30 = vec4f(0.0); var acc31 = vec4f(0.0);
  for (var k = 0u; k < P.K; k++) {
    let b0 = B[c0 + k * N4];
    let b1 = B[c1 + k * N4];
    let a0 = A[r0 + k]; let a1 = A[r1 + k]; let a2 = A[r2 + k]; let a3 = A[r3 + k];
    acc00 = fma(vec4f(a0), b0, acc00); acc01 = fma(vec4f(a0), b1, acc01);
    acc10 = fma(vec4f(a1), b0, acc10); acc11 = fma(vec4f(a1), b1, acc11);
    acc20 = fma(vec4f(a2), b0, acc20); acc21 = fma(vec4f(a2), b1, acc21);
    acc30 = fma(vec4f(a3), b0, acc30); acc31 = fma(vec4f(a3), b1, acc31);
  }
  let out = gid.z * P.M * N4 + m * N4 + n4;
  let two = n4 + 1u < N4;
  C[out] = acc00;
  if (two) { C[out + 1u] = acc01; }
  if (m + 1u < P.M) { C[out + N4] = acc10; if (two) { C[out + N4 + 1u] = acc11; } }
  if (m + 2u < P.M) { C[out + 2u * N4] = acc20; if (two) { C[out + 2u * N4 + 1u] = acc21; } }
  if (m + 3u < P.M) { C[out + 3u * N4] = acc30; if (two) { C[out + 3u * N4 + 1u] = acc31; } }
}
