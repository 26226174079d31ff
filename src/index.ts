// dawngrad: the public API. Re-exports only.
import './autograd/graph.ts'; // installs Tensor.backward
export { createEngine, Engine, type EngineOptions, type TensorOptions, type RandomOptions } from './tensor/engine.ts';
export { Tensor } from './tensor/tensor.ts';
export { ShapeError, type Shape } from './tensor/shape.ts';
export { NoAdapterError, type AdapterReport, type DeviceOptions } from './device/gpu.ts';
export { GpuError } from './runtime/gpu-errors.ts';
export { parseBytes } from './device/bytes.ts';
export { GpuOutOfMemoryError } from './runtime/pool.ts';
export { KernelCompileError } from './runtime/kernels.ts';
export type { MemoryReport, MemoryCategory } from './runtime/pool.ts';
export { record } from './autograd/graph.ts';
export * from './ops/index.ts';
export * from './optim/index.ts';
