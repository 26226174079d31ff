// Reading GPU buffers back: one copy into a mappable staging buffer, one submit, one map. Staging
// buffers are kept per size class for the next read of that size.
import { endWait } from '../device/poll.ts';
import { GpuError } from './gpu-errors.ts';
import { sizeClass } from './pool.ts';
import type { CommandStream } from './stream.ts';

export class Readback {
  private staging = new Map<number, GPUBuffer[]>();

  constructor(
    private readonly device: GPUDevice,
    private readonly stream: CommandStream,
  ) {}

  /**
   * Submit everything recorded, then `bytes` of `src` from `byteOffset` (bytes > 0). When mapping
   * fails, `explain` may throw the GPU error behind it; else the mapping error is thrown.
   */
  async read(src: GPUBuffer, byteOffset: number, bytes: number, explain: () => Promise<void>): Promise<ArrayBuffer> {
    const size = sizeClass(bytes);
    const padded = Math.ceil(bytes / 4) * 4;
    const list = this.staging.get(size);
    const staging =
      list?.pop() ??
      this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
    this.stream.copy(src, byteOffset, staging, 0, padded);
    this.stream.submit();
    this.stream.beginWait(`r${bytes}:`);
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, padded);
    } catch (e) {
      endWait();
      await explain();
      throw new GpuError(`read: mapping the result failed: ${(e as Error).message}`);
    }
    endWait();
    const out = staging.getMappedRange(0, padded).slice(0, bytes);
    staging.unmap();
    let back = this.staging.get(size);
    if (!back) this.staging.set(size, (back = []));
    back.push(staging);
    return out;
  }

  /** Destroy the staging buffers (the engine is closing). */
  destroy(): void {
    for (const list of this.staging.values()) for (const b of list) b.destroy();
    this.staging.clear();
  }
}
