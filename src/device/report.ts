// What every device layer (Dawn in Node, navigator.gpu in a browser) asks of an adapter and reports
// about the device it opened: the optional features, the limits, and the AdapterReport the runtime's
// kernel policy reads.

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  /** True for CPU implementations such as lavapipe / llvmpipe / SwiftShader. */
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
}

export interface DeviceOptions {
  /** Dawn backend: 'vulkan', 'metal', 'd3d12', 'opengl', 'null', ... (env DAWNGRAD_BACKEND; Node only). */
  backend?: string;
  /** Adapter name as Dawn lists it, e.g. 'llvmpipe' (env DAWNGRAD_ADAPTER; Node only). */
  adapter?: string;
  powerPreference?: GPUPowerPreference;
  /** Limits to request: everything the adapter has ('adapter', default) or WebGPU's defaults (env DAWNGRAD_LIMITS). */
  limits?: 'adapter' | 'default';
}

export interface OpenDevice {
  gpu: GPU | null;
  adapter: GPUAdapter;
  device: GPUDevice;
  report: AdapterReport;
}

/** Optional features we use when the adapter has them. */
export const OPTIONAL_FEATURES = ['timestamp-query', 'shader-f16', 'subgroups'] as const;

export const LIMIT_NAMES = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBuffersPerShaderStage',
  'maxBindGroups',
  'maxBindingsPerBindGroup',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;

/**
 * The device to ask for: every optional feature the adapter has, and either everything the adapter
 * really has instead of WebGPU's conservative defaults ('adapter') or the defaults ('default', which
 * checks that the kernels fit in them).
 */
export function deviceRequest(adapter: GPUAdapter, limits: 'adapter' | 'default'): GPUDeviceDescriptor {
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const key of limits === 'adapter' ? LIMIT_NAMES : []) {
    const v = (adapter.limits as unknown as Record<string, number>)[key];
    if (typeof v === 'number') requiredLimits[key] = v;
  }
  return { requiredFeatures, requiredLimits };
}

export function describeDevice(adapter: GPUAdapter, device: GPUDevice, backend: string): AdapterReport {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const limits: Record<string, number> = {};
  for (const key of LIMIT_NAMES) {
    const v = (device.limits as unknown as Record<string, number>)[key];
    if (typeof v === 'number') limits[key] = v;
  }
  const description = info.description ?? '';
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description,
    backend,
    isSoftware: /llvmpipe|lavapipe|swiftshader|software/i.test(`${description} ${info.architecture} ${info.device}`),
    features: [...device.features].sort(),
    limits,
  };
}
