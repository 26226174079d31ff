// split_vec4.wgsl — stage 1 of a split reduction over a contiguous axis, reading vec4s.
//
// What it computes: for output o, whose reduced elements are the contiguous run
// x[base(o) .. base(o) + red_size) (base from the kept axes' strides, as in tree.wgsl), partial c
// (of num_chunks) combines the vec4s v = c, c + num_chunks, c + 2·num_chunks, ... < red_size / 4, then
// the vector's components, then the tail elements n4·4 + c, n4·4 + c + num_chunks, ... < red_size. src/ops/reduce.ts reduces the
// [num_out, num_chunks] partials again. Requires every base(o) to be a multiple of 4 (reduce.ts checks).
// Tiling: 256 threads per workgroup, one partial each: neighbouring threads read neighbouring vec4s
// (8 lanes = 128 contiguous bytes on lavapipe), no shared memory, no barriers. Fixed order: bitwise
// repeatable. Memory traffic: 4 bytes per element read once; FLOPs: 1 per element.

//#include "reduce/params"

//#include "reduce/vec4_bindings"

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = gid.x + gid.y * P.grid_x;
  if (w >= P.num_out * P.num_chunks) { return; }
  let s = split(w);
  var acc = vec4f(identity());
  for (var v = s.c; v < s.n4; v += P.num_chunks) {
    acc = combine4(acc, x4[s.base4 + v]);
  }
  var r = combine_lanes(acc);
  let tail = P.red_size % 4u;
  for (var t = s.c; t < tail; t += P.num_chunks) { r = combine(r, x[s.base + s.n4 * 4u + t]); }
  out[w] = r * P.scale;
}
