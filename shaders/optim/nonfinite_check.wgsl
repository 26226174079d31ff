// nonfinite_check.wgsl — does any checked value hold a NaN or an infinity? The GPU half of an
// optimizer's guarded step (Optimizer.step({ skipNonFinite: true })): one dispatch checks the loss
// (and any other tensor the caller names) and every gradient, gathered into one flat array and cut
// into chunks that name their slot (see flat.wgsl). It raises a flag that the step-counter and update
// kernels read, so a step with a non-finite loss or gradient changes nothing — without the CPU
// reading anything back.
//
//   flag[0] |= 1.0f bits                       when any checked value is NaN or ±Inf
//   flag[1]  = max(flag[1], 0xffffffff - slot)  so the smallest offending slot survives,
//                                               whatever order the threads run in (0 = none)
// flag[0] holds 0x3f800000 (the bits of 1.0) rather than 1 so that the flag tensor, a float32 tensor
// like every other, reads back as 0 or 1. Only elements inside a chunk are read: whatever lies past a
// tensor's end in its pooled buffer (stale values) was never copied into the flat array's chunks.
//
// The test looks at the bits: exponent all ones. `x != x` or `x - x != 0.0` would not do: WGSL lets
// implementations assume that NaN and infinities never occur, and a compiler may fold those to false.
// One element per thread, one chunk (≤ 256 elements of one tensor) per workgroup of 256.
// Atomics only run in threads that found a bad value, so a healthy tensor costs a plain read.
// Memory traffic: 4 bytes read per element; 8 bytes of atomics per bad element.

//#include "optim/flat"

//#uniforms NonfiniteParams

@group(0) @binding(0) var<uniform> P: NonfiniteParams;
@group(0) @binding(1) var<storage, read> values: array<u32>;   // float32 data read as raw bits
@group(0) @binding(2) var<storage, read_write> flag: array<atomic<u32>, 2>;
@group(0) @binding(3) var<storage, read> chunks: array<Chunk>;

const EXPONENT = 0x7f800000u;
const ONE_F32_BITS = 0x3f800000u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = my_chunk(P.flat, wid);
  let i = c.start + lid;
  if (i >= c.end) { return; }
  if ((values[i] & EXPONENT) == EXPONENT) {
    atomicOr(&flag[0], ONE_F32_BITS);
    atomicMax(&flag[1], 0xffffffffu - c.tensor);
  }
}
