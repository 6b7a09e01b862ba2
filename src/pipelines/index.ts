/**
 * Pipelines: jobs built from the layers below that read and write files — today the resumable
 * sampling run (PNGs, npz, grid, record) that `reg sample` and `reg demo` call. See README.md.
 */
export * from './generate.js';
