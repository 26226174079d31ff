// average.wgsl — one update of an exponential moving average of a set of tensors (a network's
// parameters and running statistics), over flat arrays (src/optim/average.ts copies each tensor into
// `current` at its offset first):
//   n      = count[0], the updates before this one (kept on the GPU, incremented by
//            optim/step_counter after this dispatch, so this kernel's uniform block never changes)
//   avg[i] = current[i]                                  when n = 0 (the average starts at the weights)
//   d      = min(decay, (1 + n) / (10 + n))              otherwise (TensorFlow's ExponentialMovingAverage
//   avg[i] = d * avg[i] + (1 - d) * current[i]            with num_updates: a short window at first)
// One element per thread, 256 threads per workgroup; grids wider than 65535 workgroups fold into y
// (element = (wid.x + wid.y * groups_x) * 256 + lid).
// Memory traffic: 12 bytes per element (read avg and current, write avg); 8 on the first update.

//#uniforms AverageParams

@group(0) @binding(0) var<uniform> P: AverageParams;
@group(0) @binding(1) var<storage, read_write> avg: array<f32>;
@group(0) @binding(2) var<storage, read> current: array<f32>;
@group(0) @binding(3) var<storage, read> count: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * P.groups_x) * 256u + lid;
  if (i >= P.n) { return; }
  let n = count[0];
  if (n == 0u) {
    avg[i] = current[i];
    return;
  }
  let t = f32(n);
  let d = min(P.decay, (1.0 + t) / (10.0 + t));
  avg[i] = d * avg[i] + (1.0 - d) * current[i];
}
