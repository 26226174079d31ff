// workgroup_tile.wgsl — batched matmul C[b] = A[b] · B[b] (A: M×K, B: K×N, row-major) for GPUs,
// staging tiles of A and B in workgroup memory.
//
// Tiling: a workgroup of 16×16 threads owns a TILE_M×TILE_N = {{TILE_M}}×{{TILE_N}} block of C; thread
// (tx, ty) owns the 4×4 outputs at rows 4·ty.., columns 4·tx... For each step of TILE_K = {{TILE_K}}
// along k, the 256 threads copy a 64×16 tile of A (one vec4 each) and a 16×64 tile of B (four floats
// each) into workgroup memory, wait at a barrier, and each thread does 16·4·4 FMAs from shared memory.
// Memory traffic from global memory: A is read N/TILE_N times, B is read M/TILE_M times; C written once.
// Shared-memory traffic: 8 loads per 16 FMAs. FLOPs: 2·M·N·K per batch.
// Requires K % 4 == 0 (vec4 view of A); the uniform block is matmul/params.wgsl, shared by all matmul kernels.

//#include "matmul/params"

@group(0) @binding(1) var<storage, read_write> C: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<vec4f>;
@group(0) @binding(3) var<storage, read> B: array<f32>;

const TILE_M = {{TILE_M}}u;
const TILE_N = {{TILE_N}}u;
const TILE_K = {{TILE_K}}u;

var<workgroup> As: array<array<f32, TILE_K>, TILE_M>;
var<workgroup> Bs: array<array<f32, TILE_N>, TILE_K>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) lid: u32) {
  let offsets = batch_offsets(wid.z);
  let a_off = offsets.x;
  let b_off = offsets.y;
  let m0 = wid.y * TILE_M;
  let n0 = wid.x * TILE_N;
  let tx = lid3.x;
  let ty = lid3.y;
  let K4 = P.K / 4u;
  var acc: array<vec4f, 4>;
  for (var k0 = 0u; k0 < P.K; k0 += TILE_K) {
    // A tile: 64 rows × 4 vec4 = 256 vec4, one per thread.
    let ar = lid / 4u;
    let ak = k0 / 4u + lid % 4u;
    var av = vec4f(0.0);
    if (m0 + ar < P.M && ak < K4) { av = A[a_off / 4u + (m0 + ar) * K4 + ak]; }
    As[ar][(lid % 4u) * 4u] = av.x;
    As[ar][(lid % 4u) * 4u + 1u] = av.y;
    As[ar][(lid % 4u) * 4u + 2u] = av.z;
    As[ar][(lid % 4u) * 4u + 3u] = av.w;
    // B tile: 16 rows × 64 columns = 1024 floats, four per thread.
    for (var q = 0u; q < 4u; q++) {
      let idx = lid + q * 256u;
      let br = idx / TILE_N;
      let bc = idx % TILE_N;
      var bv = 0.0;
      if (k0 + br < P.K && n0 + bc < P.N) { bv = B[b_off + (k0 + br) * P.N + n0 + bc]; }
      Bs[br][bc] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let b = vec4f(Bs[kk][tx * 4u], Bs[kk][tx * 4u + 1u], Bs[kk][tx * 4u + 2u], Bs[kk][tx * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i] += As[ty * 4u + i][kk] * b;
      }
    }
    workgroupBarrier();
  }
  let c_off = wid.z * P.M * P.N;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty * 4u + i;
    if (m >= P.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tx * 4u + j;
      if (n < P.N) { C[c_off + m * P.N + n] = acc[i][j]; }
    }
  }
}
