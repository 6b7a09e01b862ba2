/**
 * Batch loader: walks a dataset in a seeded per-epoch order, assembles uint8 batches, and keeps
 * `prefetch` batches loading ahead so the training loop rarely waits. Its position (epoch, index) is
 * a plain value to store in checkpoints; a loader started from a stored position yields exactly the
 * batches the original would have yielded next.
 *
 * Distributed runs: every rank uses the same permutation; a global batch of `batchSize·worldSize`
 * consecutive permuted indices is split by striding (rank r takes elements r, r+W, …), as PyTorch's
 * DistributedSampler does.
 */
import { shardPositions } from '../util/shard.js';
import { imageBytes, type ImageDataset } from './dataset.js';
import { forEachConcurrent } from './pool.js';
import { epochPermutation } from './shuffle.js';

/** Where a loader stands: `index` samples of `epoch`'s global order have been handed out. */
export interface LoaderPosition {
  readonly epoch: number;
  readonly index: number;
}

/** One batch of uint8 CHW images. */
export interface Batch {
  /** `size · C·H·W` bytes, images back to back in CHW order. */
  readonly images: Uint8Array;
  /** `size` labels. */
  readonly labels: Int32Array;
  /** The dataset index of each image. */
  readonly indices: Int32Array;
  /** Number of images (smaller than the batch size only for the last batch when `dropLast` is off). */
  readonly size: number;
  /** Epoch the batch belongs to. */
  readonly epoch: number;
}

/** Options of {@link BatchLoader}. */
export interface BatchLoaderOptions {
  /** Images per batch on this rank. */
  readonly batchSize: number;
  /** Seed of the per-epoch permutations (default 0). */
  readonly seed?: number;
  /** Shuffle each epoch (default true); otherwise dataset order. */
  readonly shuffle?: boolean;
  /** Drop each epoch's final incomplete global batch (default true, as the official trainer does). */
  readonly dropLast?: boolean;
  /** Batches loaded ahead of the consumer (default 2). */
  readonly prefetch?: number;
  /** Samples decoded concurrently per batch (default 16). */
  readonly concurrency?: number;
  /** Position to start from (default epoch 0, index 0). */
  readonly start?: LoaderPosition;
  /** This process's rank (default 0). */
  readonly rank?: number;
  /** Number of ranks (default 1). */
  readonly worldSize?: number;
}

/** The dataset indices of one batch and the position after it. */
export interface BatchPlan {
  readonly epoch: number;
  readonly indices: Int32Array;
  readonly end: LoaderPosition;
}

/**
 * Pure batch planning: which dataset indices the batch at `position` holds on `rank`.
 * Separated from loading so that it is testable on its own.
 */
export class BatchPlanner {
  readonly #length: number;
  readonly #globalBatch: number;
  readonly #perEpoch: number;
  readonly #seed: number;
  readonly #shuffle: boolean;
  readonly #rank: number;
  readonly #worldSize: number;
  #perm: { epoch: number; order: Uint32Array } | undefined;

  constructor(length: number, options: BatchLoaderOptions) {
    const { batchSize, seed = 0, shuffle = true, dropLast = true, rank = 0, worldSize = 1 } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be ≥ 1, got ${batchSize}`);
    if (!Number.isInteger(worldSize) || worldSize < 1 || !Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
      throw new RangeError(`bad rank ${rank} / worldSize ${worldSize}`);
    }
    this.#length = length;
    this.#globalBatch = batchSize * worldSize;
    this.#perEpoch = dropLast ? Math.floor(length / this.#globalBatch) * this.#globalBatch : length;
    if (this.#perEpoch === 0) {
      throw new RangeError(`dataset of ${length} images holds no full global batch of ${this.#globalBatch}`);
    }
    this.#seed = seed;
    this.#shuffle = shuffle;
    this.#rank = rank;
    this.#worldSize = worldSize;
  }

  /** Global batches per epoch. */
  get batchesPerEpoch(): number {
    return Math.ceil(this.#perEpoch / this.#globalBatch);
  }

  /** `position` with an exhausted epoch rolled over to the start of the next one; validates it. */
  normalize(position: LoaderPosition): LoaderPosition {
    const { epoch, index } = position;
    if (!Number.isSafeInteger(epoch) || epoch < 0 || !Number.isSafeInteger(index) || index < 0 || index > this.#perEpoch) {
      throw new RangeError(`bad loader position epoch ${epoch}, index ${index} (epoch size ${this.#perEpoch})`);
    }
    return index === this.#perEpoch ? { epoch: epoch + 1, index: 0 } : { epoch, index };
  }

  /** The batch starting at `position`. */
  plan(position: LoaderPosition): BatchPlan {
    const { epoch, index } = this.normalize(position);
    const order = this.#order(epoch);
    const take = Math.min(this.#globalBatch, this.#perEpoch - index);
    const mine = shardPositions(take, this.#rank, this.#worldSize).map((k) => order[index + k]!);
    return { epoch, indices: Int32Array.from(mine), end: this.normalize({ epoch, index: index + take }) };
  }

  #order(epoch: number): Uint32Array {
    if (this.#perm?.epoch !== epoch) {
      const order = this.#shuffle ? epochPermutation(this.#length, this.#seed, epoch) : identity(this.#length);
      this.#perm = { epoch, order };
    }
    return this.#perm.order;
  }
}

function identity(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** Loads the samples of `plan` (at most `concurrency` at a time) into one {@link Batch}. */
export async function loadBatch(dataset: ImageDataset, plan: BatchPlan, concurrency = 16): Promise<Batch> {
  const bytes = imageBytes(dataset);
  const size = plan.indices.length;
  const images = new Uint8Array(size * bytes);
  const labels = new Int32Array(size);
  await forEachConcurrent(size, concurrency, async (slot) => {
    const sample = await dataset.get(plan.indices[slot]!);
    if (sample.pixels.length !== bytes) {
      throw new Error(`${dataset.name}: sample ${plan.indices[slot]} has ${sample.pixels.length} bytes, expected ${bytes}`);
    }
    images.set(sample.pixels, slot * bytes);
    labels[slot] = sample.label;
  });
  return { images, labels, indices: plan.indices, size, epoch: plan.epoch };
}

/** Endless stream of batches over an {@link ImageDataset}, prefetched in the background. */
export class BatchLoader {
  readonly #dataset: ImageDataset;
  readonly #planner: BatchPlanner;
  readonly #prefetch: number;
  readonly #concurrency: number;
  readonly #queue: { batch: Promise<Batch>; end: LoaderPosition }[] = [];
  #position: LoaderPosition;
  #planned: LoaderPosition;
  #closed = false;

  constructor(dataset: ImageDataset, options: BatchLoaderOptions) {
    this.#dataset = dataset;
    this.#planner = new BatchPlanner(dataset.length, options);
    this.#prefetch = Math.max(0, options.prefetch ?? 2);
    this.#concurrency = Math.max(1, options.concurrency ?? 16);
    this.#position = this.#planner.normalize(options.start ?? { epoch: 0, index: 0 });
    this.#planned = this.#position;
  }

  /** Global batches per epoch. */
  get batchesPerEpoch(): number {
    return this.#planner.batchesPerEpoch;
  }

  /** Position of the next batch `next()` will return; store it in checkpoints. */
  get position(): LoaderPosition {
    return this.#position;
  }

  /** The next batch. Starts loading the following ones before returning. */
  async next(): Promise<Batch> {
    if (this.#closed) throw new Error(`loader over ${this.#dataset.name} is closed`);
    if (this.#queue.length === 0) this.#schedule();
    const head = this.#queue.shift()!;
    while (this.#queue.length < this.#prefetch) this.#schedule();
    const batch = await head.batch;
    this.#position = head.end;
    return batch;
  }

  /** Stops prefetching; loads already under way finish and are discarded. */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
  }

  #schedule(): void {
    const plan = this.#planner.plan(this.#planned);
    this.#planned = plan.end;
    const batch = loadBatch(this.#dataset, plan, this.#concurrency);
    batch.catch(() => undefined); // reported when the batch is awaited in next()
    this.#queue.push({ batch, end: plan.end });
  }
}
