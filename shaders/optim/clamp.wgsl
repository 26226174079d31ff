// clamp.wgsl — p[i] = min(max(p[i], lo), hi) in place for i < count: weight clipping of a WGAN
// critic after each optimizer step (clampParameters).
// One element per thread, 256 threads per workgroup; grids wider than 65535 workgroups fold into y.
// Memory traffic: 8 bytes per element (read and write p).

//#uniforms ClampParams

@group(0) @binding(0) var<uniform> P: ClampParams;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * P.grid_x;
  if (i < P.count) { param[i] = min(max(param[i], P.lo), P.hi); }
}
