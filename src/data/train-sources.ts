/**
 * Training sources over real datasets, added to the trainer's source registry (src/train/data.ts) by
 * {@link registerDatasetSources} (the lower layer never imports this one):
 *
 *   fashion-mnist   Debian's dataset-fashion-mnist (grey; 3 channels when the model has 3)
 *   emoji           emoji-datasource-google, category labels, RGB on white
 *   emoji-subcategory  the same images, subcategory labels
 *   emoji-name      the same images, one class per emoji (its short name)
 *   folder          one subfolder per class under `dataDir` (ImageNet layout, ADM center crop)
 *   imagenet256     the paper's setting: 256-px images as autoencoder latents (latent-source.ts)
 *
 * Pixel-space training: images become x = pixels/127.5 − 1 in [−1, 1] at the model's input size.
 * Encoder targets come from a feature cache made by `reg prepare` (`encoder` = the cache directory)
 * or from an encoder run on every batch (`encoder` = an encoder name such as `mobilenetv2`); the
 * loader, the targets and the resumable position are dataset-source.ts's.
 */
import { DataSourceError, registerSource, type BatchSource, type SourceContext, type SourceFactory } from '../train/data.js';
import type { ImageDataset } from './dataset.js';
import { fineEmojiLabels, fineEmojiSourceName, type FineEmojiLabels } from './emoji.js';
import { DatasetSource, openTargets } from './dataset-source.js';
import { imagenet256Source } from './latent-source.js';
import { openDataset, type DatasetSpec } from './open.js';

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

/** The emoji images under a labelling finer than the category ({@link fineEmojiLabels}). */
const fineEmojiSource =
  (labels: FineEmojiLabels): SourceFactory =>
  (ctx) =>
    datasetSource(
      {
        kind: 'emoji',
        ...fineEmojiLabels(labels),
        resolution: ctx.model.inputSize,
        ...(ctx.config.dataDir ? { dir: ctx.config.dataDir } : {}),
      },
      ctx,
    );

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
  /** The same emoji images labelled by subcategory ({@link fineEmojiLabels}: 98 finer classes). */
  [fineEmojiSourceName('subcategory')]: fineEmojiSource('subcategory'),
  /** The same emoji images, each its own class ({@link fineEmojiLabels}: 1,906 classes). */
  [fineEmojiSourceName('name')]: fineEmojiSource('name'),
  /** A folder with one subfolder per class (ImageNet layout), ADM center crop to the model input size. */
  folder: (ctx) => {
    if (!ctx.config.dataDir) throw new DataSourceError('--data folder needs --data-dir <directory with one subfolder per class>');
    return datasetSource({ kind: 'image-folder', root: ctx.config.dataDir, resolution: ctx.model.inputSize }, ctx);
  },
  /** ImageNet 256×256 in autoencoder latents (the paper presets configs/sit-*-imagenet256.json). */
  imagenet256: imagenet256Source,
};

/**
 * Makes the dataset sources (`fashion-mnist`, `emoji`, `emoji-subcategory`, `emoji-name`, `folder`, `imagenet256`) available to `train()` as
 * `config.data`. The CLI calls it before training; a program that trains on a dataset calls it once.
 */
export function registerDatasetSources(): void {
  for (const [name, factory] of Object.entries(DATASET_SOURCES)) registerSource(name, factory);
}
