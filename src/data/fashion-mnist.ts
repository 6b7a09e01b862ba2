/**
 * Fashion-MNIST (Xiao et al. 2017; 60,000 train + 10,000 test grayscale 28×28 images, 10 classes, MIT)
 * read from its IDX files, by default those of the Debian package `dataset-fashion-mnist`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageDataset } from './dataset.js';
import { readIdxFile, type IdxArray } from './idx.js';
import { InMemoryDataset } from './memory-dataset.js';
import { padCenterChw, replicatePlane } from './pixels.js';
import { resizeHWC } from './resample.js';

/** Where Debian's `dataset-fashion-mnist` installs the IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The Debian package that provides {@link FASHION_MNIST_DIR}. */
export const FASHION_MNIST_DEBIAN_PACKAGE = 'dataset-fashion-mnist';

/** The ten standard class names, indexed by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Native image side of Fashion-MNIST. */
export const FASHION_MNIST_SIZE = 28;

/** Base names of the IDX files of each split (a `.gz` suffix is tried first). */
export const FASHION_MNIST_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/** Options of {@link loadFashionMnist}. */
export interface FashionMnistOptions {
  /** Directory holding the IDX files (default {@link FASHION_MNIST_DIR}). */
  readonly dir?: string;
  /** Which split (default `train`). */
  readonly split?: 'train' | 'test';
  /** Side of the delivered square images (default 28). */
  readonly resolution?: number;
  /**
   * How to reach `resolution`: `pad` centres the 28×28 image on black (needs resolution ≥ 28),
   * `resize` uses Pillow-exact bicubic resampling. Default: `pad` when resolution ≥ 28, else `resize`.
   */
  readonly fit?: 'pad' | 'resize';
  /** 1 (grayscale, default) or 3 (gray replicated to RGB, e.g. for an ImageNet encoder). */
  readonly channels?: 1 | 3;
  /** Keep only the first `limit` images. */
  readonly limit?: number;
}

function findIdx(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new Error(
    `Fashion-MNIST file not found: ${join(dir, `${base}.gz`)} (nor without .gz). ` +
      `Install the Debian package (apt-get install ${FASHION_MNIST_DEBIAN_PACKAGE}) or pass the directory ` +
      `that holds the IDX files.`,
  );
}

function expectShape(arr: IdxArray, path: string, dims: number): void {
  if (arr.dtype !== 'uint8' || arr.shape.length !== dims) {
    throw new Error(`${path}: expected a ${dims}-d uint8 IDX array, got ${arr.dtype} [${arr.shape.join(', ')}]`);
  }
}

/**
 * Loads one split of Fashion-MNIST into memory (28×28 bytes per image) and returns it as an
 * {@link ImageDataset}; padding, resizing and channel replication happen per sample in `get`.
 */
export function loadFashionMnist(options: FashionMnistOptions = {}): ImageDataset {
  const dir = options.dir ?? FASHION_MNIST_DIR;
  const split = options.split ?? 'train';
  if (!existsSync(dir)) {
    throw new Error(
      `Fashion-MNIST directory not found: ${dir}. Install the Debian package ` +
        `(apt-get install ${FASHION_MNIST_DEBIAN_PACKAGE}) or pass the directory that holds the IDX files.`,
    );
  }
  const imagesPath = findIdx(dir, FASHION_MNIST_FILES[split].images);
  const labelsPath = findIdx(dir, FASHION_MNIST_FILES[split].labels);
  const images = readIdxFile(imagesPath);
  const labelsIdx = readIdxFile(labelsPath);
  expectShape(images, imagesPath, 3);
  expectShape(labelsIdx, labelsPath, 1);
  const [n, h, w] = images.shape as [number, number, number];
  if (h !== FASHION_MNIST_SIZE || w !== FASHION_MNIST_SIZE) {
    throw new Error(`${imagesPath}: expected 28×28 images, got ${h}×${w}`);
  }
  if (labelsIdx.shape[0] !== n) {
    throw new Error(`${labelsPath}: ${labelsIdx.shape[0]} labels for ${n} images in ${imagesPath}`);
  }
  const count = Math.min(n, options.limit ?? n);
  const labels = Int32Array.from((labelsIdx.data as Uint8Array).subarray(0, count));
  const bad = labels.findIndex((l) => l >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) throw new Error(`${labelsPath}: label ${labels[bad]} at index ${bad} is not in [0, 10)`);

  const res = options.resolution ?? FASHION_MNIST_SIZE;
  const fit = options.fit ?? (res >= FASHION_MNIST_SIZE ? 'pad' : 'resize');
  const channels = options.channels ?? 1;
  if (!Number.isInteger(res) || res < 1) throw new RangeError(`Fashion-MNIST: bad resolution ${res}`);
  if (fit === 'pad' && res < FASHION_MNIST_SIZE) {
    throw new RangeError(`Fashion-MNIST: cannot pad 28×28 images to ${res}×${res}; use fit: 'resize'`);
  }
  const place =
    res === FASHION_MNIST_SIZE
      ? (img: Uint8Array) => img.slice()
      : fit === 'pad'
        ? (img: Uint8Array) => padCenterChw(img, 1, h, w, res, res, 0)
        : (img: Uint8Array) => resizeHWC(img, w, h, 1, res, res, 'bicubic');
  const transform = channels === 1 ? place : (img: Uint8Array) => replicatePlane(place(img), channels);
  return new InMemoryDataset({
    name: `fashion-mnist/${split}`,
    classNames: FASHION_MNIST_CLASSES,
    labels,
    pixels: (images.data as Uint8Array).subarray(0, count * h * w),
    stored: { channels: 1, height: h, width: w },
    output: { channels, height: res, width: res },
    transform,
  });
}
