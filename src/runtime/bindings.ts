// What a dispatch binds, cached. Uniform buffers are content-addressed (a training loop's shapes
// repeat, so after the first step no uniform is written) and bind groups are cached by (pipeline,
// buffers, uniform). Both caches are bounded; an evicted uniform buffer is destroyed only after the
// submit that may still read it (retired()).
import type { CompiledKernel } from './kernels.ts';
import type { PooledBuffer } from './pool.ts';

const MAX_UNIFORMS = 4096;
const MAX_BIND_GROUPS = 16384;

export interface UniformBuffer {
  buffer: GPUBuffer;
  id: number;
}

export class Bindings {
  private uniforms = new Map<string, UniformBuffer>();
  private uniformId = 1;
  private bindGroups = new Map<string, GPUBindGroup>();

  constructor(
    private readonly device: GPUDevice,
    private readonly stats: { uniformWrites: number; bindGroupsCreated: number },
    /** Takes a buffer to destroy after the next submit. */
    private readonly retire: (buffer: GPUBuffer) => void,
  ) {}

  /** The uniform buffer holding `words` (written once, reused while cached). */
  uniform(words: Uint32Array): UniformBuffer {
    let key = '';
    for (let i = 0; i < words.length; i++) key += words[i].toString(36) + ',';
    let u = this.uniforms.get(key);
    if (u) {
      this.uniforms.delete(key);
      this.uniforms.set(key, u); // most recently used last
      return u;
    }
    const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
    const buffer = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    new Uint32Array(buffer.getMappedRange()).set(words);
    buffer.unmap();
    this.stats.uniformWrites++;
    u = { buffer, id: this.uniformId++ };
    this.uniforms.set(key, u);
    if (this.uniforms.size > MAX_UNIFORMS) {
      const [oldKey, old] = this.uniforms.entries().next().value as [string, UniformBuffer];
      this.uniforms.delete(oldKey);
      this.retire(old.buffer); // destroyed after the submit that may still read it
    }
    return u;
  }

  /** The bind group of one dispatch: binding 0 the uniform block (if any), bindings 1.. the buffers in order. */
  bindGroup(kernel: CompiledKernel, buffers: PooledBuffer[], u: UniformBuffer | null, label: string): GPUBindGroup {
    let key = `${kernel.id}`;
    if (u) key += `u${u.id}`;
    for (const b of buffers) key += `,${b.id}`;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      const entries: GPUBindGroupEntry[] = [];
      if (u) entries.push({ binding: 0, resource: { buffer: u.buffer } });
      buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b.buffer } }));
      bg = this.device.createBindGroup({ layout: kernel.layout, entries, label });
      this.stats.bindGroupsCreated++;
      this.bindGroups.set(key, bg);
      if (this.bindGroups.size > MAX_BIND_GROUPS) this.bindGroups.delete(this.bindGroups.keys().next().value as string);
    }
    return bg;
  }

  /** Destroy every cached uniform buffer (the engine is closing). */
  destroy(): void {
    for (const u of this.uniforms.values()) u.buffer.destroy();
    this.uniforms.clear();
    this.bindGroups.clear();
  }
}
