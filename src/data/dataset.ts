/**
 * The one interface every image dataset implements, and small helpers over it.
 *
 * Pixels are uint8, channel-major (CHW): `pixels[c*H*W + y*W + x]`. Conversion to tensors and scaling
 * into a model's range happen elsewhere; datasets only deliver bytes and integer labels.
 */

/** One decoded image with its class label. */
export interface ImageSample {
  /** uint8 pixels in CHW order, length `channels * height * width`. */
  readonly pixels: Uint8Array;
  /** Class index in `[0, numClasses)`. */
  readonly label: number;
}

/**
 * A finite, indexable, labelled image dataset of fixed shape.
 *
 * `get` is asynchronous so that datasets which decode files (through sharp's thread pool) and datasets
 * held in memory share one contract; `labels` is known without decoding anything.
 */
export interface ImageDataset {
  /** Short human-readable name, e.g. `fashion-mnist/train`. */
  readonly name: string;
  /** Number of samples. */
  readonly length: number;
  /** Channels per image (1 = grayscale, 3 = RGB). */
  readonly channels: number;
  /** Image height in pixels. */
  readonly height: number;
  /** Image width in pixels. */
  readonly width: number;
  /** Number of classes; labels lie in `[0, numClasses)`. */
  readonly numClasses: number;
  /** Class names, indexed by label. */
  readonly classNames: readonly string[];
  /** The label of every sample, indexed like `get`. */
  readonly labels: Int32Array;
  /** Decodes sample `index` (0 ≤ index < length). */
  get(index: number): Promise<ImageSample>;
}

/** Bytes of one image of `dataset`: `channels * height * width`. */
export function imageBytes(dataset: Pick<ImageDataset, 'channels' | 'height' | 'width'>): number {
  return dataset.channels * dataset.height * dataset.width;
}

/** Throws a RangeError unless `index` is an integer in `[0, length)`. */
export function checkIndex(index: number, length: number, name: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new RangeError(`${name}: index ${index} out of range [0, ${length})`);
  }
}

/** The first `count` samples of `dataset` (the dataset itself when it has no more than that). */
export function firstSamples(dataset: ImageDataset, count: number): ImageDataset {
  if (count >= dataset.length) return dataset;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`${dataset.name}: cannot take the first ${count} samples`);
  return {
    name: `${dataset.name}[:${count}]`,
    length: count,
    channels: dataset.channels,
    height: dataset.height,
    width: dataset.width,
    numClasses: dataset.numClasses,
    classNames: dataset.classNames,
    labels: dataset.labels.subarray(0, count),
    get(index: number) {
      checkIndex(index, count, this.name);
      return dataset.get(index);
    },
  };
}

/** The samples `indices` of `dataset`, in that order, as a dataset named `name`. */
export function samplesAt(dataset: ImageDataset, indices: readonly number[], name: string): ImageDataset {
  for (const i of indices) checkIndex(i, dataset.length, dataset.name);
  return {
    name,
    length: indices.length,
    channels: dataset.channels,
    height: dataset.height,
    width: dataset.width,
    numClasses: dataset.numClasses,
    classNames: dataset.classNames,
    labels: Int32Array.from(indices, (i) => dataset.labels[i]!),
    get(index: number) {
      checkIndex(index, indices.length, name);
      return dataset.get(indices[index]!);
    },
  };
}
