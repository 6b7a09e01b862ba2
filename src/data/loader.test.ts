import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageDataset, ImageSample } from './dataset.js';
import { BatchLoader, BatchPlanner, type Batch } from './loader.js';
import { InMemoryDataset } from './memory-dataset.js';

/** n images of 2×2×2 whose bytes encode the index; label = index mod 3. */
function tiny(n: number): InMemoryDataset {
  const pixels = new Uint8Array(n * 8);
  for (let i = 0; i < n; i++) pixels.fill(i % 256, i * 8, i * 8 + 8);
  return new InMemoryDataset({
    name: 'tiny',
    classNames: ['a', 'b', 'c'],
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    pixels,
    stored: { channels: 2, height: 2, width: 2 },
  });
}

async function take(loader: BatchLoader, count: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for (let i = 0; i < count; i++) out.push(await loader.next());
  return out;
}

test('batches hold the right pixels and labels, and an epoch visits each sample once', async () => {
  const ds = tiny(10);
  const loader = new BatchLoader(ds, { batchSize: 4, seed: 3, dropLast: false });
  assert.equal(loader.batchesPerEpoch, 3);
  const epoch = await take(loader, 3);
  assert.deepEqual(
    epoch.map((b) => b.size),
    [4, 4, 2],
  );
  const seen = epoch.flatMap((b) => [...b.indices]).sort((a, b) => a - b);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (const b of epoch) {
    b.indices.forEach((idx, k) => {
      assert.deepEqual([...b.images.subarray(k * 8, k * 8 + 8)], new Array(8).fill(idx));
      assert.equal(b.labels[k], idx % 3);
    });
  }
  assert.deepEqual(loader.position, { epoch: 1, index: 0 });
  const next = await loader.next();
  assert.equal(next.epoch, 1);
  loader.close();
});

test('dropLast drops the remainder; shuffle off keeps dataset order', async () => {
  const loader = new BatchLoader(tiny(10), { batchSize: 4, shuffle: false });
  assert.equal(loader.batchesPerEpoch, 2);
  const [a, b, c] = await take(loader, 3);
  assert.deepEqual([...a!.indices, ...b!.indices], [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual([c!.epoch, ...c!.indices], [1, 0, 1, 2, 3]);
  assert.throws(() => new BatchLoader(tiny(3), { batchSize: 4 }), /no full global batch/);
});

test('a loader resumed from a stored position continues the identical stream', async () => {
  const ds = tiny(37);
  const whole = await take(new BatchLoader(ds, { batchSize: 5, seed: 11, prefetch: 3 }), 20);
  const first = new BatchLoader(ds, { batchSize: 5, seed: 11, prefetch: 3 });
  await take(first, 9);
  const saved = JSON.parse(JSON.stringify(first.position)) as { epoch: number; index: number };
  assert.deepEqual(saved, { epoch: 1, index: 10 });
  first.close();
  const resumed = await take(new BatchLoader(ds, { batchSize: 5, seed: 11, start: saved }), 11);
  assert.deepEqual(
    resumed.map((b) => [...b.indices]),
    whole.slice(9).map((b) => [...b.indices]),
  );
});

test('ranks split each global batch by striding and together cover it', () => {
  const opts = { batchSize: 3, seed: 5, worldSize: 2 };
  const whole = new BatchPlanner(20, { batchSize: 6, seed: 5 }).plan({ epoch: 2, index: 6 });
  const r0 = new BatchPlanner(20, { ...opts, rank: 0 }).plan({ epoch: 2, index: 6 });
  const r1 = new BatchPlanner(20, { ...opts, rank: 1 }).plan({ epoch: 2, index: 6 });
  assert.deepEqual(
    [...r0.indices],
    [0, 2, 4].map((k) => whole.indices[k]),
  );
  assert.deepEqual(
    [...r1.indices],
    [1, 3, 5].map((k) => whole.indices[k]),
  );
  assert.deepEqual(r0.end, { epoch: 2, index: 12 });
  assert.throws(() => new BatchPlanner(20, { ...opts, rank: 2 }), /bad rank/);
  assert.throws(() => new BatchPlanner(20, opts).plan({ epoch: 0, index: 19 }), /bad loader position/);
});

test('a failing sample surfaces in next(), not as an unhandled rejection', async () => {
  const good = tiny(8);
  const broken: ImageDataset = {
    ...good,
    name: good.name,
    labels: good.labels,
    classNames: good.classNames,
    get: async (i: number): Promise<ImageSample> => {
      if (i === 5) throw new Error('disk on fire');
      return good.get(i);
    },
  };
  const loader = new BatchLoader(broken, { batchSize: 8, prefetch: 2 });
  await assert.rejects(loader.next(), /disk on fire/);
  loader.close();
  await assert.rejects(loader.next(), /closed/);
});
