/**
 * The batch source over an image dataset that every dataset source builds: a seeded, resumable
 * {@link BatchLoader}, the encoder targets the model variant needs (from a feature cache, or an encoder
 * run on every batch), and the model input x: pixels/127.5 − 1, or, in latent space, a fresh posterior
 * sample (latents.ts; its ε is a function of the seed, the epoch and the image). Its position is the
 * loader's (epoch, index), so a resumed run sees exactly the batches an uninterrupted one would.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { createEncoder, type RepresentationEncoder } from '../models/encoders/encoder.js';
import type { SiTConfig } from '../models/configs.js';
import { hasAlign, hasClsInput, hasToken } from '../models/variant.js';
import { DataSourceError, type BatchSource, type Json, type SourceContext, type TrainBatch } from '../train/data.js';
import { firstSamples, type ImageDataset } from './dataset.js';
import { FeatureCache, MANIFEST_FILE } from './feature-cache.js';
import type { MomentsProvider, PosteriorSampler } from './latents.js';
import { BatchLoader, type LoaderPosition } from './loader.js';

/** Encoder targets of a batch: class token (B, C) and patch tokens (B, N, C). */
interface Targets {
  cls: Tensor;
  patches: Tensor;
}

/** Where the targets come from. */
export interface TargetProvider {
  readonly description: string;
  readonly dim: number;
  readonly tokens: number;
  /** Targets of the dataset indices; `images` (their uint8 pixels) is null when the batch carries none (everything cached). */
  targets(indices: Int32Array, images: Tensor | null): Targets;
  close(): void;
}

/** Targets read from a feature cache by dataset index. */
export function cacheProvider(cache: FeatureCache): TargetProvider {
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
export interface Latents {
  readonly moments: MomentsProvider;
  readonly sampler: PosteriorSampler;
}

/** Micro-batches of a dataset with the targets and the model input x the model needs (see the file comment). */
export class DatasetSource implements BatchSource {
  readonly name: string;
  readonly #loader: BatchLoader;
  readonly #provider: TargetProvider | null;
  readonly #latents: Latents | null;
  readonly #model: SiTConfig;
  readonly #shape: number[];
  readonly #length: number;

  /** `latents` null: pixel space, x = pixels/127.5 − 1. A dataset of 0-channel images delivers labels only (cached latents and targets). */
  constructor(dataset: ImageDataset, provider: TargetProvider | null, latents: Latents | null, ctx: SourceContext) {
    this.#model = ctx.model;
    this.#provider = provider;
    this.#latents = latents;
    this.#shape = [dataset.channels, dataset.height, dataset.width];
    const start = (ctx.start as { loader?: LoaderPosition } | null)?.loader;
    this.#length = dataset.length;
    this.#loader = new BatchLoader(dataset, {
      batchSize: ctx.microBatch,
      seed: ctx.config.seed,
      ...(start ? { start } : {}),
      ...(ctx.shard ? { rank: ctx.shard.rank, worldSize: ctx.shard.worldSize } : {}),
    });
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
        ? this.#latents.sampler.sample(this.#latents.moments.moments(batch.indices, images), {
            indices: batch.indices,
            epoch: batch.epoch,
            length: this.#length,
          })
        : images!.to('float32').div(127.5).sub(1);
      return assemble(this.#model, x, batch.labels, targets);
    });
  }

  position(): Json {
    const { epoch, index } = this.#loader.position;
    return { loader: { epoch, index } };
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

/** Whether the model variant needs encoder targets (a class-token input or an alignment loss). */
export function needsTargets(model: SiTConfig): boolean {
  return hasClsInput(model) || hasAlign(model);
}

/** Throws (closing `provider`) unless it gives the model's patch-token count and width. */
export function checkTargets(provider: TargetProvider, model: SiTConfig): TargetProvider {
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
export async function openTargets(
  dataset: ImageDataset,
  ctx: SourceContext,
): Promise<{ dataset: ImageDataset; provider: TargetProvider | null }> {
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
