// nonfinite_check.wgsl — does a tensor hold a NaN or an infinity? The GPU half of an optimizer's
// guarded step (Optimizer.step({ skipNonFinite: true })): one dispatch per checked tensor (the loss,
// then every gradient) raises a flag that the step-counter and update kernels read, so a step with a
// non-finite loss or gradient changes nothing — without the CPU reading anything back.
//
//   flag[0] |= 1.0f bits                       when any values[i], i < count, is NaN or ±Inf
//   flag[1]  = max(flag[1], 0xffffffff - slot)  so the smallest offending slot survives,
//                                               whatever order the threads run in (0 = none)
// flag[0] holds 0x3f800000 (the bits of 1.0) rather than 1 so that the flag tensor, a float32 tensor
// like every other, reads back as 0 or 1.
//
// The test looks at the bits: exponent all ones. `x != x` or `x - x != 0.0` would not do: WGSL lets
// implementations assume that NaN and infinities never occur, and a compiler may fold those to false.
// One element per thread, 256 threads per workgroup; grids wider than 65535 workgroups fold into y.
// Atomics only run in threads that found a bad value, so a healthy tensor costs a plain read.
// Memory traffic: 4 bytes read per element; 8 bytes of atomics per bad element.

struct Params {
  count: u32,
  grid_x: u32,
  slot: u32,   // which checked tensor this is (0, 1, ...), reported back through flag[1]
  pad0: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> values: array<u32>;   // float32 data read as raw bits
@group(0) @binding(2) var<storage, read_write> flag: array<atomic<u32>, 2>;

const EXPONENT = 0x7f800000u;
const ONE_F32_BITS = 0x3f800000u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * P.grid_x;
  if (i >= P.count) { return; }
  if ((values[i] & EXPONENT) == EXPONENT) {
    atomicOr(&flag[0], ONE_F32_BITS);
    atomicMax(&flag[1], 0xffffffffu - P.slot);
  }
}
