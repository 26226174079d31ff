// NIfTI voxel conversion and readNifti.
import os from 'node:os';
import { DATATYPES, MAX_VOXELS, NiftiError, niftiStats } from './nifti-types.ts';
import type { NiftiDatatype, NiftiHeader, NiftiVolume, ReadNiftiOptions, TypedArray } from './nifti-types.ts';
import { ByteReader } from './nifti-bytes.ts';
import { openNifti } from './nifti-header.ts';

// ---------------------------------------------------------------------------------------------------
// Voxel conversion.

/** A typed-array view of the first n voxels of `buf`. */
export function viewAs(dt: NiftiDatatype, buf: ArrayBuffer, n: number): TypedArray {
  return new DATATYPES[dt].array(buf, 0, n);
}

export const HOST_LE = os.endianness() === 'LE';

/** Converts a stream of raw voxel bytes into Float32 values, scaling as it goes. */
class VoxelConverter {
  private readonly scratch: ArrayBuffer;
  private readonly bytes: Uint8Array;
  private fill = 0;
  count = 0;

  constructor(
    private readonly out: Float32Array,
    private readonly dt: NiftiDatatype,
    private readonly swap: boolean,
    private readonly slope: number,
    private readonly inter: number,
    private readonly scaled: boolean,
  ) {
    this.scratch = new ArrayBuffer(1 << 20); // a multiple of 8: whole voxels only
    this.bytes = new Uint8Array(this.scratch);
  }

  push = (chunk: Uint8Array): void => {
    let off = 0;
    while (off < chunk.length) {
      const k = Math.min(chunk.length - off, this.bytes.length - this.fill);
      this.bytes.set(chunk.subarray(off, off + k), this.fill);
      this.fill += k;
      off += k;
      if (this.fill === this.bytes.length) this.flush();
    }
  };

  flush(): void {
    const bpv = DATATYPES[this.dt].bytes;
    const n = Math.floor(this.fill / bpv);
    if (n === 0) return;
    const b = Buffer.from(this.scratch, 0, n * bpv);
    if (this.swap) {
      if (bpv === 2) b.swap16();
      else if (bpv === 4) b.swap32();
      else if (bpv === 8) b.swap64();
    }
    const src = viewAs(this.dt, this.scratch, n);
    const out = this.out;
    const base = this.count;
    if (this.scaled) {
      const s = this.slope;
      const c = Number.isFinite(this.inter) ? this.inter : 0;
      for (let i = 0; i < n; i++) out[base + i] = src[i] * s + c;
    } else {
      out.set(src, base);
    }
    this.count += n;
    const rest = this.fill - n * bpv;
    if (rest > 0) this.bytes.copyWithin(0, n * bpv, this.fill);
    this.fill = rest;
  }
}

/**
 * Reads a NIfTI volume: .nii, .nii.gz, or a .hdr/.img pair (pass either file; either may be .gz).
 * Throws NiftiError (message starting with the file's path) on anything unreadable.
 */
export async function readNifti(file: string, opts: ReadNiftiOptions = {}): Promise<NiftiVolume> {
  const maxVoxels = opts.maxVoxels ?? MAX_VOXELS;
  const { header, reader } = await openNifti(file, maxVoxels);
  try {
    const f = header.imagePath;
    if (header.frames > 1 && opts.frame === undefined)
      throw new NiftiError(
        header.path,
        `has ${header.frames} volumes (dims ${header.dims.join('×')}); a ` +
          `modality must be one 3-D volume (pass { frame } to read one of them)`,
      );
    const frame = opts.frame ?? 0;
    if (!Number.isInteger(frame) || frame < 0 || frame >= header.frames)
      throw new NiftiError(header.path, `frame ${opts.frame} out of range (the file has ${header.frames})`);
    const voxels = header.shape[0] * header.shape[1] * header.shape[2];
    const bpv = DATATYPES[header.datatype].bytes;
    const frameBytes = voxels * bpv;
    const skip = frame * frameBytes;
    const needed = header.voxOffset + skip + frameBytes; // bytes of the image file up to the end of this frame
    const declared = header.voxOffset + header.frames * frameBytes;
    if (needed > reader.maxBytes)
      throw new NiftiError(
        f,
        `truncated: the header declares ${header.dims.join('×')} ${header.datatype} (${declared} bytes with ` +
          `the header) but the file has only ${reader.fileSize}${reader.compressed ? ' compressed' : ''} bytes`,
      );
    if (!reader.compressed && reader.fileSize > declared)
      header.warnings.push(`${reader.fileSize - declared} bytes after the image data (dims may be wrong)`);
    if (skip > 0) {
      const got = await reader.forEach(skip, () => {});
      if (got < skip) throw truncated(header, reader, declared);
    }
    const data = new Float32Array(voxels);
    const conv = new VoxelConverter(
      data,
      header.datatype,
      header.littleEndian !== HOST_LE,
      header.sclSlope,
      header.sclInter,
      header.scaled,
    );
    const got = await reader.forEach(frameBytes, conv.push);
    conv.flush();
    if (got < frameBytes || conv.count !== voxels) throw truncated(header, reader, declared);
    if (header.datatype === 'float32' || header.datatype === 'float64') {
      for (let i = 0; i < voxels; i++) {
        if (!Number.isFinite(data[i])) {
          header.warnings.push(`non-finite voxel values (first at index ${i})`);
          break;
        }
      }
    }
    niftiStats.reads++;
    return { ...header, data, frame };
  } finally {
    reader.close();
  }
}

function truncated(h: NiftiHeader, r: ByteReader, declared: number): NiftiError {
  return new NiftiError(
    h.imagePath,
    `truncated: the header declares ${h.dims.join('×')} ${h.datatype} (${declared} bytes with the ` +
      `header) but the ${r.compressed ? 'decompressed data ends' : 'file ends'} after ${r.position} bytes`,
  );
}
