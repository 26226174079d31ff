// NIfTI-1 / NIfTI-2 reading and writing for MRI volumes (pure CPU; no GPU, no segan imports).
//
// Reading: .nii, .nii.gz and .hdr/.img pairs (either part may be gzipped), NIfTI-1 and NIfTI-2, little-
// and big-endian. Header fields are parsed by nifti-reader-js; everything that touches the voxel data
// (decompression, bounds, conversion, scaling) is done here so that corrupt input fails with a clear
// error that names the file instead of crashing, hanging or allocating without bound:
//   - gzip is decompressed as a stream and only as far as the requested volume; a truncated or corrupt
//     stream is an error; nothing is buffered beyond the header and one 1 MiB conversion block;
//   - the header's dims are checked (dim[0] in 1..7, every used dim >= 1, products are safe integers) and a
//     volume has at most `maxVoxels` voxels (default MAX_VOXELS = 2^28, i.e. a 1 GiB Float32Array);
//   - the header (with extensions) is at most MAX_HEADER_BYTES; a file that ends before the data the header
//     declares is an error, checked before the output is allocated where the file size allows it.
// Voxel values come back as a Float32Array (x fastest, then y, then z: index = x + X*(y + Y*z)) with
// scl_slope / scl_inter applied (a slope of 0 or NaN means "no scaling", as the standard says). Float64
// and 32-bit integer data beyond 2^24 therefore lose precision; that is fine for MR intensities and labels.
//
// Writing: NIfTI-1, little-endian, .nii.gz (or .nii), geometry copied from a reference header, written to a
// temporary file in the same folder and renamed into place.
export { DATATYPES, MAX_HEADER_BYTES, MAX_VOXELS, NiftiError, niftiStats } from './nifti-types.ts';
export type { AffineSource, NiftiDatatype, NiftiHeader, NiftiVolume, ReadNiftiOptions } from './nifti-types.ts';
export { affineRows, readNiftiHeader } from './nifti-header.ts';
export { readNifti } from './nifti-read.ts';
export { createNiftiHeader, niftiHeaderBytes, writeNifti } from './nifti-write.ts';
export type { WriteNiftiOptions } from './nifti-write.ts';
