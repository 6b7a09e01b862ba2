/**
 * Pipelines: jobs built from the layers below that read and write files — today the resumable
 * sampling run (PNGs, npz, grid, record) that `reg sample` and `reg demo` call, and the check that an
 * autoencoder decodes a latent model's samples. See README.md.
 */
export * from './generate.js';
export * from './latent-decoding.js';
