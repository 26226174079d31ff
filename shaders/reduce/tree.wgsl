// tree.wgsl — reduction (sum or max) of many elements per output: a workgroup tree.
//
// What it computes: out[w] = COMBINE over r in [start, end) of x[base(o) + red_offset(r)] (times
// `scale`, e.g. 1/n for a mean), where workgroup w handles output o = w / num_chunks and chunk
// c = w % num_chunks of that output's reduction axis. src/ops/reduce.ts always launches it with
// chunk = red_size and num_chunks = 1: one workgroup per output, no partials.
//
// Index mapping: the kept axes (out_shape / out_strides) and the reduced axes (red_shape /
// red_strides) are strided walks of the input, so any set of axes reduces in place, without a
// transpose. reduce.ts merges neighbouring axes first, so the common cases have rank 1 or 2.
//
// Tiling: 256 threads per workgroup. Thread t accumulates r = start + t, start + t + 256, ... in
// registers (neighbouring threads read neighbouring addresses), then the 256 partials meet in a
// shared-memory tree: 8 halving steps, each behind a barrier. The order of every addition is fixed
// by the shape alone, so results are bitwise repeatable.
// Memory traffic: 4 bytes read per input element, 4 bytes written per workgroup. FLOPs: 1 per element.

//#include "reduce/params"

@group(0) @binding(0) var<uniform> P: ReduceParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

fn combine(a: f32, b: f32) -> f32 { return {{COMBINE}}; }
fn identity() -> f32 { var bits = {{IDENTITY}}; return bitcast<f32>(bits); }  // bits: WGSL has no -inf literal


// Offset of kept position o (row-major over out_shape) in the input.
//#include "reduce/out_index"

// Offset of reduction index r (row-major over red_shape) in the input.
//#include "reduce/red_index"

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * P.grid_x;
  if (w >= P.num_out * P.num_chunks) { return; }   // whole workgroups only: barriers stay uniform
  let o = w / P.num_chunks;
  let c = w % P.num_chunks;
  let base = out_offset(o);
  let start = c * P.chunk;
  let end = min(start + P.chunk, P.red_size);
  var acc = identity();
  for (var r = start + lid; r < end; r += WG) {
    acc = combine(acc, x[base + red_offset(r)]);
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = combine(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) { out[w] = partial[0] * P.scale; }
}
