/**
 * Training sources over real datasets, added to the trainer's source registry (src/train/data.ts) by
 * {@link registerDatasetSources} (the lower layer never imports this one):
 *
 *   fashion-mnist   Debian's dataset-fashion-mnist (grey; 3 channels when the model has 3)
 *   emoji           emoji-datasource-google, category labels, RGB on white
 *   folder          one subfolder per class under `dataDir` (ImageNet layout, ADM center crop)
 *   imagenet256     the paper's setting: 256-px images as autoencoder latents (see imagenet256Source)
 *
 * Pixel-space training: images become x = pixels/127.5 − 1 in [−1, 1] at the model's input size.
 * Encoder targets come from a feature cache made by `reg prepare` (`encoder` = the cache directory)
 * or from an encoder run on every batch (`encoder` = an encoder name such as `mobilenetv2`).
 * The position saved in checkpoints is the loader's (epoch, index), so resuming continues with
 * exactly the batches an uninterrupted run would have seen.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { createEncoder, type RepresentationEncoder } from '../models/encoders/encoder.js';
import type { SiTConfig } from '../models/configs.js';
import { hasAlign, hasClsInput, hasToken } from '../models/variant.js';
import {
  DataSourceError,
  registerSource,
  type BatchSource,
  type Json,
  type SourceContext,
  type SourceFactory,
  type TrainBatch,
} from '../train/data.js';
import { firstSamples, type ImageDataset } from './dataset.js';
import { FeatureCache, MANIFEST_FILE } from './feature-cache.js';
import { BatchLoader, type LoaderPosition } from './loader.js';
import { openDataset, type DatasetSpec } from './open.js';
import { PosteriorSampler, type LatentScaling, type MomentsProvider } from './latents.js';
import { openImageFolder } from './image-folder.js';
import { isRepaLayout, openRepaLayout } from './repa-layout.js';
import { vaePosterior } from './vae-posterior.js';
import { loadAutoencoder } from '../models/autoencoders/load.js';
import type { AutoencoderKL } from '../models/autoencoders/autoencoder-kl.js';

/** Encoder targets of a batch: class token (B, C) and patch tokens (B, N, C). */
interface Targets {
  cls: Tensor;
  patches: Tensor;
}

/** Where the targets come from. */
interface TargetProvider {
  readonly description: string;
  readonly dim: number;
  readonly tokens: number;
  /** Targets of the dataset indices; `images` (their uint8 pixels) is null when the batch carries none (everything cached). */
  targets(indices: Int32Array, images: Tensor | null): Targets;
  close(): void;
}

function cacheProvider(cache: FeatureCache): TargetProvider {
  return {
    description: `feature cache ${cache.dir} (${cache.encoder.name}, ${cache.length} images)`,
    dim: cache.dim,
    tokens: cache.numTokens,
    targets(indices) {
      const { cls, patches } = cache.get(indices);
      return { cls, patches };
    },
    close: () => cache.close(),
  };
}

async function encoderProvider(name: string, weights: string, model: SiTConfig, device: torch.Device): Promise<TargetProvider> {
  const grid = model.inputSize / model.patchSize;
  const options = { device, ...(weights ? { weights } : {}) };
  // Pick the encoder input size whose patch grid equals the model's token grid.
  let encoder: RepresentationEncoder = await createEncoder(name, options);
  const stride = encoder.inputSize / encoder.grid[0];
  if (encoder.grid[0] !== grid) {
    encoder.dispose();
    encoder = await createEncoder(name, { ...options, inputSize: Math.round(stride * grid) });
  }
  const enc = encoder;
  return {
    description: `${enc.name} at ${enc.inputSize}px run per batch`,
    dim: enc.dim,
    tokens: enc.numPatches,
    targets: (_indices, images) => enc.encode(images!),
    close: () => enc.dispose(),
  };
}

/** Builds the training batch the model variant needs from the model input x and encoder targets. */
function assemble(model: SiTConfig, x: Tensor, labels: Int32Array, t: Targets | null): TrainBatch {
  return torch.scope(() => {
    const y = torch.tensor(labels, { dtype: 'int64' });
    if (t === null) return { x, y, clsTarget: null, alignTarget: null };
    const signal = model.entangledSignal === 'patch-mean' ? t.patches.mean(1) : t.cls;
    const clsTarget = hasClsInput(model) ? signal : null;
    const alignTarget = hasAlign(model) ? (hasToken(model) ? torch.cat([signal.unsqueeze(1), t.patches], 1) : t.patches) : null;
    return { x, y, clsTarget, alignTarget };
  });
}

/** Latent-space training: the moments of each image and the sampler of x = (mean + std·ε − shift)·scale. */
interface Latents {
  readonly moments: MomentsProvider;
  readonly sampler: PosteriorSampler;
}

class DatasetSource implements BatchSource {
  readonly name: string;
  readonly #loader: BatchLoader;
  readonly #provider: TargetProvider | null;
  readonly #latents: Latents | null;
  readonly #model: SiTConfig;
  readonly #shape: number[];

  /** `latents` null: pixel space, x = pixels/127.5 − 1. A dataset of 0-channel images delivers labels only (cached latents and targets). */
  constructor(dataset: ImageDataset, provider: TargetProvider | null, latents: Latents | null, ctx: SourceContext) {
    this.#model = ctx.model;
    this.#provider = provider;
    this.#latents = latents;
    this.#shape = [dataset.channels, dataset.height, dataset.width];
    const start = (ctx.start as { loader?: LoaderPosition } | null)?.loader;
    this.#loader = new BatchLoader(dataset, { batchSize: ctx.microBatch, seed: ctx.config.seed, ...(start ? { start } : {}) });
    const shown = latents
      ? `${latents.moments.description} → latents ${latents.moments.shape[0] / 2}×${latents.moments.shape[1]}×${latents.moments.shape[2]}`
      : this.#shape.join('×');
    this.name = `${dataset.name} ${shown}${provider ? ` + ${provider.description}` : ''}`;
  }

  async next(): Promise<TrainBatch> {
    const batch = await this.#loader.next();
    return torch.scope(() => {
      const images = this.#shape[0] === 0 ? null : torch.fromBytes(batch.images, 'uint8', [batch.size, ...this.#shape]);
      const targets = this.#provider ? this.#provider.targets(batch.indices, images) : null;
      const x = this.#latents
        ? this.#latents.sampler.sample(this.#latents.moments.moments(batch.indices, images))
        : images!.to('float32').div(127.5).sub(1);
      return assemble(this.#model, x, batch.labels, targets);
    });
  }

  position(): Json {
    const { epoch, index } = this.#loader.position;
    return { loader: { epoch, index }, ...(this.#latents ? { posterior: { ...this.#latents.sampler.state() } } : {}) };
  }

  epoch(): number {
    return this.#loader.position.epoch;
  }

  close(): void {
    this.#loader.close();
    this.#provider?.close();
    this.#latents?.moments.close();
  }
}

function needsTargets(model: SiTConfig): boolean {
  return hasClsInput(model) || hasAlign(model);
}

/** Throws (closing `provider`) unless it gives the model's patch-token count and width. */
function checkTargets(provider: TargetProvider, model: SiTConfig): TargetProvider {
  const tokens = (model.inputSize / model.patchSize) ** 2;
  const dim = model.zDims[0];
  if (provider.dim !== dim || provider.tokens !== tokens) {
    const got = `${provider.tokens} tokens of width ${provider.dim}`;
    provider.close();
    throw new DataSourceError(
      `${provider.description} gives ${got}, but the model needs ${tokens} patch tokens of width ${dim} (--encoder-dim ${dim}); match --encoder-dim and the encoder's input size`,
    );
  }
  return provider;
}

/**
 * The encoder targets of `dataset` for the model variant (null when it needs none): from the feature
 * cache `config.encoder` names (then the dataset is cut to the cached images), else from the encoder
 * of that name (weights `config.encoderWeights`) run on every batch.
 */
async function openTargets(dataset: ImageDataset, ctx: SourceContext): Promise<{ dataset: ImageDataset; provider: TargetProvider | null }> {
  const { model, config } = ctx;
  if (!needsTargets(model)) return { dataset, provider: null };
  if (!config.encoder)
    throw new DataSourceError(
      `variant '${model.variant}' needs encoder targets: set --encoder to an encoder name (e.g. mobilenetv2) or a feature cache directory from \`reg prepare\``,
    );
  if (existsSync(join(config.encoder, MANIFEST_FILE))) {
    // A cache of the first N images (reg prepare --limit N) trains on those N images.
    const cache = FeatureCache.open(config.encoder);
    const cut = firstSamples(dataset, cache.length);
    cache.checkDataset(cut);
    return { dataset: cut, provider: checkTargets(cacheProvider(cache), model) };
  }
  let provider: TargetProvider;
  try {
    provider = await encoderProvider(config.encoder, config.encoderWeights, model, ctx.device);
  } catch (err) {
    const weights = config.encoderWeights ? ` with --encoder-weights ${config.encoderWeights}` : '';
    throw new DataSourceError(`cannot load the encoder '${config.encoder}'${weights}: ${(err as Error).message}`);
  }
  return { dataset, provider: checkTargets(provider, model) };
}

/** Opens the dataset for `ctx`, checks it against the model, and wraps it as a pixel-space source. */
async function datasetSource(spec: DatasetSpec, ctx: SourceContext): Promise<BatchSource> {
  const { model } = ctx;
  let dataset: ImageDataset;
  try {
    dataset = await openDataset(spec);
  } catch (err) {
    throw new DataSourceError(`cannot open the ${spec.kind} dataset: ${(err as Error).message}`);
  }
  if (dataset.numClasses !== model.numClasses) {
    throw new DataSourceError(
      `${dataset.name} has ${dataset.numClasses} classes but the model was configured with numClasses ${model.numClasses}; pass --num-classes ${dataset.numClasses}`,
    );
  }
  if (dataset.channels !== model.inChannels || dataset.height !== model.inputSize) {
    throw new DataSourceError(
      `${dataset.name} delivers ${dataset.channels}×${dataset.height}×${dataset.width} images but the model expects ${model.inChannels}×${model.inputSize}×${model.inputSize}`,
    );
  }
  const opened = await openTargets(dataset, ctx);
  return new DatasetSource(opened.dataset, opened.provider, null, ctx);
}

/** Side of the images of the `imagenet256` source (the ADM centre crop of the paper's 256×256 setting). */
export const IMAGENET256_RESOLUTION = 256;

/** A labels-only dataset (0-channel images) over a feature cache that holds both latents and targets. */
function cachedLabels(cache: FeatureCache): ImageDataset {
  const { labels } = cache;
  const info = cache.manifest.dataset;
  return {
    name: `feature cache ${cache.dir}`,
    length: cache.length,
    channels: 0,
    height: 0,
    width: 0,
    numClasses: info.numClasses,
    classNames: info.classNames,
    labels,
    get: async (index) => ({ pixels: new Uint8Array(0), label: labels[index]! }),
  };
}

/** Throws unless `recorded` (the autoencoder's own scaling) equals the run's --vae-scaling-factor / --vae-shift-factor. */
function checkScaling(what: string, recorded: { scalingFactor?: unknown; shiftFactor?: unknown }, scaling: LatentScaling): void {
  if (typeof recorded.scalingFactor === 'number' && recorded.scalingFactor !== scaling.scale)
    throw new DataSourceError(
      `${what} has scaling_factor ${recorded.scalingFactor} but the run's --vae-scaling-factor is ${scaling.scale}; pass --vae-scaling-factor ${recorded.scalingFactor}`,
    );
  if (typeof recorded.shiftFactor === 'number' && recorded.shiftFactor !== scaling.shift)
    throw new DataSourceError(
      `${what} has shift_factor ${recorded.shiftFactor} but the run's --vae-shift-factor is ${scaling.shift}; pass --vae-shift-factor ${recorded.shiftFactor}`,
    );
}

/** Where the `imagenet256` source gets images, moments and (from a cache) targets. */
interface LatentData {
  dataset: ImageDataset;
  moments: MomentsProvider;
  /** Targets from the same feature cache, or undefined: from --encoder. */
  cachedTargets?: TargetProvider | null;
}

/** The --data-dir of `imagenet256`: a feature cache with latents, REPA/REG's layout, or an ImageNet-layout folder (+ --vae). */
async function openLatentData(ctx: SourceContext, scaling: LatentScaling): Promise<LatentData> {
  const { config, model } = ctx;
  const dir = config.dataDir;
  if (existsSync(join(dir, MANIFEST_FILE))) {
    const cache = FeatureCache.open(dir);
    if (cache.latents === null) {
      cache.close();
      throw new DataSourceError(`feature cache ${dir} holds no autoencoder posterior; make it with \`reg prepare --vae <autoencoder>\``);
    }
    checkScaling(`the autoencoder of feature cache ${dir}`, cache.latents.autoencoder, scaling);
    const shared = needsTargets(model);
    const moments: MomentsProvider = {
      description: `feature cache ${dir} (${cache.length} images)`,
      shape: cache.latents.shape,
      moments: (indices) => cache.get(indices).posterior!,
      close: () => (shared ? undefined : cache.close()),
    };
    return { dataset: cachedLabels(cache), moments, cachedTargets: shared ? cacheProvider(cache) : null };
  }
  if (isRepaLayout(dir)) return openRepaLayout(dir, IMAGENET256_RESOLUTION);
  let dataset: ImageDataset;
  try {
    dataset = openImageFolder({ root: dir, resolution: IMAGENET256_RESOLUTION });
  } catch (err) {
    throw new DataSourceError(`--data imagenet256: ${(err as Error).message}`);
  }
  if (!config.vae)
    throw new DataSourceError(
      `--data imagenet256 on the image folder ${dir} needs --vae <autoencoder> (diffusers folder or file) to encode the images`,
    );
  let vae: AutoencoderKL;
  try {
    vae = loadAutoencoder(config.vae, { device: ctx.device });
  } catch (err) {
    throw new DataSourceError(`cannot load the autoencoder --vae ${config.vae}: ${(err as Error).message}`);
  }
  try {
    checkScaling(`the autoencoder ${config.vae}`, vae.config, scaling);
  } catch (err) {
    vae.dispose();
    throw err;
  }
  const f = vae.downsampleFactor;
  const encoder = vaePosterior(vae, config.vae);
  const shape = [2 * vae.config.latentChannels, IMAGENET256_RESOLUTION / f, IMAGENET256_RESOLUTION / f] as const;
  const moments: MomentsProvider = {
    description: `autoencoder ${config.vae} (×${f}) run per batch`,
    shape,
    moments: (_indices, images) => encoder.moments(images!),
    close: () => encoder.dispose(),
  };
  return { dataset, moments };
}

/**
 * The paper's data: ImageNet 256×256 as autoencoder latents x = (mean + std·ε − shift)·scale with ε
 * fresh every step (see latents.ts), plus the encoder targets; --data-dir is one of
 *   a feature cache from `reg prepare --vae …` (moments and targets cached; no image is read),
 *   REPA/REG's preprocessed folder (images/ or imagenet_256_vae/ + vae-sd/; targets from --encoder),
 *   an ImageNet-layout folder (<wnid>/*.JPEG; ADM crop to 256, --vae and --encoder run per batch).
 */
async function imagenet256Source(ctx: SourceContext): Promise<BatchSource> {
  const { config, model } = ctx;
  if (!config.dataDir)
    throw new DataSourceError(
      "--data imagenet256 needs --data-dir: an ImageNet-layout train/ folder (with --vae), REPA/REG's preprocessed folder (images/ + vae-sd/), or a feature cache from `reg prepare --vae`",
    );
  const scaling: LatentScaling = { scale: config.vaeScalingFactor, shift: config.vaeShiftFactor };
  const data = await openLatentData(ctx, scaling);
  const fail = (message: string): never => {
    data.moments.close();
    data.cachedTargets?.close();
    throw new DataSourceError(message);
  };
  const [c2, h, w] = data.moments.shape;
  if (c2 / 2 !== model.inChannels || h !== model.inputSize || w !== model.inputSize)
    fail(
      `${data.moments.description} gives ${c2 / 2}×${h}×${w} latents (${IMAGENET256_RESOLUTION}-px images), but the model expects ` +
        `${model.inChannels}×${model.inputSize}×${model.inputSize} (--in-channels ${model.inChannels}, --input-size ${model.inputSize}); use an autoencoder with ${model.inChannels} latent channels and ${IMAGENET256_RESOLUTION / model.inputSize}× downsampling, or match the model to it`,
    );
  if (data.dataset.numClasses > model.numClasses)
    fail(`${data.dataset.name} has ${data.dataset.numClasses} classes but the model only ${model.numClasses} (--num-classes)`);
  let opened: { dataset: ImageDataset; provider: TargetProvider | null };
  if (data.cachedTargets !== undefined) {
    try {
      opened = { dataset: data.dataset, provider: data.cachedTargets && checkTargets(data.cachedTargets, model) };
    } catch (err) {
      data.moments.close();
      throw err;
    }
  } else {
    try {
      opened = await openTargets(data.dataset, ctx);
    } catch (err) {
      data.moments.close();
      throw err;
    }
  }
  const sampler = new PosteriorSampler(config.seed, scaling, (ctx.start as { posterior?: unknown } | null)?.posterior);
  return new DatasetSource(opened.dataset, opened.provider, { moments: data.moments, sampler }, ctx);
}

/** The dataset sources by `--data` name. */
const DATASET_SOURCES: Readonly<Record<string, SourceFactory>> = {
  /** Fashion-MNIST train split (Debian's dataset-fashion-mnist, or the IDX directory in --data-dir). */
  'fashion-mnist': (ctx) =>
    datasetSource(
      {
        kind: 'fashion-mnist',
        split: 'train',
        resolution: ctx.model.inputSize,
        channels: ctx.model.inChannels === 3 ? 3 : 1,
        ...(ctx.config.dataDir ? { dir: ctx.config.dataDir } : {}),
      },
      ctx,
    ),
  /** Noto emoji from emoji-datasource-google, category labels. */
  emoji: (ctx) =>
    datasetSource(
      { kind: 'emoji', labels: 'category', resolution: ctx.model.inputSize, ...(ctx.config.dataDir ? { dir: ctx.config.dataDir } : {}) },
      ctx,
    ),
  /** A folder with one subfolder per class (ImageNet layout), ADM center crop to the model input size. */
  folder: (ctx) => {
    if (!ctx.config.dataDir) throw new DataSourceError('--data folder needs --data-dir <directory with one subfolder per class>');
    return datasetSource({ kind: 'image-folder', root: ctx.config.dataDir, resolution: ctx.model.inputSize }, ctx);
  },
  /** ImageNet 256×256 in autoencoder latents (the paper presets configs/sit-*-imagenet256.json). */
  imagenet256: imagenet256Source,
};

/**
 * Makes the dataset sources (`fashion-mnist`, `emoji`, `folder`, `imagenet256`) available to `train()` as
 * `config.data`. The CLI calls it before training; a program that trains on a dataset calls it once.
 */
export function registerDatasetSources(): void {
  for (const [name, factory] of Object.entries(DATASET_SOURCES)) registerSource(name, factory);
}
