import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  loadSafetensorsSync,
  MAX_HEADER_SIZE,
  readSafetensorsHeader,
  SafetensorsError,
  saveSafetensors,
  type SafetensorsTensor,
} from '../../src/io/safetensors.ts';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/io/atomic-write.ts';

const enc = new TextEncoder();

/** A file by hand: length field, header text (padded with spaces to `pad`), data bytes. */
function handMade(header: string, data: number[] = [], pad = 8, lengthOverride?: bigint): Uint8Array {
  let h = header;
  while (enc.encode(h).length % pad !== 0) h += ' ';
  const hb = enc.encode(h);
  const out = new Uint8Array(8 + hb.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(hb.length), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}

function headerText(bytes: Uint8Array): string {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + n));
}

function expectError(bytes: Uint8Array, pattern: RegExp): void {
  let err: unknown;
  try {
    decodeSafetensors(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SafetensorsError);
  expect((err as Error).message).toMatch(pattern);
}

describe('safetensors round trip', () => {
  it('F32, U8, I32 (and F64, I64, I16, U16, BF16), metadata, empty and scalar tensors', () => {
    const tensors: Record<string, SafetensorsTensor> = {
      'conv.weight': { dtype: 'F32', shape: [2, 3, 1, 1], data: Float32Array.from([0, -1.5, 2, 3e-8, Infinity, -0]) },
      labels: { dtype: 'U8', shape: [2, 2], data: Uint8Array.from([0, 1, 2, 4]) },
      step: { dtype: 'I32', shape: [], data: Int32Array.from([-123456]) },
      empty: { dtype: 'F32', shape: [0, 16], data: new Float32Array(0) },
      nan: { dtype: 'F32', shape: [1], data: Float32Array.from([NaN]) },
      f64: { dtype: 'F64', shape: [2], data: Float64Array.from([Math.PI, -1e300]) },
      i64: { dtype: 'I64', shape: [1], data: BigInt64Array.from([-(2n ** 62n)]) },
      i16: { dtype: 'I16', shape: [3], data: Int16Array.from([-32768, 0, 32767]) },
      u16: { dtype: 'U16', shape: [1], data: Uint16Array.from([65535]) },
      bf16: { dtype: 'BF16', shape: [1], data: Uint16Array.from([0x3f80]) },
    };
    const meta = { format: 'pt', 'dawngrad.step': '1200', note: 'ünïcødé "quoted"\n' };
    const bytes = encodeSafetensors(tensors, meta);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual(meta);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const b = back.tensors[name];
      expect(b.dtype).toBe(t.dtype);
      expect(b.shape).toEqual(t.shape);
      expect(b.data.constructor).toBe(t.data.constructor);
      expect(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)).toEqual(
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      );
    }
    expect(Object.is((back.tensors['conv.weight'].data as Float32Array)[5], -0)).toBe(true);
    expect(Number.isNaN((back.tensors.nan.data as Float32Array)[0])).toBe(true);
  });

  it('no tensors and no metadata: "{}" padded to 8 bytes', () => {
    const bytes = encodeSafetensors({});
    expect(Array.from(bytes)).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
    expect(decodeSafetensors(bytes)).toEqual({ tensors: {}, metadata: {} });
  });

  it('aligns: header padded to 8, tensors ordered by dtype width (then name) so each sits on its element size', () => {
    const bytes = encodeSafetensors({
      b: { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 3]) },
      a: { dtype: 'U8', shape: [1], data: Uint8Array.from([9]) },
      x: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) },
      d: { dtype: 'F64', shape: [1], data: Float64Array.from([2]) },
      i: { dtype: 'I32', shape: [1], data: Int32Array.from([3]) },
    });
    const { headerSize, entries } = readSafetensorsHeader(bytes);
    expect(headerSize % 8).toBe(0);
    // Header order is data order.
    expect(entries.map((e) => e.name)).toEqual(['d', 'x', 'i', 'a', 'b']);
    expect(entries.map((e) => [e.begin, e.end])).toEqual([
      [0, 8],
      [8, 12],
      [12, 16],
      [16, 17],
      [17, 20],
    ]);
    const size: Record<string, number> = { F64: 8, F32: 4, I32: 4, U8: 1 };
    for (const e of entries) expect((8 + headerSize + e.begin) % size[e.dtype]).toBe(0);
    expect(bytes.length).toBe(8 + headerSize + 20);
    // Header padding is spaces.
    const text = headerText(bytes);
    expect(text.trimEnd()).toBe(text.slice(0, text.lastIndexOf('}') + 1));
    expect(/^ *$/.test(text.slice(text.lastIndexOf('}') + 1))).toBe(true);
  });

  it('decodes from an unaligned view and returns aligned, independent copies', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: Float32Array.from([1, 2, 3]) } });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const view = shifted.subarray(1);
    const t = decodeSafetensors(view).tensors.w;
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3]);
    shifted.fill(0);
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3]);
  });

  it('handles awkward names: "__proto__", integer-like names, unicode', () => {
    const tensors: Record<string, SafetensorsTensor> = {};
    Object.defineProperty(tensors, '__proto__', {
      value: { dtype: 'U8', shape: [1], data: Uint8Array.from([5]) },
      enumerable: true,
    });
    tensors['10'] = { dtype: 'U8', shape: [1], data: Uint8Array.from([10]) };
    tensors['2'] = { dtype: 'U8', shape: [1], data: Uint8Array.from([2]) };
    tensors['größe'] = { dtype: 'U8', shape: [1], data: Uint8Array.from([7]) };
    const bytes = encodeSafetensors(tensors);
    expect(headerText(bytes).startsWith('{"10":')).toBe(true); // name order, byte-wise: "10" < "2" < "__proto__"
    const back = decodeSafetensors(bytes);
    expect(Object.keys(back.tensors).sort()).toEqual(['10', '2', '__proto__', 'größe']);
    expect(Array.from(back.tensors['__proto__'].data as Uint8Array)).toEqual([5]);
    expect(Object.getPrototypeOf(back.tensors)).toBe(Object.prototype);
  });
});

describe('safetensors byte layout (hand-made fixture)', () => {
  it('matches the spec byte for byte', () => {
    // Two tensors: F32 [2] = [1, -2] at [0, 8), U8 [3] = [7, 8, 9] at [8, 11); one metadata entry.
    const header =
      '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"m":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}';
    expect(header.length).toBe(138); // → padded with 6 spaces to 144
    const fixture = [
      ...[144, 0, 0, 0, 0, 0, 0, 0], // u64 little-endian header length
      ...Array.from(enc.encode(header)),
      ...[32, 32, 32, 32, 32, 32],
      ...[0x00, 0x00, 0x80, 0x3f], // 1.0f
      ...[0x00, 0x00, 0x00, 0xc0], // -2.0f
      ...[7, 8, 9],
    ];
    const bytes = encodeSafetensors(
      {
        m: { dtype: 'U8', shape: [3], data: Uint8Array.from([7, 8, 9]) },
        w: { dtype: 'F32', shape: [2], data: Float32Array.from([1, -2]) },
      },
      { format: 'pt' },
    );
    expect(Array.from(bytes)).toEqual(fixture);
    const back = decodeSafetensors(Uint8Array.from(fixture));
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(Array.from(back.tensors.w.data as Float32Array)).toEqual([1, -2]);
    expect(Array.from(back.tensors.m.data as Uint8Array)).toEqual([7, 8, 9]);
  });

  it('accepts unpadded headers, any key order and files from other writers', () => {
    // Header length 60 (not a multiple of 8), as older writers produced.
    const header = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
    expect(header.length).toBe(60);
    const bytes = handMade(header, [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], 1);
    const t = decodeSafetensors(bytes).tensors.test;
    expect(t.shape).toEqual([2, 2]);
    expect(Array.from(t.data as Int32Array)).toEqual([1, 2, 3, -1]);
    // Offsets listed out of order, metadata last.
    const b2 = handMade(
      '{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},' +
        '"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"__metadata__":{}}',
      [10, 20],
    );
    const d2 = decodeSafetensors(b2);
    expect(Array.from(d2.tensors.a.data as Uint8Array)).toEqual([10]);
    expect(Array.from(d2.tensors.b.data as Uint8Array)).toEqual([20]);
  });
});

describe('safetensors rejects corrupt input with clear errors', () => {
  const good = encodeSafetensors(
    { w: { dtype: 'F32', shape: [4], data: Float32Array.from([1, 2, 3, 4]) } },
    { k: 'v' },
  );

  it('truncated files', () => {
    expectError(new Uint8Array(0), /truncated.*8-byte/);
    expectError(good.subarray(0, 5), /truncated/);
    expectError(good.subarray(0, 20), /header length \d+ exceeds the file.*truncated/);
    expectError(good.subarray(0, good.length - 3), /run past the end of the data.*truncated/);
  });

  it('header length too large or too small', () => {
    const huge = new Uint8Array(good);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expectError(huge, /exceeds the 100000000-byte limit/);
    const big = new Uint8Array(good);
    new DataView(big.buffer).setBigUint64(0, BigInt(MAX_HEADER_SIZE), true);
    expectError(big, /exceeds the file/);
    const zero = new Uint8Array(good);
    new DataView(zero.buffer).setBigUint64(0, 0n, true);
    expectError(zero, /too small/);
  });

  it('overlapping offsets, holes, trailing bytes, wrong sizes', () => {
    const f32 = (o: [number, number], n = 2) => `{"dtype":"F32","shape":[${n}],"data_offsets":[${o}]}`;
    expectError(
      handMade(`{"a":${f32([0, 8])},"b":${f32([4, 12])}}`, new Array(12).fill(0)),
      /"a" \[0, 8\) and "b" \[4, 12\) overlap/,
    );
    expectError(handMade(`{"a":${f32([0, 8])},"b":${f32([0, 8])}}`, new Array(8).fill(0)), /overlap/);
    expectError(handMade(`{"a":${f32([4, 12])}}`, new Array(12).fill(0)), /4 unused bytes before tensor "a".*holes/);
    expectError(
      handMade(`{"a":${f32([0, 8])}}`, new Array(10).fill(0)),
      /10 bytes but the tensors cover 8 \(2 trailing/,
    );
    expectError(
      handMade(`{"a":${f32([0, 8], 3)}}`, new Array(8).fill(0)),
      /shape \[3\] × F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/,
    );
    expectError(handMade(`{"a":${f32([8, 0])}}`, new Array(8).fill(0)), /end before they begin/);
    expectError(
      handMade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}}', new Array(8).fill(0)),
      /data_offsets/,
    );
    expectError(
      handMade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}', new Array(8).fill(0)),
      /data_offsets/,
    );
  });

  it('absurd shapes fail fast without allocating', () => {
    const t0 = performance.now();
    expectError(
      handMade(
        '{"a":{"dtype":"F64","shape":[1000000000,1000000000,1000000000],"data_offsets":[0,8]}}',
        new Array(8).fill(0),
      ),
      /needs more than \d+ bytes but data_offsets \[0, 8\] hold 8/,
    );
    expectError(
      handMade('{"a":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,8]}}', new Array(8).fill(0)),
      /shape/,
    );
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('unknown or unsupported dtypes, bad JSON, bad structure', () => {
    expectError(
      handMade('{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', new Array(16).fill(0)),
      /unknown dtype "F128"/,
    );
    expectError(
      handMade('{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', [0]),
      /F8_E4M3 is not supported/,
    );
    expectError(handMade('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}', [0, 0, 0, 0]), /not valid JSON/);
    expectError(handMade('["a"]'), /must start with '\{'/);
    expectError(handMade('{"a":[1,2]}'), /"a": entry must be an object/);
    expectError(handMade('{"a":{"dtype":"F32","shape":[1]}}'), /data_offsets/);
    expectError(
      handMade('{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}', [0, 0, 0, 0]),
      /"shape" must be an array/,
    );
    expectError(
      handMade('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}', [0, 0, 0, 0]),
      /unknown field "extra"/,
    );
    expectError(handMade('{"__metadata__":{"k":1}}'), /"__metadata__" value for "k" must be a string/);
    expectError(handMade('{"__metadata__":"x"}'), /"__metadata__" must be an object/);
    const badUtf8 = handMade('{"a":1}');
    badUtf8[10] = 0xff;
    expectError(badUtf8, /not valid UTF-8/);
    expect(() => decodeSafetensors('not bytes' as unknown as Uint8Array)).toThrow(SafetensorsError);
  });

  it('encoder rejects inconsistent tensors', () => {
    const bad = (t: unknown) => () => encodeSafetensors({ t: t as SafetensorsTensor });
    expect(bad({ dtype: 'F32', shape: [2], data: new Float64Array(2) })).toThrow(
      /dtype F32 but its data is a Float64Array/,
    );
    expect(bad({ dtype: 'U8', shape: [2, 2], data: new Uint8Array(3) })).toThrow(/shape \[2, 2\] \(4 elements\) but 3/);
    expect(bad({ dtype: 'F16x', shape: [1], data: new Uint16Array(1) })).toThrow(/unsupported dtype/);
    expect(bad({ dtype: 'F32', shape: [-1], data: new Float32Array(0) })).toThrow(/invalid shape/);
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } })).toThrow(
      /__metadata__/,
    );
    expect(() => encodeSafetensors({}, { k: 3 as unknown as string })).toThrow(/metadata "k" is not a string/);
  });
});

describe('files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dawngrad-safetensors-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writeFileAtomic replaces the file and leaves no temporary behind', async () => {
    const path = join(dir, 'a.bin');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, Uint8Array.from([1, 2, 3]));
    expect(Array.from(readFileSync(path))).toEqual([1, 2, 3]);
    writeFileAtomicSync(path, Uint8Array.from([4]));
    expect(Array.from(readFileSync(path))).toEqual([4]);
    expect(readdirSync(dir)).toEqual(['a.bin']);
  });

  it('writeFileAtomic cleans up when the target cannot be written', async () => {
    const target = join(dir, 'sub'); // a directory: rename over it fails
    mkdirSync(join(target, 'x'), { recursive: true });
    await expect(writeFileAtomic(target, new Uint8Array(1))).rejects.toThrow();
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(() => writeFileAtomicSync(target, new Uint8Array(1))).toThrow();
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await expect(writeFileAtomic(join(dir, 'missing', 'f'), new Uint8Array(1))).rejects.toThrow(/ENOENT/);
  });

  it('saveSafetensors / loadSafetensors; load errors name the file', async () => {
    const path = join(dir, 'm.safetensors');
    await saveSafetensors(path, { w: { dtype: 'F32', shape: [2], data: Float32Array.from([5, 6]) } }, { epoch: '3' });
    const back = await loadSafetensors(path);
    expect(back.metadata).toEqual({ epoch: '3' });
    expect(Array.from(back.tensors.w.data as Float32Array)).toEqual([5, 6]);
    expect(loadSafetensorsSync(path).metadata).toEqual({ epoch: '3' });
    const broken = join(dir, 'broken.safetensors');
    writeFileSync(broken, readFileSync(path).subarray(0, 30));
    await expect(loadSafetensors(broken)).rejects.toThrow(/broken\.safetensors: safetensors: header length/);
    expect(existsSync(`${path}.tmp-${process.pid}`)).toBe(false);
  });

  // Cross-check with the reference implementation when a Python with `safetensors` and `numpy` is given, e.g.
  // SAFETENSORS_PYTHON=/path/to/venv/bin/python npx vitest run test/io/safetensors.test.ts
  const python = process.env.SAFETENSORS_PYTHON;
  it.skipIf(!python)('matches the reference implementation (SAFETENSORS_PYTHON)', () => {
    const ours = join(dir, 'ours.safetensors');
    const theirs = join(dir, 'theirs.safetensors');
    writeFileSync(
      ours,
      encodeSafetensors(
        {
          'w.0': { dtype: 'F32', shape: [2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) },
          lab: { dtype: 'U8', shape: [3], data: Uint8Array.from([0, 2, 4]) },
          idx: { dtype: 'I32', shape: [1], data: Int32Array.from([-7]) },
          empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
        },
        { framework: 'dawngrad' },
      ),
    );
    const script =
      `
import sys, numpy as np
from safetensors.numpy import load_file, save_file
d = load_file(sys.argv[1])
assert d["w.0"].dtype == np.float32 and d["w.0"].tolist() == [[0,1,2],[3,4,5]]
assert d["lab"].tolist() == [0,2,4] and d["idx"].tolist() == [-7] and d["empty"].shape == (0,4)
save_file({"w.0": d["w.0"], "lab": d["lab"], "idx": d["idx"], "empty": d["empty"]}, sys.argv[2], ` +
      `metadata={"framework": "dawngrad"})
`;
    const r = spawnSync(python!, ['-c', script, ours, theirs], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // The reference writer produces the same bytes.
    expect(readFileSync(theirs).equals(readFileSync(ours))).toBe(true);
  });
});
