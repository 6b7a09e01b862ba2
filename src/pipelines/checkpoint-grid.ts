/**
 * The sample grid of a checkpoint: a few images from its EMA weights, drawn with the same noise and
 * labels at every checkpoint of a run, so that a strip of grids shows how the samples evolve.
 *
 *   <run>/samples/<step, 7 digits>.png     (kept when checkpoints are pruned by keepCheckpoints)
 *
 *   image i: seed GRID_SEED, global index i, label i mod numClasses, deterministic Euler ODE without
 *            guidance (diffusion/sample-images.ts), laid out `nrow` per row (eval/images.ts makeGrid)
 *
 * Latent runs without a decoder at hand get a preview of the first three latent channels,
 * tanh(x / 2) per channel, instead of decoded images.
 */
import path from 'node:path';
import * as torch from '../torch/index.js';
import type { Device, Tensor } from '../torch/index.js';
import { readCheckpointConfig, resolveCheckpoint, stepDirName } from '../models/checkpoint.js';
import { loadModel } from '../models/pretrained.js';
import { PixelDecoder, type Autoencoder } from '../diffusion/decode.js';
import { sampleImages } from '../diffusion/sample-images.js';
import { makeGrid, splitBatch, writePng } from '../eval/images.js';

/** Seed of every checkpoint grid (the noise of image i depends on it and i alone). */
export const GRID_SEED = 0;

/** Folder of a run that holds its checkpoint grids. */
export const GRIDS_DIR = 'samples';

/** `<run>/samples/<step, 7 digits>.png`: the grid of the checkpoint of `step`. */
export const checkpointGridFile = (runDir: string, step: number): string => path.join(runDir, GRIDS_DIR, `${stepDirName(step)}.png`);

/** Options of {@link writeCheckpointGrid}. */
export interface CheckpointGridOptions {
  /** Decoder of the model's samples (default: identity for 1- or 3-channel models, else the latent preview). */
  decoder?: Autoencoder;
  /** Number of images (default 16). */
  count?: number;
  /** Images per row (default 8). */
  nrow?: number;
  /** Euler steps (default 16). */
  numSteps?: number;
  /** Device to sample on (default the CPU). */
  device?: Device;
}

/** First three latent channels squashed into [−1, 1]: tanh(x / 2). */
const latentPreview: Autoencoder = { decode: (x: Tensor) => torch.scope(() => x.narrow(1, 0, 3).div(2).tanh()) };

/**
 * Samples the grid of the checkpoint `checkpoint` (a checkpoint directory, or a run for its latest) from
 * its EMA weights and writes it atomically to {@link checkpointGridFile}; returns the file.
 */
export async function writeCheckpointGrid(checkpoint: string, opts: CheckpointGridOptions = {}): Promise<string> {
  const dir = resolveCheckpoint(checkpoint);
  const config = readCheckpointConfig(dir);
  if (config.step === undefined) throw new Error(`${path.join(dir, 'config.json')}: no step (not a training run's checkpoint)`);
  const count = opts.count ?? 16;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`grid count must be a positive integer, got ${count}`);
  const { inChannels, numClasses } = config.model;
  const decoder = opts.decoder ?? (inChannels === 1 || inChannels === 3 ? new PixelDecoder() : latentPreview);
  const model = loadModel(dir, { weights: 'ema', ...(opts.device ? { device: opts.device } : {}) });
  let bytes: Uint8Array;
  let shape: readonly number[];
  try {
    const indices = Array.from({ length: count }, (_, i) => i);
    const u8 = sampleImages(
      model,
      decoder,
      { seed: GRID_SEED, indices, labels: indices.map((i) => i % numClasses) },
      { sampler: 'euler', numSteps: opts.numSteps ?? 16, cfgScale: 1 },
    );
    shape = u8.shape;
    bytes = u8.toBytes();
    u8.dispose();
  } finally {
    model.dispose();
  }
  const [n, h, w] = shape as [number, number, number];
  const file = checkpointGridFile(path.dirname(path.dirname(dir)), config.step);
  await writePng(file, makeGrid(splitBatch(bytes, n, h, w), { nrow: opts.nrow ?? 8 }));
  return file;
}
