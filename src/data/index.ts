// Data layer: NIfTI I/O, orientation, BraTS cases, preprocessing, the slice cache and the dataset.
// Pure CPU code; it imports nothing from the engine, segan or the CLI.
export * from './nifti.ts';
export * from './orientation.ts';
export * from './brats.ts';
export * from './preprocess.ts';
export * from './cache.ts';
export * from './dataset.ts';
export * from './inspect.ts';
export { hashSeed, mulberry32 } from './rng.ts';
