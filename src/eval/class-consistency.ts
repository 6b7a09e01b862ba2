/**
 * Class consistency on the embedded datasets: the share of generated samples that a small classifier
 * trained by reg-ts ({@link SmallCnn}) assigns to the class they were generated for,
 *
 *   consistency = (1/N) Σᵢ [argmax_c classifier(sampleᵢ) = yᵢ]
 *
 * with the classifier's own test accuracy reported next to it (the score cannot exceed what the
 * classifier gets right on real images by much). The classifier of a (dataset, image size) is trained
 * once per machine and cached in `<cache>/classifiers/` (the cache of the converted encoder weights:
 * `$REG_CACHE`, default ~/.cache/reg-ts), as safetensors whose metadata `record` holds the settings,
 * a sha256 of the training and test images and the test accuracy.
 *
 *   fashion-mnist   trained on the train split (60,000), tested on the test split (10,000)
 *   emoji           no test split: images i with i mod 5 = 0 (Unicode order, every class) are held out
 *                   for the test accuracy, the other 80 % train the classifier
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ImageDataset } from '../data/dataset.js';
import { loadEmoji } from '../data/emoji.js';
import { FASHION_MNIST_SIZE, loadFashionMnist } from '../data/fashion-mnist.js';
import { cacheDir } from '../models/encoders/tfjs/npm-tarball.js';
import { init } from '../nn/index.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { loadSafetensors, saveSafetensors } from '../torch/io/index.js';
import { mixSeed } from '../train/data.js';
import { regTsVersion } from '../util/version.js';
import { datasetImagesAt, type RgbBatch } from './dataset-images.js';
import { accuracy, fitClassifier, predictClasses, type FitSettings } from './fit-classifier.js';
import { SmallCnn } from './image-classifier.js';

/** The datasets with a class-consistency classifier. */
export type EmbeddedDataset = 'fashion-mnist' | 'emoji';

/** Format tag of the cached classifier's record. */
export const CLASSIFIER_FORMAT = 'reg-ts/class-consistency-classifier@1';

/** Training settings of each dataset's classifier (emoji is 30× smaller: more epochs). */
export const CLASSIFIER_SETTINGS: Readonly<Record<EmbeddedDataset, Readonly<FitSettings>>> = {
  'fashion-mnist': { epochs: 3, batchSize: 128, learningRate: 1e-3, weightDecay: 0, seed: 0 },
  emoji: { epochs: 40, batchSize: 64, learningRate: 1e-3, weightDecay: 0, seed: 0 },
};

/** What the cached file's metadata records. */
export interface ClassifierRecord {
  format: typeof CLASSIFIER_FORMAT;
  dataset: EmbeddedDataset;
  /** Image side S of the classifier's input (N, S, S, 3). */
  resolution: number;
  channels: 1 | 3;
  classNames: readonly string[];
  settings: FitSettings;
  /** sha256 of the training and test images and labels. */
  dataSha256: string;
  trainImages: number;
  testImages: number;
  /** How the test images were chosen. */
  testSplit: string;
  testAccuracy: number;
  trainAccuracy: number;
  trainSeconds: number;
  regTs: string;
}

/** Options of {@link embeddedClassifier}. */
export interface EmbeddedClassifierOptions {
  /** The dataset's directory (default: the installed package). */
  dataDir?: string;
  /** Directory of the cached classifiers (default `<cache>/classifiers`). */
  cacheDir?: string;
  /** Overrides of the training settings. */
  settings?: Partial<FitSettings>;
  /** Progress lines. */
  log?: (line: string) => void;
  /** A progress bar while training (default true). */
  progress?: boolean;
}

/** A trained classifier and its record. */
export interface EmbeddedClassifier {
  classifier: SmallCnn;
  record: ClassifierRecord;
  /** The cache file. */
  file: string;
  /** True when it was read from the cache. */
  reused: boolean;
}

/** Labelled images of one split. */
interface Split {
  images: RgbBatch;
  labels: Int32Array;
}

async function splitOf(ds: ImageDataset, indices: number[]): Promise<Split> {
  return { images: await datasetImagesAt(ds, indices), labels: Int32Array.from(indices, (i) => ds.labels[i]!) };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The training and test images of a dataset's classifier, at side `resolution` (file comment). */
async function classifierData(
  dataset: EmbeddedDataset,
  resolution: number,
  dataDir: string | undefined,
): Promise<{ train: Split; test: Split; classNames: readonly string[]; testSplit: string }> {
  const dir = dataDir ? { dir: dataDir } : {};
  if (dataset === 'fashion-mnist') {
    const fit = resolution >= FASHION_MNIST_SIZE ? 'pad' : 'resize';
    const open = (split: 'train' | 'test') => loadFashionMnist({ split, resolution, fit, ...dir });
    const [train, test] = [open('train'), open('test')];
    return {
      train: await splitOf(train, range(train.length)),
      test: await splitOf(test, range(test.length)),
      classNames: train.classNames,
      testSplit: `the test split (${fit} to ${resolution})`,
    };
  }
  const ds = await loadEmoji({ labels: 'category', resolution, ...dir });
  const all = range(ds.length);
  return {
    train: await splitOf(
      ds,
      all.filter((i) => i % 5 !== 0),
    ),
    test: await splitOf(
      ds,
      all.filter((i) => i % 5 === 0),
    ),
    classNames: ds.classNames,
    testSplit: 'images i mod 5 = 0 of the whole set (emoji has no test split), held out from training',
  };
}

function sha256Of(splits: readonly Split[]): string {
  const h = createHash('sha256');
  for (const s of splits) {
    h.update(s.images.data);
    h.update(new Uint8Array(s.labels.buffer, s.labels.byteOffset, s.labels.byteLength));
  }
  return h.digest('hex');
}

const toTensor = (b: RgbBatch): Tensor => torch.fromBytes(b.data, 'uint8', b.shape);

/** Reads a cached classifier whose record matches `want`; null when absent, unreadable or stale. */
function readCached(
  file: string,
  want: Omit<ClassifierRecord, 'testAccuracy' | 'trainAccuracy' | 'trainSeconds' | 'regTs'>,
  log?: (l: string) => void,
): EmbeddedClassifier | null {
  if (!existsSync(file)) return null;
  try {
    const { tensors, metadata } = loadSafetensors(file);
    const record = JSON.parse(metadata['record'] ?? 'null') as ClassifierRecord;
    const same = Object.entries(want).every(([k, v]) => JSON.stringify(record[k as keyof ClassifierRecord]) === JSON.stringify(v));
    if (!same) {
      for (const t of tensors.values()) t.dispose();
      log?.(`ignoring ${file}: made with other settings or data`);
      return null;
    }
    const classifier = init.skipInit(
      () => new SmallCnn({ channels: record.channels, size: record.resolution, numClasses: record.classNames.length }),
    );
    classifier.loadStateDict(tensors);
    for (const t of tensors.values()) t.dispose();
    classifier.eval();
    return { classifier, record, file, reused: true };
  } catch (err) {
    log?.(`ignoring unreadable ${file} (${(err as Error).message}); training again`);
    return null;
  }
}

/**
 * The class-consistency classifier of `dataset` at image side `resolution`: from the cache when it holds
 * one made with the same settings and data, else trained now (seconds for emoji, a minute or two for
 * Fashion-MNIST on two CPU cores) and cached.
 */
export async function embeddedClassifier(
  dataset: EmbeddedDataset,
  resolution: number,
  o: EmbeddedClassifierOptions = {},
): Promise<EmbeddedClassifier> {
  const settings: FitSettings = { ...CLASSIFIER_SETTINGS[dataset], ...o.settings };
  const channels = dataset === 'fashion-mnist' ? 1 : 3;
  const data = await classifierData(dataset, resolution, o.dataDir);
  const want = {
    format: CLASSIFIER_FORMAT,
    dataset,
    resolution,
    channels,
    classNames: data.classNames,
    settings,
    dataSha256: sha256Of([data.train, data.test]),
    trainImages: data.train.labels.length,
    testImages: data.test.labels.length,
    testSplit: data.testSplit,
  } as const;
  const key = createHash('sha256').update(JSON.stringify(want)).digest('hex').slice(0, 16);
  const file = path.join(o.cacheDir ?? path.join(cacheDir(), 'classifiers'), `${dataset}-${resolution}px-${key}.safetensors`);
  const cached = readCached(file, want, o.log);
  if (cached) {
    o.log?.(`class-consistency classifier from ${file} (test accuracy ${(cached.record.testAccuracy * 100).toFixed(2)} %)`);
    return cached;
  }
  o.log?.(`training the class-consistency classifier on ${want.trainImages} ${dataset} images (${settings.epochs} epochs) → ${file}`);
  const classifier = new SmallCnn(
    { channels, size: resolution, numClasses: data.classNames.length },
    new torch.Generator(mixSeed(settings.seed, 0xc1a0)),
  );
  const start = performance.now();
  const record = torch.scope(() => {
    const trainImages = toTensor(data.train.images);
    const testImages = toTensor(data.test.images);
    const prepare = (x: Tensor) => classifier.inputOf(x);
    fitClassifier(classifier, trainImages, torch.tensor(Array.from(data.train.labels), { dtype: 'int64' }), settings, {
      prepare,
      ...(o.progress === false ? {} : { progress: `train ${dataset} classifier` }),
    });
    const trainSeconds = (performance.now() - start) / 1000;
    return {
      ...want,
      testAccuracy: accuracy(predictClasses(classifier, testImages, { prepare }), data.test.labels),
      trainAccuracy: accuracy(predictClasses(classifier, trainImages, { prepare }), data.train.labels),
      trainSeconds,
      regTs: regTsVersion(),
    } satisfies ClassifierRecord;
  });
  saveSafetensors(file, classifier.stateDict(), { format: CLASSIFIER_FORMAT, record: JSON.stringify(record) });
  o.log?.(
    `test accuracy ${(record.testAccuracy * 100).toFixed(2)} % (${record.testSplit}); trained in ${record.trainSeconds.toFixed(1)} s`,
  );
  return { classifier, record, file, reused: false };
}

/** What {@link classConsistency} measured. */
export interface ClassConsistency {
  /** Share of samples classified as their requested class. */
  score: number;
  /** The same share for each requested class (NaN for a class without samples). */
  perClass: number[];
  samples: number;
}

/**
 * Class consistency (file comment) of uint8 RGB `samples` (N, S, S, 3) generated for `labels` (N).
 */
export function classConsistency(classifier: SmallCnn, samples: Tensor, labels: Int32Array): ClassConsistency {
  const n = samples.shape[0]!;
  if (labels.length !== n) throw new RangeError(`class consistency: ${n} samples but ${labels.length} requested labels`);
  const k = classifier.shape.numClasses;
  const bad = labels.findIndex((l) => !(l >= 0 && l < k));
  if (bad >= 0) throw new RangeError(`class consistency: requested label ${labels[bad]} at index ${bad} is not in [0, ${k})`);
  const predicted = predictClasses(classifier, samples, { prepare: (x) => classifier.inputOf(x) });
  const hits = new Array<number>(k).fill(0);
  const counts = new Array<number>(k).fill(0);
  labels.forEach((l, i) => {
    counts[l]!++;
    if (predicted[i] === l) hits[l]!++;
  });
  return { score: accuracy(predicted, labels), perClass: hits.map((h, c) => h / counts[c]!), samples: n };
}
