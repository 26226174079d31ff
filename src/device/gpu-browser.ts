// Opening WebGPU in a browser: navigator.gpu's adapter and device. The browser build (src/web/build.ts)
// puts this file where gpu.ts (Dawn in Node) stands; everything above the device layer is the same code.
import { describeDevice, deviceRequest, type DeviceOptions, type OpenDevice } from './report.ts';

// backend and adapter in DeviceOptions mean nothing here: the browser picks its own
export { LIMIT_NAMES, OPTIONAL_FEATURES, type AdapterReport, type DeviceOptions, type OpenDevice } from './report.ts';

export const SETUP_HINT =
  'This browser offers no WebGPU. Use a browser with WebGPU enabled (Chrome or Edge 113+, Safari 26+, ' +
  'Firefox 141+ on Windows), or start Chromium with --enable-unsafe-webgpu.';

export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}

export async function openDevice(opts: DeviceOptions = {}): Promise<OpenDevice> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new NoAdapterError(`no navigator.gpu. ${SETUP_HINT}`);
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
  if (!adapter)
    throw new NoAdapterError(
      `navigator.gpu gave no adapter (WebGPU may be blocked for this GPU or disabled). ${SETUP_HINT}`,
    );
  const device = await adapter.requestDevice(deviceRequest(adapter, opts.limits ?? 'adapter'));
  return { gpu, adapter, device, report: describeDevice(adapter, device, 'browser') };
}
