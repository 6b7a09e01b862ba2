/**
 * Training sources over real datasets, added to the trainer's source registry (src/train/data.ts) by
 * {@link registerDatasetSources} (the lower layer never imports this one):
 *
 *   fashion-mnist   Debian's dataset-fashion-mnist (grey; 3 channels when the model has 3)
 *   emoji           emoji-datasource-google, category labels, RGB on white
 *   folder          one subfolder per class under `dataDir` (ImageNet layout, ADM center crop)
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
  targets(indices: Int32Array, images: Tensor): Targets;
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

async function encoderProvider(name: string, model: SiTConfig, device: torch.Device): Promise<TargetProvider> {
  const grid = model.inputSize / model.patchSize;
  // Pick the encoder input size whose patch grid equals the model's token grid.
  let encoder: RepresentationEncoder = await createEncoder(name, { device });
  const stride = encoder.inputSize / encoder.grid[0];
  if (encoder.grid[0] !== grid) {
    encoder.dispose();
    encoder = await createEncoder(name, { device, inputSize: Math.round(stride * grid) });
  }
  const enc = encoder;
  return {
    description: `${enc.name} at ${enc.inputSize}px run per batch`,
    dim: enc.dim,
    tokens: enc.numPatches,
    targets: (_indices, images) => enc.encode(images),
    close: () => enc.dispose(),
  };
}

/** Builds the training batch the model variant needs from pixels and encoder targets. */
function assemble(model: SiTConfig, images: Tensor, labels: Int32Array, t: Targets | null): TrainBatch {
  return torch.scope(() => {
    const x = images.to('float32').div(127.5).sub(1);
    const y = torch.tensor(labels, { dtype: 'int64' });
    if (t === null) return { x, y, clsTarget: null, alignTarget: null };
    const signal = model.entangledSignal === 'patch-mean' ? t.patches.mean(1) : t.cls;
    const clsTarget = hasClsInput(model) ? signal : null;
    const alignTarget = hasAlign(model) ? (hasToken(model) ? torch.cat([signal.unsqueeze(1), t.patches], 1) : t.patches) : null;
    return { x, y, clsTarget, alignTarget };
  });
}

class DatasetSource implements BatchSource {
  readonly name: string;
  readonly #loader: BatchLoader;
  readonly #provider: TargetProvider | null;
  readonly #model: SiTConfig;
  readonly #shape: number[];

  constructor(dataset: ImageDataset, provider: TargetProvider | null, ctx: SourceContext) {
    this.#model = ctx.model;
    this.#provider = provider;
    this.#shape = [dataset.channels, dataset.height, dataset.width];
    const start = (ctx.start as { loader?: LoaderPosition } | null)?.loader;
    this.#loader = new BatchLoader(dataset, { batchSize: ctx.microBatch, seed: ctx.config.seed, ...(start ? { start } : {}) });
    this.name = `${dataset.name} ${this.#shape.join('×')}${provider ? ` + ${provider.description}` : ''}`;
  }

  async next(): Promise<TrainBatch> {
    const batch = await this.#loader.next();
    return torch.scope(() => {
      const images = torch.fromBytes(batch.images, 'uint8', [batch.size, ...this.#shape]);
      const targets = this.#provider ? this.#provider.targets(batch.indices, images) : null;
      return assemble(this.#model, images, batch.labels, targets);
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
  }
}

function needsTargets(model: SiTConfig): boolean {
  return hasClsInput(model) || hasAlign(model);
}

/** Opens the dataset for `ctx`, checks it against the model, and wraps it as a source. */
async function datasetSource(spec: DatasetSpec, ctx: SourceContext): Promise<BatchSource> {
  const { model, config } = ctx;
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
  let provider: TargetProvider | null = null;
  if (needsTargets(model)) {
    if (!config.encoder)
      throw new DataSourceError(
        `variant '${model.variant}' needs encoder targets: set --encoder to an encoder name (e.g. mobilenetv2) or a feature cache directory from \`reg prepare\``,
      );
    if (existsSync(join(config.encoder, MANIFEST_FILE))) {
      // A cache of the first N images (reg prepare --limit N) trains on those N images.
      const cache = FeatureCache.open(config.encoder);
      dataset = firstSamples(dataset, cache.length);
      cache.checkDataset(dataset);
      provider = cacheProvider(cache);
    } else {
      provider = await encoderProvider(config.encoder, model, ctx.device);
    }
    const tokens = (model.inputSize / model.patchSize) ** 2;
    const dim = model.zDims[0];
    if (provider.dim !== dim || provider.tokens !== tokens) {
      const got = `${provider.tokens} tokens of width ${provider.dim}`;
      provider.close();
      throw new DataSourceError(
        `${provider.description} gives ${got}, but the model needs ${tokens} patch tokens of width ${dim} (--encoder-dim ${dim}); match --encoder-dim and the encoder's input size`,
      );
    }
  }
  return new DatasetSource(dataset, provider, ctx);
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
};

/**
 * Makes the dataset sources (`fashion-mnist`, `emoji`, `folder`) available to `train()` as
 * `config.data`. The CLI calls it before training; a program that trains on a dataset calls it once.
 */
export function registerDatasetSources(): void {
  for (const [name, factory] of Object.entries(DATASET_SOURCES)) registerSource(name, factory);
}
