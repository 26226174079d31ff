// map_vec4.wgsl — elementwise map over dense operands, four elements per thread.
//
// What it computes: out[i] = apply(in0[i], in1[i], in2[i]) for every element, where apply() is one
// expression of the op table (src/ops/optable.ts), as in map.wgsl. Used when every operand is a dense
// row-major array of the logical shape whose offset and element count are multiples of 4
// (src/runtime/map.ts decides); everything else takes map.wgsl.
// Tiling: 256 threads per workgroup in a bounded grid (src/runtime/map.ts caps it at 8192 threads on
// CPU adapters, 2^22 on GPUs). Each thread walks the array with the grid's width; per step it loads one
// vec4 of each input, applies the scalar expression to each component, and stores one vec4. On
// lavapipe a vec4 access is one wide load per lane instead of four, which roughly doubles the
// bandwidth of the scalar kernel.
// Memory traffic: (inputs + 1) x 16 bytes per vec4 (per loop step); elementwise ops are bandwidth-bound.

//#uniforms MapVec4Params

@group(0) @binding(0) var<uniform> P: MapVec4Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
{{BINDINGS}}

// Helpers the op table's expressions use (spow, stanh, ssigmoid, nan_f32).
//#include "elementwise/helpers"

fn apply({{ARGS}}) -> f32 { return {{EXPR}}; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  // Grid-stride loop: a bounded grid, each thread walking the array with the grid's width.
  for (var i = gid.x + gid.y * P.grid_x; i < P.count4; i += P.stride) {
{{LOADS}}
    out[i + P.offsets4.x] = vec4f({{CALL_X}}, {{CALL_Y}}, {{CALL_Z}}, {{CALL_W}});
  }
}
