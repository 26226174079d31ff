// params.wgsl — the uniform block every reduction kernel reads (included; filled by
// src/ops/reduce.ts params() through its layout ReduceParams). A kernel ignores the fields it does not need.
//#uniforms ReduceParams
