// Dawn as a browser's WebGPU for the JS peers (TF.js, jax-js): Node 20 has no `navigator`, so the
// peers get a Dawn GPU object from the `webgpu` package as `navigator.gpu`, and the GPU* classes
// (GPUBufferUsage, ...) as globals. Installed once per process; each peer then requests its own
// adapter and device from it (the same physical adapter as ours).
import { create, globals } from 'webgpu';

let gpu: GPU | null = null;

export function dawnNavigator(): GPU {
  if (!gpu) {
    for (const [k, v] of Object.entries(globals as Record<string, unknown>))
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    gpu = create([]);
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu, userAgent: 'node' },
      configurable: true,
      writable: true,
    });
  }
  return gpu;
}
