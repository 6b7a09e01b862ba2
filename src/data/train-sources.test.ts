/**
 * The dataset sources: absent from the trainer's registry until src/data registers them, then built
 * by name like the synthetic source, with pixels in [−1, 1] and the loader's position.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fixturePath } from '../../test/fixture-path.js';
import { resolveConfig } from '../models/configs.js';
import { resolveTrainConfig } from '../train/config.js';
import { createSource, DataSourceError, type SourceContext } from '../train/data.js';
import { registerDatasetSources } from './train-sources.js';

// The committed slice has only the test split: serve it as the train split.
const dir = mkdtempSync(join(tmpdir(), 'reg-sources-'));
after(() => rmSync(dir, { recursive: true, force: true }));
for (const kind of ['images-idx3', 'labels-idx1'])
  copyFileSync(fixturePath(`data/fashion-mnist/t10k-${kind}-ubyte.gz`), join(dir, `train-${kind}-ubyte.gz`));

const context = (dataDir: string): SourceContext => ({
  config: resolveTrainConfig({ dataDir, seed: 1 }),
  model: resolveConfig('SiT-S/2', { variant: 'sit', inputSize: 28, inChannels: 1, numClasses: 10 }),
  microBatch: 4,
  device: 'cpu',
  start: null,
});

test('dataset sources: unknown until registered, then fashion-mnist yields pixel batches with a resumable position', async () => {
  await assert.rejects(
    createSource('fashion-mnist', context(dir)),
    (e: Error) => e instanceof DataSourceError && /unknown data source 'fashion-mnist'; known: synthetic/.test(e.message),
  );
  registerDatasetSources();
  const source = await createSource('fashion-mnist', context(dir));
  try {
    assert.match(source.name, /^fashion-mnist\/train 1×28×28$/);
    assert.deepEqual(source.position(), { loader: { epoch: 0, index: 0 } });
    const batch = await source.next();
    assert.deepEqual([batch.x.dtype, batch.x.shape], ['float32', [4, 1, 28, 28]]);
    assert.deepEqual([batch.y.dtype, batch.y.shape], ['int64', [4]]);
    assert.equal(batch.clsTarget, null);
    assert.equal(batch.alignTarget, null);
    const [lo, hi] = [batch.x.min().item(), batch.x.max().item()];
    assert.ok(lo >= -1 && hi <= 1 && hi > lo, `pixels in [−1, 1], got [${lo}, ${hi}]`);
    assert.deepEqual(source.position(), { loader: { epoch: 0, index: 4 } });
    assert.equal(source.epoch?.(), 0);
    for (const t of [batch.x, batch.y]) t.dispose();
  } finally {
    await source.close();
  }
  await assert.rejects(createSource('folder', context('')), /--data folder needs --data-dir/);
});
