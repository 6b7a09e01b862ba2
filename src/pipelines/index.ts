/**
 * Pipelines: jobs built from the layers below that read and write files — the resumable sampling run
 * (PNGs, npz, grid, record) that `reg sample` and `reg demo` call, the check that an autoencoder decodes
 * a latent model's samples, and the sample grid of a training checkpoint. See README.md.
 */
export * from './generate.js';
export * from './latent-decoding.js';
export * from './checkpoint-grid.js';
