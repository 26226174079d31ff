// Named uniform layouts: packing by field name, and every declared layout checked against the layout
// WGSL itself gives the emitted struct (a shader copies each field of the uniform block into a storage
// buffer; the words read back must be the values packed by name). Plus: no shader declares a
// uniform struct of its own, so none is copied between files.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import '../src/index.ts'; // every op module: their layouts are declared on import
import '../src/optim/index.ts';
import { UniformLayout, uniformLayouts } from '../src/runtime/uniforms.ts';
import { useEngine } from './helpers/engine.ts';

const engine = useEngine();

describe('UniformLayout', () => {
  const inner = new UniformLayout('Inner', { a: 'u32', b: 'f32', c: 'u32' });
  const outer = new UniformLayout('Outer', {
    head: { struct: inner },
    x: 'f32',
    v: 'vec4u',
    arr: { vec4u: 2 },
    k: 'i32',
  });

  it(
    'aligns like WGSL: scalars 4 bytes, vec4u and arrays 16, a ' +
      'nested struct takes its rounded size, the block rounds to 16',
    () => {
      expect(inner.words).toBe(4);
      expect(outer.fields.map((f) => [f.name, f.offset])).toEqual([
        ['head', 0],
        ['x', 4],
        ['v', 8],
        ['arr', 12],
        ['k', 20],
      ]);
      expect(outer.words).toBe(24);
      expect(outer.wgsl()).toMatch(
        /@size\(16\) head: Inner,\n {2}x: f32,\n {2}v: vec4u,\n {2}arr: array<vec4u, 2>,\n {2}k: i32,/,
      );
    },
  );

  it('packs by name; a missing, unknown or oversized field is an error', () => {
    const w = outer.pack({ head: { a: 7, b: 1.5, c: 2 ** 32 + 3 }, x: -2, v: [1, 2], arr: [9, 8, 7, 6, 5], k: -1 });
    const f = new Float32Array(w.buffer);
    expect([w[0], f[1], w[2], f[4], w[8], w[9], w[10], w[12], w[16], w[17], w[20]]).toEqual([
      7,
      1.5,
      3,
      -2,
      1,
      2,
      0,
      9,
      5,
      0,
      2 ** 32 - 1,
    ]);
    expect(() => inner.pack({ a: 1, b: 2 } as never)).toThrow(/field 'c' was not given/);
    expect(() => inner.pack({ a: 1, b: 2, c: 3, d: 4 } as never)).toThrow(/no field 'd'/);
    expect(() => outer.pack({ head: { a: 0, b: 0, c: 0 }, x: 0, v: [1, 2, 3, 4, 5], arr: [], k: 0 })).toThrow(
      /'v' holds at most 4 values/,
    );
  });
});

describe('every declared layout agrees with WGSL on the device', () => {
  it('each field read in a shader is the value packed under its name', async () => {
    const e = engine();
    const device = e.runtime.device;
    const layouts = uniformLayouts();
    expect(layouts.map((l) => l.name)).toEqual(
      expect.arrayContaining([
        'MapParams',
        'ReduceParams',
        'MatmulParams',
        'ConvForward',
        'ConvTranspose',
        'ConvWeightGrad',
        'WeightLayout',
        'BatchNormParams',
        'ResizeParams',
        'AdamParams',
        'FlatHeader',
        'StepCounterParams',
      ]),
    );
    const ARRAY = 3; // templated array lengths
    for (const l of layouts) {
      // the reads: one u32 per scalar, four per vec4u, in field order, nested structs expanded
      const reads: string[] = [];
      const values: Record<string, unknown> = {};
      let next = 1;
      const fill = (layout: UniformLayout<never>, path: string, into: Record<string, unknown>) => {
        for (const f of layout.fields) {
          const at = `${path}.${f.name}`;
          if (f.type === 'u32' || f.type === 'i32') {
            into[f.name] = next++;
            reads.push(`bitcast<u32>(${at})`);
          } else if (f.type === 'f32') {
            into[f.name] = next++ + 0.5;
            reads.push(`bitcast<u32>(${at})`);
          } else if (typeof f.type === 'object' && 'struct' in f.type) {
            const sub: Record<string, unknown> = {};
            fill(f.type.struct as UniformLayout<never>, at, sub);
            into[f.name] = sub;
          } else {
            const n = f.type === 'vec4u' ? 1 : typeof f.type.vec4u === 'number' ? f.type.vec4u : ARRAY;
            const arr: number[] = [];
            for (let i = 0; i < 4 * n; i++) {
              arr.push(next++);
              reads.push(f.type === 'vec4u' ? `${at}[${i}]` : `${at}[${i >> 2}][${i & 3}]`);
            }
            into[f.name] = arr;
          }
        }
      };
      fill(l as UniformLayout<never>, 'P', values);
      const structs = [
        l,
        ...l.fields.flatMap((f) => (typeof f.type === 'object' && 'struct' in f.type ? [f.type.struct] : [])),
      ];
      const code = [
        ...new Set(structs.reverse().map((s) => s.wgsl())),
        `@group(0) @binding(0) var<uniform> P: ${l.name};`,
        '@group(0) @binding(1) var<storage, read_write> out: array<u32>;',
        '@compute @workgroup_size(1) fn main() {',
        ...reads.map((r, i) => `  out[${i}] = ${r};`),
        '}',
      ]
        .join('\n')
        .replace(/\{\{\w+\}\}/g, String(ARRAY));
      const words = l.pack(values as never, ARRAY);
      const expected = new Uint32Array(reads.length);
      const view = new DataView(new ArrayBuffer(4));
      let i = 0;
      const flat = (v: unknown, type: unknown) => {
        if (Array.isArray(v)) for (const x of v) expected[i++] = x;
        else if (typeof v === 'object') for (const [, x] of Object.entries(v as object)) flat(x, null);
        else {
          if (type === 'f32' || (typeof v === 'number' && !Number.isInteger(v))) {
            view.setFloat32(0, v as number, true);
            expected[i++] = view.getUint32(0, true);
          } else expected[i++] = v as number;
        }
      };
      for (const f of l.fields) flat(values[f.name], f.type);
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ code });
      const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      const ubuf = device.createBuffer({
        size: words.byteLength,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      device.queue.writeBuffer(ubuf, 0, words);
      const obuf = device.createBuffer({
        size: reads.length * 4,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
      });
      const rbuf = device.createBuffer({
        size: reads.length * 4,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(
        0,
        device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: ubuf } },
            { binding: 1, resource: { buffer: obuf } },
          ],
        }),
      );
      pass.dispatchWorkgroups(1);
      pass.end();
      enc.copyBufferToBuffer(obuf, 0, rbuf, 0, reads.length * 4);
      device.queue.submit([enc.finish()]);
      const err = await device.popErrorScope();
      expect(err?.message ?? null, `${l.name}\n${code}`).toBeNull();
      await rbuf.mapAsync(GPUMapMode.READ);
      const got = new Uint32Array(rbuf.getMappedRange().slice(0));
      rbuf.unmap();
      expect(Array.from(got), l.name).toEqual(Array.from(expected));
      for (const b of [ubuf, obuf, rbuf]) b.destroy();
    }
  });
});

it('no shader declares a uniform struct of its own (each comes from its layout through //#uniforms)', () => {
  const dir = fileURLToPath(new URL('../shaders/', import.meta.url));
  const files = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.wgsl'));
  const offenders: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const m of text.matchAll(/var<uniform> \w+: (\w+);/g)) {
      if (new RegExp(`^struct ${m[1]}\\b`, 'm').test(text)) offenders.push(`${f}: struct ${m[1]}`);
    }
  }
  expect(offenders).toEqual([]);
});
