// grad_params.wgsl — included by weight_grad.wgsl and weight_grad_sg.wgsl (//#include
// "conv/grad_params"): the uniform block of the weight-gradient kernels, packed by launchWeightGrad in
// src/ops/conv.ts. Not a kernel of its own.

//#uniforms ConvWeightGrad
