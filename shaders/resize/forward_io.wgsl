// forward_io.wgsl — the bindings of the forward resize kernels (bilinear.wgsl, bilinear_x2.wgsl,
// nearest.wgsl): the uniforms and grid helpers of params.wgsl, the output and the input.
//#include "resize/params"

@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
