// params.wgsl — the uniform block every resize kernel reads (included; filled by
// src/ops/interpolate.ts params()).
//#uniforms ResizeParams
