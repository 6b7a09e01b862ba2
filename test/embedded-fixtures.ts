/**
 * Embedded-dataset fixtures for the class-consistency and `reg eval --embedded` tests: the 300 committed
 * real Fashion-MNIST images as a dataset directory with both splits, and a sampling-run folder whose
 * "samples" are real test images, made by a (random) SiT checkpoint that records its training data.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { datasetImages } from '../src/eval/dataset-images.js';
import { writeNpz } from '../src/eval/npz.js';
import { writeCheckpoint } from '../src/models/checkpoint.js';
import { resolveConfig } from '../src/models/configs.js';
import { SiT } from '../src/models/sit.js';
import { fixturePath } from './fixture-path.js';

/** IDX bytes, gzipped: big-endian magic (type 0x08, `dims.length` dimensions), the sizes, then the data. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(0x0800 + dims.length, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([head, data]));
}

/** Writes `dir` as a Fashion-MNIST directory: the committed images 0–199 as the train split, 200–299 as the test split. */
export async function splitFashionMnist(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const all = loadFashionMnist({ dir: fixturePath('data/fashion-mnist'), split: 'test' });
  const pixels = new Uint8Array(all.length * 784);
  for (let i = 0; i < all.length; i++) pixels.set((await all.get(i)).pixels, i * 784);
  const labels = Uint8Array.from(all.labels);
  for (const [split, from, to] of [
    ['train', 0, 200],
    ['t10k', 200, 300],
  ] as const) {
    writeFileSync(path.join(dir, `${split}-images-idx3-ubyte.gz`), idx([to - from, 28, 28], pixels.subarray(from * 784, to * 784)));
    writeFileSync(path.join(dir, `${split}-labels-idx1-ubyte.gz`), idx([to - from], labels.subarray(from, to)));
  }
  return dir;
}

/**
 * A `reg sample` output folder `<root>/samples-<name>` (samples.npz + samples.json) whose samples are the
 * first 20 test images of `dataDir` at 32 px requested as their true classes, made by the checkpoint
 * `<root>/ck-<name>` of a tiny random SiT whose training configuration says `data`, `dataDir`;
 * `recordedBy` picks where samples.json names the checkpoint (reg sample's or reg demo's layout).
 */
export async function samplingRunFolder(
  root: string,
  name: string,
  data: string,
  dataDir: string,
  recordedBy: 'reg sample' | 'reg demo' = 'reg sample',
): Promise<string> {
  const config = resolveConfig('SiT-T/2', { inputSize: 8, depth: 1, encoderDepth: 1, inChannels: 1, zDims: [16], numClasses: 10 });
  const model = new SiT(config);
  const checkpoint = path.join(root, `ck-${name}`);
  writeCheckpoint(checkpoint, { config, model: model.stateDict(), extra: { train: { data, dataDir } } });
  model.dispose();
  const test = loadFashionMnist({ dir: dataDir, split: 'test', resolution: 32 });
  const images = await datasetImages(test, 20);
  const dir = path.join(root, `samples-${name}`);
  mkdirSync(dir);
  writeNpz(path.join(dir, 'samples.npz'), { arr_0: { dtype: 'uint8', shape: images.shape, data: images.data } });
  writeFileSync(
    path.join(dir, 'samples.json'),
    JSON.stringify({
      // reg sample records the checkpoint among its settings, reg demo beside them
      ...(recordedBy === 'reg sample' ? { settings: { checkpoint } } : { checkpoint, settings: {} }),
      labels: Array.from(test.labels.subarray(0, 20)),
    }),
  );
  return dir;
}
