// The safetensors format (https://github.com/huggingface/safetensors), pure CPU:
//
//   8 bytes   N, unsigned 64-bit little-endian: the header size
//   N bytes   UTF-8 JSON object: { "__metadata__"?: { string: string }, name: { "dtype", "shape", "data_offsets" } }
//             starting with '{' and padded with spaces (0x20) to a multiple of 8 bytes, so the data that
//             follows starts 8-byte aligned
//   rest      the byte buffer; data_offsets = [begin, end) relative to its start. Tensors are little-endian,
//             row-major, and must cover the buffer exactly: no holes, no overlaps, nothing after the last.
//
// encodeSafetensors writes what the reference (Rust) serializer writes: tensors ordered by descending dtype
// (the reference enum order, which puts wider types first, so every tensor stays aligned to its element size
// without padding) and then by name, "__metadata__" first in the header, compact JSON. Files load with
// safetensors.torch.load_file. decodeSafetensors validates everything before it allocates, so a hostile or
// truncated file gives a SafetensorsError and never a crash or an allocation beyond the file size.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.ts';

/** The reference implementation's dtypes, in its enum order (ascending). */
const ALL_DTYPES = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
] as const;
type AnyDtype = (typeof ALL_DTYPES)[number];

/** Dtypes this module reads and writes, with their typed-array type. F16 and BF16 are kept as raw 16-bit words. */
export interface DtypeArrays {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U64: BigUint64Array;
  U32: Uint32Array;
  U16: Uint16Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}
export type SafetensorsDtype = keyof DtypeArrays;

export type SafetensorsArray = DtypeArrays[SafetensorsDtype];

export type SafetensorsTensor = {
  [D in SafetensorsDtype]: { dtype: D; shape: number[]; data: DtypeArrays[D] };
}[SafetensorsDtype];

export interface SafetensorsFile {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** A malformed file or an invalid tensor to encode. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** The reference loader rejects headers above this size. */
export const MAX_HEADER_SIZE = 100_000_000;

const ARRAY_TYPES: Record<
  SafetensorsDtype,
  { ctor: new (b: ArrayBuffer, o: number, n: number) => SafetensorsArray; size: number }
> = {
  F64: { ctor: Float64Array, size: 8 },
  F32: { ctor: Float32Array, size: 4 },
  F16: { ctor: Uint16Array, size: 2 },
  BF16: { ctor: Uint16Array, size: 2 },
  I64: { ctor: BigInt64Array, size: 8 },
  I32: { ctor: Int32Array, size: 4 },
  I16: { ctor: Int16Array, size: 2 },
  I8: { ctor: Int8Array, size: 1 },
  U64: { ctor: BigUint64Array, size: 8 },
  U32: { ctor: Uint32Array, size: 4 },
  U16: { ctor: Uint16Array, size: 2 },
  U8: { ctor: Uint8Array, size: 1 },
  BOOL: { ctor: Uint8Array, size: 1 },
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function requireLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new SafetensorsError('safetensors: big-endian hosts are not supported');
}

function isSupported(d: string): d is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(ARRAY_TYPES, d);
}

function dtypeRank(d: SafetensorsDtype): number {
  return ALL_DTYPES.indexOf(d as AnyDtype);
}

/** Own-property assignment that is safe for any key, "__proto__" included. */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

/**
 * Serialises tensors (and optional string metadata) into safetensors bytes. Throws SafetensorsError when a
 * tensor's data type does not match its dtype, its length does not match its shape, or a name is invalid.
 */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  requireLittleEndian();
  const entries = Object.keys(tensors).map((name) => {
    const t = tensors[name];
    if (name === '__metadata__') throw new SafetensorsError('safetensors: "__metadata__" cannot be a tensor name');
    if (!t || typeof t !== 'object') throw new SafetensorsError(`safetensors: tensor "${name}" is not an object`);
    if (!isSupported(t.dtype))
      throw new SafetensorsError(`safetensors: tensor "${name}" has unsupported dtype ${String(t.dtype)}`);
    const spec = ARRAY_TYPES[t.dtype];
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw new SafetensorsError(`safetensors: tensor "${name}" has an invalid shape ${JSON.stringify(t.shape)}`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (!(t.data instanceof spec.ctor))
      throw new SafetensorsError(
        `safetensors: tensor "${name}" has dtype ${t.dtype} but its data is ` +
          `a ${t.data?.constructor?.name ?? typeof t.data}, expected ${spec.ctor.name}`,
      );
    if (t.data.length !== numel)
      throw new SafetensorsError(
        `safetensors: tensor "${name}" has shape [${t.shape.join(', ')}] (${numel} elements) ` +
          `but ${t.data.length} data elements`,
      );
    return { name, dtype: t.dtype, shape: t.shape, data: t.data as SafetensorsArray, nbytes: numel * spec.size };
  });
  // Reference order: descending dtype, then name (byte-wise UTF-8).
  entries.sort((a, b) => dtypeRank(b.dtype) - dtypeRank(a.dtype) || utf8Compare(a.name, b.name));

  // The header JSON is assembled by hand so that its key order is exactly "__metadata__" then data order
  // (a JS object would list integer-like names first).
  const parts: string[] = [];
  if (metadata !== undefined) {
    const meta = Object.keys(metadata).map((k) => {
      if (typeof metadata[k] !== 'string') throw new SafetensorsError(`safetensors: metadata "${k}" is not a string`);
      return `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`;
    });
    parts.push(`"__metadata__":{${meta.join(',')}}`);
  }
  let offset = 0;
  for (const e of entries) {
    parts.push(
      `${JSON.stringify(e.name)}:{"dtype":"${e.dtype}","shape":[${e.shape.join(',')}],` +
        `"data_offsets":[${offset},${offset + e.nbytes}]}`,
    );
    offset += e.nbytes;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  if (padded > MAX_HEADER_SIZE)
    throw new SafetensorsError(`safetensors: header of ${padded} bytes exceeds ${MAX_HEADER_SIZE}`);
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let pos = 8 + padded;
  for (const e of entries) {
    out.set(new Uint8Array(e.data.buffer, e.data.byteOffset, e.nbytes), pos);
    pos += e.nbytes;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

function fail(msg: string): never {
  throw new SafetensorsError(`safetensors: ${msg}`);
}

/** Parses and validates the header. Returns the header size N and the validated entries; allocates nothing big. */
export function readSafetensorsHeader(bytes: Uint8Array): {
  headerSize: number;
  metadata: Record<string, string>;
  entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[];
} {
  if (!(bytes instanceof Uint8Array)) fail('input must be a Uint8Array');
  if (bytes.length < 8) fail(`file is truncated: ${bytes.length} bytes, shorter than the 8-byte header length field`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_SIZE))
    fail(`header length ${n64} exceeds the ${MAX_HEADER_SIZE}-byte limit (corrupt file?)`);
  const n = Number(n64);
  if (8 + n > bytes.length)
    fail(
      `header length ${n} exceeds the file: ${bytes.length} bytes leave ${bytes.length - 8} for the header ` +
        `(truncated file?)`,
    );
  if (n < 2) fail(`header length ${n} is too small for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail('header is not valid UTF-8');
  }
  if (text[0] !== '{') fail(`header must start with '{', found ${JSON.stringify(text.slice(0, 16))}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) fail('header must be a JSON object');
  const dataLength = bytes.length - 8 - n;

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        fail('"__metadata__" must be an object of strings');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`"__metadata__" value for "${k}" must be a string, got ${JSON.stringify(v)}`);
        put(metadata, k, v);
      }
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      fail(`tensor "${name}": entry must be an object`);
    const info = value as Record<string, unknown>;
    for (const key of Object.keys(info))
      if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets')
        fail(`tensor "${name}": unknown field "${key}"`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string') fail(`tensor "${name}": missing or non-string "dtype"`);
    if (!isSupported(dtype))
      fail(
        (ALL_DTYPES as readonly string[]).includes(dtype)
          ? `tensor "${name}": dtype ${dtype} is not supported by this reader`
          : `tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`,
      );
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      fail(`tensor "${name}": "shape" must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0))
      fail(
        `tensor "${name}": "data_offsets" must be [begin, end] with non-negative integers, ` +
          `got ${JSON.stringify(offsets)}`,
      );
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength)
      fail(
        `tensor "${name}": data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes; ` +
          `truncated file?)`,
      );
    // Byte count in doubles: absurd shapes give huge (or infinite) values, never an exception or allocation.
    const dims = shape as number[];
    const need = dims.includes(0) ? 0 : dims.reduce((a, d) => a * d, ARRAY_TYPES[dtype].size);
    if (need !== end - begin)
      fail(
        `tensor "${name}": shape [${dims.join(', ')}] × ${dtype} ` +
          `needs ${Number.isSafeInteger(need) ? need : `more than ${Number.MAX_SAFE_INTEGER}`} bytes but ` +
          `data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // Coverage: sorted by offsets, each tensor starts where the previous ended; the last ends at the file end.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: (typeof entries)[number] | null = null;
  for (const e of sorted) {
    if (e.begin < pos)
      fail(`tensors "${prev!.name}" [${prev!.begin}, ${prev!.end}) and "${e.name}" [${e.begin}, ${e.end}) overlap`);
    if (e.begin > pos)
      fail(`${e.begin - pos} unused bytes before tensor "${e.name}" at data offset ${pos} (holes are not allowed)`);
    pos = e.end;
    if (e.end > e.begin) prev = e;
  }
  if (pos !== dataLength)
    fail(`the data section has ${dataLength} bytes but the tensors cover ${pos} (${dataLength - pos} trailing bytes)`);
  return { headerSize: n, metadata, entries };
}

/**
 * Parses safetensors bytes. Every tensor is copied into its own (aligned) typed array, so the result does
 * not keep `bytes` alive. Throws SafetensorsError with a specific message on any malformation.
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  requireLittleEndian();
  const { headerSize, metadata, entries } = readSafetensorsHeader(bytes);
  const base = 8 + headerSize;
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const e of entries) {
    const spec = ARRAY_TYPES[e.dtype];
    const copy = bytes.slice(base + e.begin, base + e.end);
    const data = new spec.ctor(copy.buffer, 0, (e.end - e.begin) / spec.size);
    put(tensors, e.name, { dtype: e.dtype, shape: [...e.shape], data } as SafetensorsTensor);
  }
  return { tensors, metadata };
}

// ---------------------------------------------------------------------------------------------------------
// Files

/** Encodes and writes a safetensors file atomically. */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads and decodes a safetensors file; errors name the file. */
export async function loadSafetensors(path: string): Promise<SafetensorsFile> {
  const bytes = await readFile(path);
  try {
    return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Synchronous loadSafetensors. */
export function loadSafetensorsSync(path: string): SafetensorsFile {
  const bytes = readFileSync(path);
  try {
    return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${path}: ${e.message}`);
    throw e;
  }
}
