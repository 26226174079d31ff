// fill.wgsl — out[i] = value for i < count (zeros, ones, full).
// One element per thread, 256 threads per workgroup; grids wider than 65535 workgroups fold into y.
// Memory traffic: 4 bytes written per element, nothing read.

//#uniforms FillParams

@group(0) @binding(0) var<uniform> P: FillParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * P.grid_x;
  if (i < P.count) { out[i] = P.value; }
}
