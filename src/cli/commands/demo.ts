/**
 * `reg demo`: the main job on the embedded default. On a fresh machine, in about a quarter of an
 * hour on two CPU cores, it
 *
 *   1. prepares MobileNetV2 targets (class token + patch tokens) for the training images  → features/
 *   2. trains a small SiT + REG on the pixels within a time budget (progress bar, ETA)    → run/
 *   3. samples a grid, one row per class, with classifier-free guidance                    → grid/
 *   4. samples `--eval-samples` images and computes their Fréchet distance to as many test
 *      images in MobileNetV2's feature space (FD-MobileNetV2; not FID: another network)    → eval/
 *      and their class consistency: the share that a small classifier, trained once per machine on
 *      the dataset (src/eval/class-consistency.ts), assigns to the requested class
 *
 * and prints where everything is. Every stage is resumable: rerunning reuses finished features, a
 * finished training run (unless --retrain) and finished samples.
 *
 * With --latent the same stages run in the latent space of an AutoencoderKL that the demo first trains
 * on the same images (`reg train-autoencoder`, cached in autoencoder/; it takes --autoencoder-budget of
 * --budget): prepare also stores each image's posterior [mean; std] in the feature cache, SiT trains
 * on x = (mean + std·ε)·scale drawn afresh every step (the `imagenet256` source over that cache,
 * src/data/latent-source.ts), and the samples are decoded by the autoencoder before the grid and FD.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Command } from '../args.js';
import { parseArgs, UsageError } from '../args.js';
import {
  emojiCategoryGroups,
  FINE_EMOJI_LABELS,
  fineEmojiLabels,
  fineEmojiSourceName,
  isFineEmojiLabels,
  loadEmoji,
  type FineEmojiLabels,
} from '../../data/emoji.js';
import { loadFashionMnist } from '../../data/fashion-mnist.js';
import type { ImageDataset } from '../../data/dataset.js';
import { prepareFeatureCache } from '../../data/feature-cache.js';
import { registerDatasetSources } from '../../data/train-sources.js';
import { vaePosterior } from '../../data/vae-posterior.js';
import { PixelDecoder, type Autoencoder } from '../../diffusion/decode.js';
import { SAMPLERS } from '../../diffusion/samplers.js';
import { generateSamples } from '../../pipelines/generate.js';
import { readNpz } from '../../eval/npz.js';
import {
  featureScores,
  frechetEncoder,
  frechetSplits,
  sampleClassConsistency,
  type FeatureScores,
  type EmbeddedSampleScores,
} from '../../eval/embedded-scores.js';
import { createEncoder } from '../../models/encoders/encoder.js';
import type { AutoencoderKL } from '../../models/autoencoders/autoencoder-kl.js';
import { LatentDecoder } from '../../models/autoencoders/autoencoder-kl.js';
import { loadAutoencoder } from '../../models/autoencoders/load.js';
import { loadModel } from '../../models/pretrained.js';
import * as torch from '../../torch/index.js';
import { resolveTrainConfig, TRAIN_SETTINGS, type TrainConfig } from '../../train/config.js';
import { AUTOENCODER_RECORD_FILE, type AutoencoderRecord } from '../../train/autoencoder.js';
import { hasCheckpoints, train } from '../../train/trainer.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { formatDuration } from '../../util/progress.js';
import type { SettingTable, SettingValues } from '../../util/settings.js';
import { regTsVersion } from '../../util/version.js';
import { balancedClasses, gridClasses, modelLabelsFor } from './demo-labels.js';
import { runTrainAutoencoder, TRAIN_AUTOENCODER_OPTIONS, type TrainAutoencoderSettings } from './train-autoencoder.js';

/** The demo's options; the ones it shares with training keep the training settings' type and range. */
const DEMO_OPTIONS = {
  dataset: { type: 'string', choices: ['fashion-mnist', 'emoji'], default: 'fashion-mnist', help: 'embedded dataset' },
  dataDir: { type: 'string', help: 'dataset directory (default: the installed Debian/npm package)' },
  emojiLabels: {
    type: 'string',
    choices: ['category', ...FINE_EMOJI_LABELS],
    default: 'category',
    help: 'emoji: the classes the model is conditioned on (subcategory: 98 finer groups such as fruit or mammals; name: each emoji its own class; docs/demo-tuning.md); the grid rows, FD and class consistency stay per category',
  },
  encoderWeights: {
    type: 'string',
    help: 'MobileNetV2 weights folder in the TF.js format (default: npm nsfwjs 4.4.0, fetched once and cached)',
  },
  out: {
    type: 'string',
    help: 'output directory (features/, run/, grid/, eval/, demo.json; --latent adds autoencoder/) (default: runs/demo, with --latent runs/demo-latent)',
  },
  latent: {
    type: 'boolean',
    default: false,
    help: 'train REG in the latent space of an AutoencoderKL that the demo trains first on the same images (reg train-autoencoder)',
  },
  budget: { type: 'number', default: 480, above: 0, help: 'training time budget in seconds (with --latent: autoencoder and SiT together)' },
  autoencoderBudget: {
    type: 'number',
    default: 150,
    above: 0,
    help: 'with --latent: seconds of --budget for the autoencoder (SiT gets the rest, also when the autoencoder is reused)',
  },
  autoencoderSteps: { ...TRAIN_AUTOENCODER_OPTIONS.steps, help: 'with --latent: at most this many autoencoder steps' },
  trainSteps: {
    ...TRAIN_SETTINGS.maxTrainSteps,
    default: 1_000_000,
    help: 'at most this many training steps (the time budget usually stops training first)',
  },
  trainImages: {
    type: 'integer',
    default: 16384,
    min: 1,
    help: 'training images (the first N of the train split; each needs encoder targets)',
  },
  model: { type: 'string', default: 'SiT-T/2', help: 'model preset (width/depth); the patch size comes from --patch-size' },
  imageSize: { type: 'integer', default: 32, min: 1, help: 'pixel side the model sees (Fashion-MNIST is padded, emoji resized)' },
  patchSize: {
    ...TRAIN_SETTINGS.patchSize,
    default: 4,
    min: 1,
    help: 'patch size in pixels (tokens = (image-size / patch-size)²; with --latent the model patch is this ÷ the autoencoder downsampling)',
  },
  encoderInputSize: {
    type: 'integer',
    default: 128,
    min: 1,
    help: 'MobileNetV2 input side of the training targets (stride 16: must give the model token grid); the FD always runs it at 64',
  },
  batchSize: { ...TRAIN_SETTINGS.batchSize, default: 32, help: 'training batch size' },
  learningRate: { ...TRAIN_SETTINGS.learningRate, default: 1e-3, help: 'AdamW learning rate (after 100 warmup steps)' },
  lrSchedule: {
    ...TRAIN_SETTINGS.lrSchedule,
    help: 'learning-rate schedule after warmup (cosine: to 0 at --train-steps)',
  },
  emaDecay: {
    ...TRAIN_SETTINGS.emaDecay,
    default: 0.995,
    help: 'EMA decay (a short run needs a short EMA: 0.995 averages about the last 200 steps)',
  },
  sampler: {
    type: 'string',
    choices: SAMPLERS,
    default: 'euler',
    help: 'sampler (the SDE leaves per-pixel noise that FD-MobileNetV2 punishes in this small model: docs/demo-tuning.md)',
  },
  steps: { type: 'integer', default: 25, min: 1, help: 'sampling steps' },
  cfg: { type: 'number', default: 4, help: 'classifier-free guidance scale (image and class token)' },
  guidanceHigh: { type: 'number', default: 1, help: 'guidance is applied for t ≤ this (t = 1 is noise)' },
  evalSamples: { type: 'integer', default: 1000, min: 2, help: 'samples (and test images) for the Fréchet distance' },
  seed: { ...TRAIN_SETTINGS.seed, help: 'seed of everything' },
  threads: TRAIN_SETTINGS.threads,
  retrain: {
    type: 'boolean',
    default: false,
    help: 'train again even if the output directory holds a trained model (with --latent: the autoencoder too)',
  },
} as const satisfies SettingTable;

/** The demo's settings (every one is a command-line option). */
export type DemoSettings = SettingValues<typeof DEMO_OPTIONS>;

/** What the demo did (also `<out>/demo.json`). */
export interface DemoSummary {
  regTs: string;
  createdAt: string;
  settings: DemoSettings;
  dataset: string;
  /** The classes the model is conditioned on. */
  classes: readonly string[];
  /** The classes the grid rows show and the scores use (emoji subcategories or names: their categories; else `classes`). */
  scoredClasses: readonly string[];
  /** Where the model was trained: 'pixels', or 'latents' of the autoencoder below. */
  space: 'pixels' | 'latents';
  /** With --latent: the autoencoder (its folder, whether it was reused, and its record). */
  autoencoder: { dir: string; reused: boolean; record: AutoencoderRecord } | null;
  features: { dir: string; images: number; tokens: number; dim: number; encoder: string };
  training: { runDir: string; steps: number; denoiseLossStart: number; denoiseLossEnd: number };
  grid: string | undefined;
  evaluation: { metric: string; samples: number; reference: string; npz: string | undefined } & FeatureScores;
  /** Share of the evaluation samples that the dataset's classifier assigns to their requested class. */
  classConsistency: EmbeddedSampleScores['classConsistency'];
  seconds: Record<string, number>;
}

/** One dataset's split as the demo uses it. */
function openSplit(s: DemoSettings, split: 'train' | 'test'): Promise<ImageDataset> | ImageDataset {
  const dir = s.dataDir ? { dir: s.dataDir } : {};
  // The autoencoder of --latent encodes RGB (grey repeated over three channels).
  const channels = s.latent ? 3 : 1;
  if (s.dataset === 'fashion-mnist') return loadFashionMnist({ split, resolution: s.imageSize, fit: 'pad', channels, ...dir });
  // Emoji has no test split: the demo trains on the whole set; its FD holds out images i mod 5 = 0 (frechetSplits).
  const fine = fineLabels(s);
  return loadEmoji({ ...(fine ? fineEmojiLabels(fine) : { labels: 'category' }), resolution: s.imageSize, ...dir });
}

/** The emoji labelling finer than the category that the model is conditioned on (shown and scored by category), or null. */
function fineLabels(s: DemoSettings): FineEmojiLabels | null {
  return s.dataset === 'emoji' && isFineEmojiLabels(s.emojiLabels) ? s.emojiLabels : null;
}

/** The training data source of the pixel space (src/data/train-sources.ts). */
const trainingData = (s: DemoSettings): string => {
  const fine = fineLabels(s);
  return fine ? fineEmojiSourceName(fine) : s.dataset;
};

/** What the model sees: its input shape, patch and data source (pixels of the dataset, or latents from the feature cache). */
type ModelSpace = Pick<
  TrainConfig,
  'inputSize' | 'inChannels' | 'patchSize' | 'data' | 'dataDir' | 'vae' | 'vaeScalingFactor' | 'vaeShiftFactor' | 'timeBudget'
>;

/** The pixel space of the dataset: the model sees the images themselves. */
function pixelSpace(s: DemoSettings, ds: ImageDataset): ModelSpace {
  return {
    inputSize: s.imageSize,
    inChannels: ds.channels,
    patchSize: s.patchSize,
    data: trainingData(s),
    dataDir: s.dataDir ?? '',
    vae: '',
    vaeScalingFactor: 1,
    vaeShiftFactor: 0,
    timeBudget: s.budget,
  };
}

/**
 * The latent space of `vae` (folder `vaeDir`): latents (L, S/f, S/f) with patch patchSize/f, drawn from
 * the posterior moments in the feature cache `featuresDir` by the `imagenet256` source; SiT gets what
 * the autoencoder leaves of the budget.
 */
function latentSpace(s: DemoSettings, vae: AutoencoderKL, vaeDir: string, featuresDir: string): ModelSpace {
  const f = vae.downsampleFactor;
  return {
    inputSize: s.imageSize / f,
    inChannels: vae.config.latentChannels,
    patchSize: s.patchSize / f,
    data: 'imagenet256',
    dataDir: featuresDir,
    vae: vaeDir,
    vaeScalingFactor: vae.config.scalingFactor,
    vaeShiftFactor: vae.config.shiftFactor,
    timeBudget: s.budget - s.autoencoderBudget,
  };
}

function trainConfig(
  s: DemoSettings,
  ds: ImageDataset,
  featuresDir: string,
  runDir: string,
  encoderDim: number,
  space: ModelSpace,
): TrainConfig {
  return resolveTrainConfig(
    {
      ...space,
      outputDir: runDir,
      seed: s.seed,
      threads: s.threads,
      model: s.model,
      variant: 'reg',
      numClasses: ds.numClasses,
      encoderDim,
      encoder: featuresDir,
      batchSize: s.batchSize,
      learningRate: s.learningRate,
      lrSchedule: s.lrSchedule,
      warmupSteps: 100,
      emaDecay: s.emaDecay,
      maxTrainSteps: s.trainSteps,
      checkpointingSteps: 500,
      keepCheckpoints: 1,
      progress: true,
    },
    'reg demo',
  );
}

/** With --latent: the demo's autoencoder in `dir`, reused when it holds a finished one (unless --retrain), else trained now. */
async function demoAutoencoder(s: DemoSettings, dir: string): Promise<{ vae: AutoencoderKL; reused: boolean; record: AutoencoderRecord }> {
  const recordFile = path.join(dir, AUTOENCODER_RECORD_FILE);
  if (!s.retrain && existsSync(recordFile)) {
    console.log(`   ${dir} already holds a trained autoencoder; reusing it (--retrain to train again)`);
    return { vae: loadAutoencoder(dir), reused: true, record: JSON.parse(readFileSync(recordFile, 'utf8')) as AutoencoderRecord };
  }
  const settings: TrainAutoencoderSettings = {
    ...(parseArgs([], TRAIN_AUTOENCODER_OPTIONS).options as unknown as TrainAutoencoderSettings),
    dataset: s.dataset,
    ...(s.dataDir ? { dataDir: s.dataDir } : {}),
    out: dir,
    imageSize: s.imageSize,
    trainImages: s.trainImages,
    steps: s.autoencoderSteps,
    budget: s.autoencoderBudget,
    seed: s.seed,
    threads: s.threads,
  };
  return { ...(await runTrainAutoencoder(settings)), reused: false };
}

/** Runs the whole demo with `s`; returns the summary also written to `<out>/demo.json`. */
export async function runDemo(s: DemoSettings): Promise<DemoSummary> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    console.log(`\n== ${name}`);
    const result = await fn();
    timings[name] = (performance.now() - start) / 1000;
    console.log(`   ${name} took ${formatDuration(timings[name]!)}`);
    return result;
  };
  if (s.threads > 0) torch.setNumThreads(s.threads);
  const out = path.resolve(s.out ?? (s.latent ? 'runs/demo-latent' : 'runs/demo'));
  const featuresDir = path.join(out, 'features');
  const runDir = path.join(out, 'run');
  const autoencoderDir = path.join(out, 'autoencoder');
  const trainSet = await openSplit(s, 'train');
  const testSet = await openSplit(s, 'test');
  console.log(
    `reg demo: SiT + REG on ${trainSet.name} (${trainSet.numClasses} classes, ${s.imageSize}×${s.imageSize}×${trainSet.channels} pixels${s.latent ? ', in the latents of an autoencoder trained first' : ''}) with MobileNetV2 targets; output in ${out}`,
  );
  const autoencoder = s.latent ? await stage('train autoencoder', () => demoAutoencoder(s, autoencoderDir)) : null;
  if (autoencoder && !autoencoder.reused) {
    // Latents and model of an earlier autoencoder are stale.
    for (const dir of [featuresDir, runDir]) rmSync(dir, { recursive: true, force: true });
  }
  if (autoencoder) {
    const { reconstruction: r, latents: l } = autoencoder.record;
    console.log(
      `   held-out reconstruction MSE ${r.mse.toExponential(3)} (pixels in [0, 1]), PSNR ${r.psnr.toFixed(2)} dB; latents ${l.shape.join('×')}, scaling factor ${l.scalingFactor.toFixed(5)}`,
    );
  }
  const space = autoencoder ? latentSpace(s, autoencoder.vae, autoencoderDir, featuresDir) : pixelSpace(s, trainSet);
  if (!Number.isInteger(space.patchSize) || space.inputSize % space.patchSize !== 0)
    throw new UsageError(
      `--patch-size ${s.patchSize} must be a multiple of the autoencoder downsampling and divide --image-size ${s.imageSize}`,
    );
  const encoder = await createEncoder('mobilenetv2', {
    inputSize: s.encoderInputSize,
    ...(s.encoderWeights ? { weights: s.encoderWeights } : {}),
    log: (l) => console.log(`   ${l}`),
  });
  const grid = s.imageSize / s.patchSize;
  if (encoder.grid[0] !== grid) {
    throw new UsageError(
      `MobileNetV2 at ${s.encoderInputSize}px gives a ${encoder.grid.join('×')} token grid but the model has ${grid}×${grid} patches; use --encoder-input-size ${(encoder.inputSize / encoder.grid[0]) * grid}`,
    );
  }

  const prep = await stage('prepare features', () =>
    prepareFeatureCache({
      dataset: trainSet,
      datasetSpec: `${trainingData(s)}:train`,
      encoder,
      out: featuresDir,
      limit: s.trainImages,
      ...(autoencoder ? { autoencoder: vaePosterior(autoencoder.vae, autoencoderDir) } : {}),
      log: (l) => console.log(`   ${l}`),
    }),
  );
  console.log(
    `   ${prep.manifest.count} images × (1 + ${prep.manifest.tokens}) tokens × ${prep.manifest.dim}; ${prep.reused} shard(s) reused, ${prep.computed} computed`,
  );

  if (s.retrain && existsSync(runDir)) rmSync(runDir, { recursive: true, force: true });
  const trained = hasCheckpoints(runDir);
  const result = await stage('train', async () => {
    if (trained) {
      console.log(`   ${runDir} already holds a trained model; reusing it (--retrain to train again)`);
      return null;
    }
    registerDatasetSources();
    return train(trainConfig(s, trainSet, featuresDir, runDir, encoder.dim, space));
  });
  const metrics = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: number; loss: number; denoise: number });
  const window = Math.max(1, Math.min(50, Math.floor(metrics.length / 4)));
  const meanLoss = (rows: typeof metrics) => rows.reduce((a, m) => a + m.denoise, 0) / rows.length;
  const firstLoss = meanLoss(metrics.slice(0, window));
  const lastLoss = meanLoss(metrics.slice(-window));
  console.log(
    `   ${metrics.at(-1)?.step ?? 0} steps; denoising loss ${firstLoss.toFixed(4)} (first ${window} steps) → ${lastLoss.toFixed(4)} (last ${window})${result ? `; stopped: ${result.reason}` : ''}`,
  );

  const model = loadModel(runDir, { weights: 'ema' });
  const decoder: Autoencoder = autoencoder ? new LatentDecoder(autoencoder.vae) : new PixelDecoder();
  const common = {
    sampler: s.sampler,
    steps: s.steps,
    cfgScale: s.cfg,
    clsCfgScale: s.cfg,
    guidanceLow: 0,
    guidanceHigh: s.guidanceHigh,
    path: 'linear',
    seed: s.seed,
  };
  const info = { regTs: regTsVersion(), checkpoint: runDir, weights: 'ema' };
  // the classes the grid shows and the scores use, and for each model class its scored class
  const fine = fineLabels(s);
  const groups = fine ? emojiCategoryGroups(fine, s.dataDir) : null;
  const members = fine === 'name' ? 'emoji' : 'subcategories';
  const classes = groups?.categories ?? trainSet.classNames;
  const parents = groups?.parents ?? null;
  const k = classes.length;
  const gridDir = path.join(out, 'grid');
  const gridRun = await stage('sample grid', () =>
    generateSamples({
      model,
      decoder,
      outDir: gridDir,
      labels: modelLabelsFor(gridClasses(k, 10), trainSet, parents),
      settings: {
        ...common,
        num: k * 10,
        labelMode: parents ? `one row per category, its ${members} as in the data` : 'one row per class',
      },
      batchSize: 50,
      gridSize: k * 10,
      info,
    }),
  );

  const evalDir = path.join(out, 'eval');
  const evalLabels = balancedClasses(k, s.evalSamples);
  const evalRun = await stage('sample for evaluation', () =>
    generateSamples({
      model,
      decoder,
      outDir: path.join(evalDir, 'samples'),
      labels: modelLabelsFor(evalLabels, trainSet, parents),
      settings: {
        ...common,
        seed: s.seed + 1,
        num: s.evalSamples,
        labelMode: parents ? `balanced over categories, their ${members} as in the data` : 'balanced',
      },
      batchSize: 100,
      gridSize: 0,
      info,
    }),
  );
  const samples = readNpz(evalRun.files.npz!).get('arr_0')!;
  const fdSets = frechetSplits(s.dataset, testSet, trainSet);
  const fdNet = await frechetEncoder(encoder, s.encoderWeights ? { weights: s.encoderWeights } : {});
  const scores = await stage('Fréchet distance, precision and recall', () =>
    featureScores(fdNet.encoder, samples, fdSets.test, fdSets.train).finally(fdNet.dispose),
  );
  const { value: fd, realVsReal: floor } = scores;
  const consistency = await stage('class consistency', () =>
    sampleClassConsistency(s.dataset, samples, evalLabels, {
      ...(s.dataDir ? { dataDir: s.dataDir } : {}),
      log: (l) => console.log(`   ${l}`),
    }),
  );
  encoder.dispose();
  autoencoder?.vae.dispose();

  const summary: DemoSummary = {
    regTs: regTsVersion(),
    createdAt: new Date().toISOString(),
    settings: s,
    dataset: trainSet.name,
    classes: trainSet.classNames,
    scoredClasses: classes,
    space: autoencoder ? 'latents' : 'pixels',
    autoencoder: autoencoder && { dir: autoencoderDir, reused: autoencoder.reused, record: autoencoder.record },
    features: {
      dir: featuresDir,
      images: prep.manifest.count,
      tokens: prep.manifest.tokens,
      dim: prep.manifest.dim,
      encoder: prep.manifest.encoder.name,
    },
    training: { runDir, steps: metrics.at(-1)?.step ?? 0, denoiseLossStart: firstLoss, denoiseLossEnd: lastLoss },
    grid: gridRun.files.grid,
    evaluation: {
      metric: 'Fréchet distance in MobileNetV2 block_10 mean-pooled feature space (FD-MobileNetV2; not FID)',
      samples: s.evalSamples,
      reference: `${fdSets.test.name} (first ${Math.min(s.evalSamples, fdSets.test.length)})`,
      ...scores,
      npz: evalRun.files.npz,
    },
    classConsistency: consistency,
    seconds: { ...timings, total: (performance.now() - t0) / 1000 },
  };
  const summaryFile = path.join(out, 'demo.json');
  writeFileAtomic(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`
reg demo finished in ${formatDuration(summary.seconds.total)}${
    autoencoder
      ? `
  autoencoder       ${autoencoderDir}   (held-out reconstruction MSE ${autoencoder.record.reconstruction.mse.toExponential(3)}, PSNR ${autoencoder.record.reconstruction.psnr.toFixed(2)} dB)`
      : ''
  }
  checkpoint        ${runDir}
  metrics           ${path.join(runDir, 'metrics.jsonl')}
  sample grid       ${gridRun.files.grid}   (row i = class ${classes.map((n, i) => `${i} ${n}`).join(', ')})
  eval samples      ${evalRun.files.npz}
  FD-MobileNetV2    ${fd.toFixed(3)}   (${s.evalSamples} samples vs ${Math.min(s.evalSamples, fdSets.test.length)} ${fdSets.test.name} images; lower is better;
                    ${floor.toFixed(3)} for ${Math.min(s.evalSamples, fdSets.train.length)} real images of ${fdSets.train.name}, the floor at this sample size)
  precision, recall ${scores.precision.toFixed(3)}, ${scores.recall.toFixed(3)}   (k = 3 manifolds in the same space: share of samples among real images, of real images covered by samples)
  class consistency ${(consistency.score * 100).toFixed(1)} %   (samples the ${consistency.classifier.record.dataset} classifier assigns to their requested ${parents ? 'category' : 'class'};
                    its test accuracy ${(consistency.classifier.record.testAccuracy * 100).toFixed(1)} % on ${consistency.classifier.record.testSplit})
  summary           ${summaryFile}
  dashboard         reg serve --runs ${out}   (curves, sample grids and configs in a browser)`);
  return summary;
}

export const demoCommand: Command = {
  name: 'demo',
  compute: true,
  summary:
    'the main job: prepare MobileNetV2 targets, train SiT+REG on Fashion-MNIST (or emoji), sample a class grid, compute FD-MobileNetV2',
  options: DEMO_OPTIONS,
  async run(args) {
    // parseArgs checked each value against DEMO_OPTIONS
    const s = args.options as unknown as DemoSettings;
    if (s.imageSize % s.patchSize !== 0)
      throw new UsageError(`--image-size ${s.imageSize} must be a multiple of --patch-size ${s.patchSize}`);
    if (s.latent && s.autoencoderBudget >= s.budget)
      throw new UsageError(`--autoencoder-budget ${s.autoencoderBudget} must leave SiT some of --budget ${s.budget}`);
    await runDemo(s);
  },
};
