import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BatchLoader } from './loader.js';
import { openDataset, type DatasetSpec } from './open.js';
import { WorkerBatchLoader } from './worker-loader.js';

const DIR = fileURLToPath(new URL('../../../test/fixtures/data/fashion-mnist/', import.meta.url));
const spec: DatasetSpec = { kind: 'fashion-mnist', dir: DIR, split: 'test', resolution: 32, channels: 3 };

test('the worker loader yields the in-process loader\'s batches and resumes from its position', async () => {
  const options = { batchSize: 32, seed: 4, prefetch: 2 };
  const local = new BatchLoader(await openDataset(spec), options);
  const worker = await WorkerBatchLoader.start(spec, options);
  try {
    assert.equal(worker.info.length, 300);
    assert.deepEqual([worker.info.channels, worker.info.height, worker.info.width], [3, 32, 32]);
    assert.equal(worker.info.classNames[0], 'T-shirt/top');
    assert.equal(worker.batchesPerEpoch, 9);
    for (let i = 0; i < 11; i++) {
      const [a, b] = [await local.next(), await worker.next()];
      assert.deepEqual(b.indices, a.indices);
      assert.deepEqual(b.labels, a.labels);
      assert.deepEqual(b.images, a.images);
      assert.deepEqual(worker.position, local.position);
    }
    assert.deepEqual(worker.position, { epoch: 1, index: 64 });
    const resumed = await WorkerBatchLoader.start(spec, { ...options, start: worker.position });
    assert.deepEqual((await resumed.next()).indices, (await worker.next()).indices);
    await resumed.close();
  } finally {
    await worker.close();
    local.close();
  }
  await assert.rejects(worker.next(), /closed/);
});

test('errors in the worker reach the caller', async () => {
  await assert.rejects(WorkerBatchLoader.start({ kind: 'fashion-mnist', dir: '/nonexistent/fm' }, { batchSize: 4 }), /dataset-fashion-mnist/);
  await assert.rejects(WorkerBatchLoader.start({ ...spec }, { batchSize: 301 }), /no full global batch/);
});
