// serial.wgsl — reduction (sum or max) with one thread per partial result and no barriers at all.
//
// What it computes: out[w] = scale * COMBINE over r = c, c + num_chunks, c + 2·num_chunks,
// ... < red_size of x[base(o) + red_offset(r)], in that order, where w = o * num_chunks + c, or
// w = c * num_out + o when `chunk` is 1 (outputs fastest: coalesced reads when the kept axis is innermost).
//   num_chunks = 1: one thread per output, for many outputs with short reduction axes.
//   num_chunks > 1: stage 1 of a split reduction for few outputs with long axes: neighbouring threads
//   read neighbouring elements (coalesced), each walks its own residue class; src/ops/reduce.ts then
//   reduces the [num_out, num_chunks] partials the same way until one value per output is left.
// Index mapping as in tree.wgsl. Tiling: 256 threads per workgroup; no shared memory and no barriers,
// which matters on CPU adapters (lavapipe runs barriers as coroutine switches). The order of every
// addition is fixed by the shape alone: bitwise repeatable.
// Memory traffic: 4 bytes read per input element, 4 bytes written per partial. FLOPs: 1 per element.

//#include "reduce/params"

@group(0) @binding(0) var<uniform> P: ReduceParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

fn combine(a: f32, b: f32) -> f32 { return {{COMBINE}}; }
fn identity() -> f32 { var bits = {{IDENTITY}}; return bitcast<f32>(bits); }  // bits: WGSL has no -inf literal


//#include "reduce/out_index"

//#include "reduce/red_index"

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = gid.x + gid.y * P.grid_x;
  if (w >= P.num_out * P.num_chunks) { return; }
  var o = w / P.num_chunks;
  var c = w % P.num_chunks;
  if (P.chunk == 1u) {            // neighbouring threads take neighbouring outputs: coalesced when
    o = w % P.num_out;            // the kept axis is the innermost one
    c = w / P.num_out;
  }
  let base = out_offset(o);
  var acc = identity();
  for (var r = c; r < P.red_size; r += P.num_chunks) {
    acc = combine(acc, x[base + red_offset(r)]);
  }
  out[w] = acc * P.scale;
}
