// params.wgsl — what every resize kernel shares (included through forward_io.wgsl or
// backward_io.wgsl): the uniform block (filled by src/ops/interpolate.ts params()), its binding, and
// the thread's pixel on the kernel's 3-D grid.
//#uniforms ResizeParams

@group(0) @binding(0) var<uniform> P: ResizeParams;

/**
 * The pixel thread gid owns: (column, row, plane) = (gid.x, gid.y, gid.z + plane_base). The grid's
 * coordinates come without integer division; planes beyond one dispatch's z limit take several
 * dispatches, each starting at plane_base.
 */
fn grid_pixel(gid: vec3u) -> vec3u {
  return vec3u(gid.x, gid.y, gid.z + P.plane_base);
}

/** Whether pixel p lies inside a width × height × planes grid (the last workgroups overhang it). */
fn in_grid(p: vec3u, width: u32, height: u32) -> bool {
  return p.x < width && p.y < height && p.z < P.planes;
}
