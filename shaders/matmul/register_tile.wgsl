// register_tile.wgsl — batched matmul C[b] = A[b] · B[b] (A: M×K, B: K×N, row-major), tuned for CPU
// implementations of WebGPU (lavapipe / llvmpipe), which run a workgroup's invocations in SIMD lanes.
//
// Tiling: a workgroup of 64 threads owns TM = {{TM}} rows and 64·TN columns of C (TN = {{TN}}); thread t
// owns columns n0 + t·TN .. + TN-1 of those rows and keeps the TM×TN outputs in registers. No workgroup
// memory and no barriers (on lavapipe both are slower than the cache).
// Per step of 4 along k, each thread loads one vec4 of A per row (A[m, k..k+3]): the address depends
// only on the workgroup, so the driver loads it once and broadcasts it to all lanes; and 4·TN values of
// B (rows k..k+3, its own columns): neighbouring threads read neighbouring addresses. Then 4·TM·TN FMAs.
// Loads per FMA: 1/TM (B) + 1/(4·TN) (A, uniform).
// Memory traffic: A is read N/(64·TN) times, B is read M/TM times (mostly from cache); C written once.
// FLOPs: 2·M·N·K per batch.
// Requires K % 4 == 0 for the vec4 view of A (src/ops/matmul.ts pads or picks the scalar path).

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch_rank: u32,
  batch_shape: vec4u,             // broadcast batch shape (rank <= 4 after merging axes)
  a_batch_strides: vec4u,         // in elements; 0 where A is broadcast
  b_batch_strides: vec4u,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<vec4f>;
@group(0) @binding(3) var<storage, read> B: array<f32>;

const TM = {{TM}}u;
const TN = {{TN}}u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  // Batch offsets of A and B for this z-slice (broadcast batch axes have stride 0).
  var rem = wid.z;
  var a_off = 0u;
  var b_off = 0u;
  for (var d = P.batch_rank; d > 0u; d--) {
    let n = P.batch_shape[d - 1u];
    let c = rem % n;
    rem /= n;
    a_off += c * P.a_batch_strides[d - 1u];
    b_off += c * P.b_batch_strides[d - 1u];
  }
  let m0 = wid.y * TM;
  let n0 = (wid.x * 64u + lid) * TN;
  let K4 = P.K / 4u;
  var acc: array<array<f32, TN>, TM>;
  // Out-of-range rows/columns read a valid clamped address and are simply not written.
  var rows: array<u32, TM>;
  for (var i = 0u; i < TM; i++) { rows[i] = (a_off / 4u) + min(m0 + i, P.M - 1u) * K4; }
  var cols: array<u32, TN>;
  for (var j = 0u; j < TN; j++) { cols[j] = b_off + min(n0 + j, P.N - 1u); }
  for (var k4 = 0u; k4 < K4; k4++) {
    let kb = 4u * k4 * P.N;
    var b: array<vec4f, TN>;
    for (var j = 0u; j < TN; j++) {
      b[j] = vec4f(B[cols[j] + kb], B[cols[j] + kb + P.N], B[cols[j] + kb + 2u * P.N], B[cols[j] + kb + 3u * P.N]);
    }
    for (var i = 0u; i < TM; i++) {
      let a = A[rows[i] + k4];
      for (var j = 0u; j < TN; j++) {
        acc[i][j] += dot(a, b[j]);
      }
    }
  }
  let c_off = wid.z * P.M * P.N;
  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m >= P.M) { break; }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + j;
      if (n < P.N) { C[c_off + m * P.N + n] = acc[i][j]; }
    }
  }
}
