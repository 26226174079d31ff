// accumulate.wgsl — dst[i] += src[i] for i < count: in-place gradient accumulation into a leaf's .grad.
// (A separate kernel because WebGPU forbids binding one buffer both writable and read-only in one
// dispatch, so map.wgsl cannot read and write the same buffer.)
// One element per thread, 256 threads per workgroup. Memory traffic: 12 bytes per element.

//#uniforms AccumulateParams

@group(0) @binding(0) var<uniform> P: AccumulateParams;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * P.grid_x;
  if (i < P.count) { dst[i] = dst[i] + src[i]; }
}
