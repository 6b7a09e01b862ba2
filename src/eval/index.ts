/** Evaluation: Fréchet distance between feature sets, .npz sample batches (ADM layout), PNG grids. */
export { frechetDistance, gaussianStats, type GaussianStats } from './frechet.js';
export { readNpz, writeNpz, NpzWriter, listNpz, type NpyArray } from './npz.js';
export { makeGrid, writePng, readRgb, encodePng, type RgbImage } from './images.js';
