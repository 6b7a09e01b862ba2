/**
 * The `imagenet256` source: the paper's data, ImageNet 256×256 as autoencoder latents
 * x = (mean + std·ε − shift)·scale with ε fresh every step (latents.ts), plus the encoder targets.
 * docs/training.md#the-papers-setting-imagenet-in-sd-vae-latents describes the three kinds of --data-dir.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AutoencoderKL } from '../models/autoencoders/autoencoder-kl.js';
import { loadAutoencoder } from '../models/autoencoders/load.js';
import { DataSourceError, type BatchSource, type SourceContext } from '../train/data.js';
import type { ImageDataset } from './dataset.js';
import { cacheProvider, checkTargets, DatasetSource, needsTargets, openTargets, type TargetProvider } from './dataset-source.js';
import { FeatureCache, MANIFEST_FILE } from './feature-cache.js';
import { openImageFolder } from './image-folder.js';
import { PosteriorSampler, type LatentScaling, type MomentsProvider } from './latents.js';
import { isRepaLayout, openRepaLayout } from './repa-layout.js';
import { vaePosterior } from './vae-posterior.js';

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
export async function imagenet256Source(ctx: SourceContext): Promise<BatchSource> {
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
  try {
    opened =
      data.cachedTargets === undefined
        ? await openTargets(data.dataset, ctx)
        : { dataset: data.dataset, provider: data.cachedTargets && checkTargets(data.cachedTargets, model) };
  } catch (err) {
    data.moments.close();
    throw err;
  }
  const sampler = new PosteriorSampler(config.seed, scaling);
  return new DatasetSource(opened.dataset, opened.provider, { moments: data.moments, sampler }, ctx);
}
