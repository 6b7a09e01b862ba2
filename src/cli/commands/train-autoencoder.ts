/**
 * `reg train-autoencoder`: trains a small AutoencoderKL (SD-VAE's class, diffusers' layout) on a dataset
 * in minutes on a CPU, for latent-space REG where no pretrained SD-VAE can be fetched
 * (src/train/autoencoder.ts has the loss and the output). The autoencoder always sees RGB: grey
 * Fashion-MNIST is repeated over three channels (`reg demo --latent` runs the whole path on it).
 *
 *   reg train-autoencoder --dataset folder --data-dir my-images/train --image-size 32 --out runs/my-vae
 *   reg prepare --dataset folder:my-images/train --resolution 32 --vae runs/my-vae --encoder … --out runs/my-cache
 *   reg train --data imagenet256 --data-dir runs/my-cache --vae runs/my-vae --vae-scaling-factor <its scaling_factor> …
 */
import path from 'node:path';
import type { Command } from '../args.js';
import { UsageError } from '../args.js';
import type { ImageDataset } from '../../data/dataset.js';
import { loadBatch } from '../../data/loader.js';
import { openDataset, type DatasetSpec } from '../../data/open.js';
import type { AutoencoderKL } from '../../models/autoencoders/autoencoder-kl.js';
import { downsampleFactorOf, type AutoencoderKLConfig } from '../../models/autoencoders/config.js';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { AUTOENCODER_RECORD_FILE, trainAutoencoder, type AutoencoderRecord } from '../../train/autoencoder.js';
import { TRAIN_SETTINGS } from '../../train/config.js';
import type { SettingTable, SettingValues } from '../../util/settings.js';

/** The options of `reg train-autoencoder` (also the autoencoder stage of `reg demo --latent`). */
export const TRAIN_AUTOENCODER_OPTIONS = {
  dataset: { type: 'string', choices: ['fashion-mnist', 'emoji', 'folder'], default: 'fashion-mnist', help: 'images to train on' },
  dataDir: {
    type: 'string',
    help: 'dataset directory (default: the installed Debian/npm package; required for folder: one subfolder per class)',
  },
  out: {
    type: 'string',
    default: 'runs/autoencoder',
    help: `output folder (config.json + diffusion_pytorch_model.safetensors + ${AUTOENCODER_RECORD_FILE})`,
  },
  imageSize: { type: 'integer', default: 32, min: 8, help: 'image side (Fashion-MNIST is padded, emoji resized, folders center-cropped)' },
  trainImages: { type: 'integer', default: 16384, min: 1, help: 'training images (the first N of the train split)' },
  testImages: {
    type: 'integer',
    default: 1000,
    min: 1,
    help: 'held-out images for the reconstruction error (Fashion-MNIST: its test split; otherwise the last N images, not trained on)',
  },
  blockOutChannels: {
    type: 'string',
    default: '32,64,64',
    help: 'width of each level; each level but the last halves the side (32,64,64: 32 px → 8×8 latents)',
  },
  layersPerBlock: { type: 'integer', default: 1, min: 1, help: 'resnet blocks per encoder level (the decoder has one more)' },
  normNumGroups: { type: 'integer', default: 8, min: 1, help: 'GroupNorm groups (must divide every width)' },
  latentChannels: { type: 'integer', default: 4, min: 1, help: 'latent channels (SD-VAE: 4)' },
  steps: { type: 'integer', default: 100_000, min: 1, help: 'at most this many steps (the time budget usually stops training first)' },
  budget: { type: 'number', default: 150, above: 0, help: 'training time budget in seconds' },
  batchSize: { type: 'integer', default: 32, min: 1, help: 'batch size' },
  learningRate: { type: 'number', default: 1e-3, above: 0, help: 'AdamW learning rate (constant, no weight decay)' },
  klWeight: {
    type: 'number',
    default: 1e-6,
    min: 0,
    help: "β of KL(q(z|x) ‖ N(0, I)) against the squared error, per-image sums as LDM's kl_weight",
  },
  seed: { ...TRAIN_SETTINGS.seed, help: 'seed of the initialisation, the batch order and the posterior samples' },
  threads: TRAIN_SETTINGS.threads,
} as const satisfies SettingTable;

/** The settings of `reg train-autoencoder`. */
export type TrainAutoencoderSettings = SettingValues<typeof TRAIN_AUTOENCODER_OPTIONS>;

/** The dataset (RGB, `imageSize`) of `split`; null where the dataset has no such split. */
function datasetSpec(s: TrainAutoencoderSettings, split: 'train' | 'test'): DatasetSpec | null {
  const dir = s.dataDir ? { dir: s.dataDir } : {};
  if (s.dataset === 'fashion-mnist') return { kind: 'fashion-mnist', split, resolution: s.imageSize, fit: 'pad', channels: 3, ...dir };
  if (split === 'test') return null;
  if (s.dataset === 'emoji') return { kind: 'emoji', labels: 'category', resolution: s.imageSize, ...dir };
  if (!s.dataDir) throw new UsageError('--dataset folder needs --data-dir <directory with one subfolder per class>');
  return { kind: 'image-folder', root: s.dataDir, resolution: s.imageSize };
}

/** Images [from, from + count) of `ds` as one uint8 (count, C, H, W) tensor. */
export async function imageTensor(ds: ImageDataset, from: number, count: number): Promise<Tensor> {
  const indices = Int32Array.from({ length: count }, (_, i) => from + i);
  const batch = await loadBatch(ds, { epoch: 0, indices, end: { epoch: 0, index: from + count } });
  return torch.fromBytes(batch.images, 'uint8', [count, ds.channels, ds.height, ds.width]);
}

/** Parses `--block-out-channels 32,64,64`. */
function widths(arg: string): number[] {
  const w = arg.split(',').map((v) => Number(v.trim()));
  if (w.length < 1 || w.some((v) => !Number.isInteger(v) || v < 1))
    throw new UsageError(`--block-out-channels '${arg}': expected positive integers separated by commas, e.g. 32,64,64`);
  return w;
}

/** The autoencoder shape the settings describe (RGB in and out; scaling measured after training). */
export function autoencoderConfig(s: TrainAutoencoderSettings): AutoencoderKLConfig {
  const blockOutChannels = widths(s.blockOutChannels);
  const f = downsampleFactorOf({ blockOutChannels });
  if (s.imageSize % f !== 0)
    throw new UsageError(
      `--image-size ${s.imageSize} must be a multiple of the downsampling ${f} (--block-out-channels ${s.blockOutChannels})`,
    );
  const bad = blockOutChannels.find((w) => w % s.normNumGroups !== 0);
  if (bad !== undefined)
    throw new UsageError(`--norm-num-groups ${s.normNumGroups} must divide every width of --block-out-channels (not ${bad})`);
  return {
    inChannels: 3,
    outChannels: 3,
    latentChannels: s.latentChannels,
    blockOutChannels,
    layersPerBlock: s.layersPerBlock,
    normNumGroups: s.normNumGroups,
    scalingFactor: 1,
    shiftFactor: 0,
    sampleSize: s.imageSize,
  };
}

/** Loads the images, trains, writes `s.out`; returns the trained autoencoder and its record. */
export async function runTrainAutoencoder(s: TrainAutoencoderSettings): Promise<{ vae: AutoencoderKL; record: AutoencoderRecord }> {
  if (s.threads > 0) torch.setNumThreads(s.threads);
  const config = autoencoderConfig(s);
  const trainSet = await openDataset(datasetSpec(s, 'train')!);
  const testSpec = datasetSpec(s, 'test');
  const testSet = testSpec ? await openDataset(testSpec) : null;
  // Without a test split the last --test-images images are held out.
  const held = testSet ? 0 : Math.min(s.testImages, Math.floor(trainSet.length / 2));
  const nTrain = Math.min(s.trainImages, trainSet.length - held);
  const train = await imageTensor(trainSet, 0, nTrain);
  const test = testSet
    ? await imageTensor(testSet, 0, Math.min(s.testImages, testSet.length))
    : await imageTensor(trainSet, trainSet.length - held, held);
  console.log(
    `reg train-autoencoder: AutoencoderKL [${config.blockOutChannels.join(', ')}] ×${downsampleFactorOf(config)} → ${config.latentChannels} latent channels on ${nTrain} ${trainSet.name} images (${s.imageSize}×${s.imageSize}); output in ${path.resolve(s.out)}`,
  );
  try {
    const result = trainAutoencoder({
      config,
      train,
      test,
      out: s.out,
      steps: s.steps,
      budgetSeconds: s.budget,
      batchSize: s.batchSize,
      learningRate: s.learningRate,
      klWeight: s.klWeight,
      seed: s.seed,
      progress: true,
      info: {
        command: 'reg train-autoencoder',
        dataset: trainSet.name,
        testSet: testSet?.name ?? `${trainSet.name} (last ${held})`,
        settings: s,
      },
    });
    const { training: t, reconstruction: r, latents: l } = result.record;
    console.log(
      `   ${t.steps} steps in ${t.seconds.toFixed(0)} s; reconstruction MSE ${t.reconstructionStart.toFixed(4)} → ${t.reconstructionEnd.toFixed(4)} (train, [−1, 1]); ` +
        `held-out MSE ${r.mse.toExponential(3)} ([0, 1]), PSNR ${r.psnr.toFixed(2)} dB on ${r.images} images; latent std ${l.std.toFixed(4)} → scaling factor ${l.scalingFactor.toFixed(5)}`,
    );
    return result;
  } finally {
    train.dispose();
    test.dispose();
  }
}

export const trainAutoencoderCommand: Command = {
  name: 'train-autoencoder',
  compute: true,
  summary: 'train a small AutoencoderKL (reconstruction + KL) on a dataset; writes the diffusers layout for --vae',
  options: TRAIN_AUTOENCODER_OPTIONS,
  async run(args) {
    // parseArgs checked each value against TRAIN_AUTOENCODER_OPTIONS
    const s = args.options as unknown as TrainAutoencoderSettings;
    const { vae } = await runTrainAutoencoder(s);
    vae.dispose();
  },
};
