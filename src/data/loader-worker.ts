/**
 * Worker-thread side of {@link WorkerBatchLoader}: opens the dataset from its spec, runs a
 * {@link BatchLoader}, and answers each `next` message with one batch (buffers transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BatchLoader, type BatchLoaderOptions } from './loader.js';
import { openDataset, type DatasetSpec } from './open.js';
import type { WorkerReply } from './worker-loader.js';

const { spec, options } = workerData as { spec: DatasetSpec; options: BatchLoaderOptions };
const port = parentPort!;
const post = (reply: WorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(reply, transfer);

try {
  const dataset = await openDataset(spec);
  const loader = new BatchLoader(dataset, options);
  const { name, length, channels, height, width, classNames, labels } = dataset;
  post({ type: 'ready', info: { name, length, channels, height, width, classNames: [...classNames], labels, batchesPerEpoch: loader.batchesPerEpoch } });
  let chain = Promise.resolve();
  port.on('message', () => {
    chain = chain.then(async () => {
      try {
        const batch = await loader.next();
        const transfer = [batch.images.buffer, batch.labels.buffer, batch.indices.buffer] as ArrayBuffer[];
        post({ type: 'batch', batch, end: loader.position }, [...new Set(transfer)]);
      } catch (err) {
        post({ type: 'error', message: (err as Error).message });
      }
    });
  });
} catch (err) {
  post({ type: 'error', message: (err as Error).message });
}
