/**
 * Runs a CommonJS snippet on a Node worker thread and resolves with the first message it posts (rejects
 * on the worker's error). `workerData.torch` is the URL of reg-ts's torch module, for `import()`, so
 * that tests can exercise the addon from several threads at once.
 */
import { Worker } from 'node:worker_threads';

const torchUrl = new URL('../src/torch/index.js', import.meta.url).href;

export function runOnWorker<T>(code: string, data: Record<string, unknown> = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { torch: torchUrl, ...data } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}
