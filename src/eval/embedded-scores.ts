/**
 * The scores of samples generated on an embedded dataset (Fashion-MNIST or emoji), as `reg demo`
 * reports them and `reg eval` can for any such run:
 *
 *   FD-MobileNetV2      Fréchet distance between the samples and as many real test images in the space
 *                       of MobileNetV2's mean-pooled features (not FID: another network); with the same
 *                       statistic between as many real training images and the test images, the floor a
 *                       perfect generator would reach at this sample size
 *   precision, recall   k = 3 nearest-neighbour manifolds (Kynkäänniemi et al., as the ADM evaluator) in the
 *                       same feature space against the same test images: the share of samples inside the
 *                       real manifold (fidelity) and of real images inside the samples' (diversity)
 *   class consistency   the share of samples that the dataset's classifier assigns to their requested
 *                       class (src/eval/class-consistency.ts), with the classifier's test accuracy
 *
 * Emoji has no test split: its FD reference is the images i mod 5 = 0 (the classifier's held-out set)
 * and its floor's real set the other images ({@link frechetSplits}), so that the floor compares two
 * disjoint real sets, not the whole set with itself (which printed −0.000).
 */
import { samplesAt, type ImageDataset } from '../data/dataset.js';
import { loadEmoji } from '../data/emoji.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { createEncoder, type RepresentationEncoder } from '../models/encoders/encoder.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import {
  classConsistency,
  embeddedClassifier,
  type ClassConsistency,
  type ClassifierRecord,
  type EmbeddedDataset,
} from './class-consistency.js';
import { datasetImages, type RgbBatch } from './dataset-images.js';
import { classTokens } from './feature-pass.js';
import { frechetDistance, gaussianStats } from './frechet.js';
import { precisionRecall } from './precision-recall.js';

/**
 * MobileNetV2's input side in the FD-MobileNetV2 protocol of `reg demo`, `reg eval --embedded` and
 * `reg study`: 64 px, whatever size the training targets were encoded at, so that the numbers of runs
 * with other target sizes stay comparable.
 */
export const FD_INPUT_SIZE = 64;

/**
 * The MobileNetV2 of the FD protocol: `encoder` itself when it is MobileNetV2 at {@link FD_INPUT_SIZE}, else
 * a new one (from `o.weights` when given); `dispose` frees only what this function created.
 */
export async function frechetEncoder(
  encoder: RepresentationEncoder,
  o: { weights?: string; log?: (line: string) => void } = {},
): Promise<{ encoder: RepresentationEncoder; dispose: () => void }> {
  if (encoder.name === 'mobilenetv2' && encoder.inputSize === FD_INPUT_SIZE) return { encoder, dispose: () => undefined };
  const own = await createEncoder('mobilenetv2', { inputSize: FD_INPUT_SIZE, ...o });
  return { encoder: own, dispose: () => own.dispose() };
}

/** The encoder's {@link classTokens} (N, C) of uint8 NHWC images (N, H, W, 3), in batches. */
export function pooledFeatures(encoder: RepresentationEncoder, images: RgbBatch, batch = 64): Tensor {
  const [n, h, w, c] = images.shape as [number, number, number, number];
  const parts: Tensor[] = [];
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    parts.push(
      torch.scope(() => {
        return classTokens(encoder, torch.fromBytes(images.data.subarray(i * h * w * c, (i + m) * h * w * c), 'uint8', [m, h, w, c]));
      }),
    );
  }
  const all = torch.cat(parts, 0);
  for (const p of parts) p.dispose();
  return all;
}

/**
 * The reference (`test`) and floor (`train`) sets of the Fréchet distance: the splits themselves for
 * Fashion-MNIST; for emoji, which has no test split (`test` and `train` are the whole set), the images
 * i mod 5 = 0 of `train` and the others.
 */
export function frechetSplits(
  dataset: EmbeddedDataset,
  test: ImageDataset,
  train: ImageDataset,
): { test: ImageDataset; train: ImageDataset } {
  if (dataset === 'fashion-mnist') return { test, train };
  const all = Array.from({ length: train.length }, (_, i) => i);
  return {
    test: samplesAt(
      train,
      all.filter((i) => i % 5 === 0),
      `${train.name} (images i mod 5 = 0)`,
    ),
    train: samplesAt(
      train,
      all.filter((i) => i % 5 !== 0),
      `${train.name} (images i mod 5 ≠ 0)`,
    ),
  };
}

/** FD-MobileNetV2 of a set of samples with its floor, and precision/recall against the same real images. */
export interface FeatureScores {
  /** Fréchet distance of the samples to the first N test images. */
  value: number;
  /** The same for the first N training images: the floor at this sample size. */
  realVsReal: number;
  /** Share of samples inside the test images' k = 3 manifold. */
  precision: number;
  /** Share of test images inside the samples' k = 3 manifold. */
  recall: number;
}

/** {@link FeatureScores} of `samples` against the first N `test` images (floor: the first N `train` images against the same). */
export async function featureScores(
  encoder: RepresentationEncoder,
  samples: RgbBatch,
  test: ImageDataset,
  train: ImageDataset,
): Promise<FeatureScores> {
  const n = samples.shape[0]!;
  const testImages = await datasetImages(test, n);
  const trainImages = await datasetImages(train, n);
  return torch.scope(() => {
    const [fake, real, floor] = [samples, testImages, trainImages].map((x) => pooledFeatures(encoder, x)) as [Tensor, Tensor, Tensor];
    const realStats = gaussianStats(real);
    return {
      value: frechetDistance(gaussianStats(fake), realStats),
      realVsReal: frechetDistance(gaussianStats(floor), realStats),
      ...precisionRecall(real, fake, { k: 3 }),
    };
  });
}

/** What {@link embeddedSampleScores} needs. */
export interface EmbeddedSampleScoresOptions {
  dataset: EmbeddedDataset;
  /** uint8 RGB samples (N, S, S, 3), e.g. `arr_0` of a samples.npz. */
  samples: RgbBatch;
  /** The class each sample was generated for (samples.json `labels`). */
  labels: Int32Array;
  /** The dataset's directory (default: the installed package). */
  dataDir?: string;
  /** MobileNetV2 weights folder (default: the cached nsfwjs conversion). */
  encoderWeights?: string;
  /** Directory of the cached classifiers (default `<cache>/classifiers`). */
  classifierCacheDir?: string;
  log?: (line: string) => void;
}

/** The scores of the file comment. */
export interface EmbeddedSampleScores {
  frechet: { metric: string; samples: number; reference: string } & FeatureScores;
  classConsistency: ClassConsistency & { classifier: { file: string; record: ClassifierRecord } };
}

/** FD-MobileNetV2 (with its floor) and class consistency of samples of an embedded-dataset run. */
export async function embeddedSampleScores(o: EmbeddedSampleScoresOptions): Promise<EmbeddedSampleScores> {
  const [n, size] = o.samples.shape as [number, number];
  const dir = o.dataDir ? { dir: o.dataDir } : {};
  const open = (split: 'train' | 'test'): ImageDataset | Promise<ImageDataset> =>
    o.dataset === 'fashion-mnist'
      ? loadFashionMnist({ split, resolution: size, fit: size >= 28 ? 'pad' : 'resize', ...dir })
      : loadEmoji({ labels: 'category', resolution: size, ...dir });
  const { train, test } = frechetSplits(o.dataset, await open('test'), await open('train'));
  const encoder = await createEncoder('mobilenetv2', {
    inputSize: FD_INPUT_SIZE,
    ...(o.encoderWeights ? { weights: o.encoderWeights } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  let fd: FeatureScores;
  try {
    fd = await featureScores(encoder, o.samples, test, train);
  } finally {
    encoder.dispose();
  }
  return {
    frechet: {
      metric: 'Fréchet distance in MobileNetV2 block_10 mean-pooled feature space (FD-MobileNetV2; not FID)',
      samples: n,
      reference: `${test.name} (first ${Math.min(n, test.length)})`,
      ...fd,
    },
    classConsistency: await sampleClassConsistency(o.dataset, o.samples, o.labels, o),
  };
}

/** Class consistency of uint8 RGB samples (N, S, S, 3) with the dataset's cached (or newly trained) classifier at side S. */
export async function sampleClassConsistency(
  dataset: EmbeddedDataset,
  samples: RgbBatch,
  labels: Int32Array,
  o: Pick<EmbeddedSampleScoresOptions, 'dataDir' | 'classifierCacheDir' | 'log'> = {},
): Promise<EmbeddedSampleScores['classConsistency']> {
  const size = samples.shape[1]!;
  const { classifier, record, file } = await embeddedClassifier(dataset, size, {
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(o.classifierCacheDir ? { cacheDir: o.classifierCacheDir } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  try {
    const consistency = torch.scope(() => classConsistency(classifier, torch.fromBytes(samples.data, 'uint8', samples.shape), labels));
    return { ...consistency, classifier: { file, record } };
  } finally {
    classifier.dispose();
  }
}
