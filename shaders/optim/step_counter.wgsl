// step_counter.wgsl — steps[k] += 1 for every parameter k whose bit is set in P.mask: the
// per-parameter step counts of an optimizer (PyTorch's state['step']), kept on the GPU so that the
// update kernels read the step from memory and their uniform blocks stay the same every step
// (uniforms are content-addressed: a uniform holding the step would be a new buffer every step).
// The mask marks the parameters that have a gradient this step; it changes only when that set
// changes, so this kernel's uniform is reused too. MASK_VEC4S = ceil(parameters / 128).
// A guarded step whose loss or gradients were not finite (skip[0] != 0) counts for nothing.
// One parameter per thread, 64 threads per workgroup (one workgroup for up to 64 parameters).
// Memory traffic: 8 bytes per parameter with a gradient (read and write one u32), nothing otherwise.

//#uniforms StepCounterParams

@group(0) @binding(0) var<uniform> P: StepCounterParams;
@group(0) @binding(1) var<storage, read_write> steps: array<u32>;
@group(0) @binding(2) var<storage, read> skip: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let k = gid.x;
  if (k >= P.count || skip[0] != 0u) { return; }
  let word = P.mask[k / 128u][(k / 32u) % 4u];
  if (((word >> (k % 32u)) & 1u) != 0u) { steps[k] = steps[k] + 1u; }
}
