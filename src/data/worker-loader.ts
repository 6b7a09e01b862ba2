/**
 * A batch loader that runs in a worker thread. The main thread of a trainer is blocked while libtorch
 * computes a step, so in-process prefetching only progresses between steps; in a worker, the next
 * batches are decoded during the step, and `next()` then costs one message with transferred buffers.
 * Same batches, same order and same resumable position as {@link BatchLoader} with the same options.
 */
import { Worker } from 'node:worker_threads';
import type { Batch, BatchLoaderOptions, LoaderPosition } from './loader.js';
import type { DatasetSpec } from './open.js';

/** What the worker reports about its dataset once it is open. */
export interface WorkerDatasetInfo {
  readonly name: string;
  readonly length: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly classNames: readonly string[];
  readonly labels: Int32Array;
  readonly batchesPerEpoch: number;
}

/** Messages from the worker. */
export type WorkerReply =
  | { readonly type: 'ready'; readonly info: WorkerDatasetInfo }
  | { readonly type: 'batch'; readonly batch: Batch; readonly end: LoaderPosition }
  | { readonly type: 'error'; readonly message: string };

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(err: Error): void;
}

/** Endless stream of batches produced in a worker thread; call {@link WorkerBatchLoader.start}. */
export class WorkerBatchLoader {
  /** The dataset as seen from the worker (shape, classes, labels). */
  readonly info: WorkerDatasetInfo;
  readonly #worker: Worker;
  readonly #replies: Pending[];
  readonly #inFlight: Promise<WorkerReply>[] = [];
  readonly #prefetch: number;
  #position: LoaderPosition;
  #closed = false;

  private constructor(worker: Worker, replies: Pending[], info: WorkerDatasetInfo, options: BatchLoaderOptions) {
    this.#worker = worker;
    this.#replies = replies;
    this.info = info;
    this.#prefetch = Math.max(1, options.prefetch ?? 2);
    this.#position = options.start ?? { epoch: 0, index: 0 };
  }

  /** Starts a worker that opens `spec` and loads batches with `options`; resolves once the dataset is open. */
  static async start(spec: DatasetSpec, options: BatchLoaderOptions): Promise<WorkerBatchLoader> {
    const worker = new Worker(new URL('./loader-worker.js', import.meta.url), { workerData: { spec, options } });
    const replies: Pending[] = [];
    const failAll = (err: Error): void => {
      for (const p of replies.splice(0)) p.reject(err);
    };
    worker.on('message', (reply: WorkerReply) => replies.shift()?.resolve(reply));
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`data loader worker exited (code ${code})`)));
    const ready = await new Promise<WorkerReply>((resolve, reject) => replies.push({ resolve, reject }));
    if (ready.type !== 'ready') {
      await worker.terminate();
      throw new Error(ready.type === 'error' ? ready.message : 'data loader worker: unexpected first message');
    }
    return new WorkerBatchLoader(worker, replies, ready.info, options);
  }

  /** Global batches per epoch. */
  get batchesPerEpoch(): number {
    return this.info.batchesPerEpoch;
  }

  /** Position of the next batch `next()` will return; store it in checkpoints. */
  get position(): LoaderPosition {
    return this.#position;
  }

  /** The next batch; keeps `prefetch` requests outstanding in the worker. Await each call before the next. */
  async next(): Promise<Batch> {
    if (this.#closed) throw new Error(`loader over ${this.info.name} is closed`);
    while (this.#inFlight.length < this.#prefetch + 1) this.#request();
    const reply = await this.#inFlight.shift()!;
    if (reply.type !== 'batch') throw new Error(reply.type === 'error' ? reply.message : 'data loader worker: unexpected message');
    this.#position = reply.end;
    return reply.batch;
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#inFlight.length = 0;
    await this.#worker.terminate();
  }

  #request(): void {
    const reply = new Promise<WorkerReply>((resolve, reject) => this.#replies.push({ resolve, reject }));
    reply.catch(() => undefined); // reported when awaited in next()
    this.#inFlight.push(reply);
    this.#worker.postMessage('next');
  }
}
