// backward_io.wgsl — the bindings of the gather-form resize backwards (bilinear_backward.wgsl,
// bilinear_backward_x2.wgsl, nearest_backward.wgsl): the uniforms and grid helpers of params.wgsl,
// the input gradient (written) and the output gradient (read).
//#include "resize/params"

@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
