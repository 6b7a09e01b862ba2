/**
 * The data loader alone: images/s of each dataset through the in-process BatchLoader and the
 * worker-thread WorkerBatchLoader, and how long `next()` keeps a consumer waiting when the consumer
 * blocks its thread between calls, as a synchronous libtorch training step does.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/loader.js [--batches N] [--step-ms MS]
 *
 * Datasets: Fashion-MNIST train at 32×32×3 (Debian package; skipped when absent), emoji at 64×64
 * (npm package), and an image folder of symlinks to the emoji PNGs, decoded and center-cropped to
 * 32×32 on every get.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultEmojiDir } from '../src/data/emoji.js';
import { FASHION_MNIST_DIR } from '../src/data/fashion-mnist.js';
import { BatchLoader, type Batch, type BatchLoaderOptions, type LoaderPosition } from '../src/data/loader.js';
import { openDataset, type DatasetSpec } from '../src/data/open.js';
import { WorkerBatchLoader } from '../src/data/worker-loader.js';

interface Source {
  next(): Promise<Batch>;
  readonly position: LoaderPosition;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const seconds = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/** Blocks the thread for `ms`, like a synchronous native training step. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

async function measure(label: string, loader: Source, batchSize: number, batches: number, stepMs: number): Promise<void> {
  await loader.next(); // warm-up
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < batches; i++) await loader.next();
  const rate = (batches * batchSize) / seconds(t0);
  let waited = 0;
  for (let i = 0; i < batches; i++) {
    busy(stepMs);
    t0 = process.hrtime.bigint();
    await loader.next();
    waited += seconds(t0);
  }
  const wait = ((1000 * waited) / batches).toFixed(2);
  console.log(`${label.padEnd(36)} B=${String(batchSize).padEnd(4)} ${rate.toFixed(0).padStart(7)} img/s   wait after a ${stepMs} ms step: ${wait} ms/batch`);
}

async function both(name: string, spec: DatasetSpec, options: BatchLoaderOptions, batches: number, stepMs: number): Promise<void> {
  const local = new BatchLoader(await openDataset(spec), options);
  await measure(`${name} in-process`, local, options.batchSize, batches, stepMs);
  local.close();
  const worker = await WorkerBatchLoader.start(spec, options);
  await measure(`${name} worker thread`, worker, options.batchSize, batches, stepMs);
  await worker.close();
}

/** An ImageNet-style tree of symlinks to the emoji PNGs, spread over 10 class folders. */
function emojiFolder(): string {
  const src = join(defaultEmojiDir(), 'img', 'google', '64');
  const root = mkdtempSync(join(tmpdir(), 'reg-bench-folder-'));
  readdirSync(src)
    .sort()
    .forEach((f, i) => {
      const cls = join(root, `class${i % 10}`);
      mkdirSync(cls, { recursive: true });
      symlinkSync(join(src, f), join(cls, f));
    });
  return root;
}

const batches = arg('--batches', 40);
const stepMs = arg('--step-ms', 100);
console.log(`loader benchmark: ${batches} batches per measurement, prefetch 2, consumer step ${stepMs} ms`);
if (existsSync(FASHION_MNIST_DIR)) {
  const spec: DatasetSpec = { kind: 'fashion-mnist', split: 'train', resolution: 32, channels: 3 };
  await both('fashion-mnist 3×32×32', spec, { batchSize: 256 }, batches, stepMs);
} else {
  console.log(`fashion-mnist: skipped (${FASHION_MNIST_DIR} missing)`);
}
await both('emoji 3×64×64', { kind: 'emoji' }, { batchSize: 256 }, batches, stepMs);
const folder: DatasetSpec = { kind: 'image-folder', root: emojiFolder(), resolution: 32 };
await both('image folder (decode+crop) 3×32×32', folder, { batchSize: 64 }, Math.ceil(batches / 4), stepMs);
