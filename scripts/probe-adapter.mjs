// Prints the WebGPU adapter Dawn finds (exit 0), or why none was found (exit 1).
// Used by scripts/setup.sh to decide whether the Vulkan driver must be installed.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
let gpu = create([]);
try {
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    console.error('no WebGPU adapter');
    process.exitCode = 1;
  } else {
    const info = adapter.info ?? {};
    console.log(
      JSON.stringify({
        vendor: info.vendor,
        architecture: info.architecture,
        device: info.device,
        description: info.description,
      }),
    );
    const device = await adapter.requestDevice();
    device.destroy();
  }
} catch (e) {
  console.error(String(e?.message ?? e));
  process.exitCode = 1;
} finally {
  gpu = undefined;
}
