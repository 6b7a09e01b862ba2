import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { hashWeights } from '../../test/inception-weights.js';
import { relError } from '../../test/relative-error.js';
import { featurePass, inceptionNetwork, joinFeatures } from './feature-pass.js';
import { openImageSource } from './image-source.js';
import { FidInceptionV3, InceptionExtractor, RESIZE_DESCRIPTIONS } from './inception.js';
import { writeNpz } from './npz.js';

test('feature pass: slices joined in order give the features of one pass (the sharding contract), for any batch size', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'feature-pass-'));
  const net = hashWeights(new FidInceptionV3(16)).eval().fuseBatchNorm();
  const info = {
    network: 'test',
    weights: 'hash',
    weightsSha256: '',
    pytorchFidFile: false,
    resize: 'tf1-legacy' as const,
    preprocessing: RESIZE_DESCRIPTIONS['tf1-legacy'],
  };
  const inception = inceptionNetwork(new InceptionExtractor(net, info));
  try {
    const file = path.join(dir, 'x.npz');
    writeNpz(file, {
      arr_0: { dtype: 'uint8', shape: [7, 20, 20, 3], data: Uint8Array.from({ length: 7 * 1200 }, (_, i) => (i * 31) % 251) },
    });
    const src = await openImageSource(file);
    const whole = (await featurePass(src, [inception], { batchSize: 4 })).get('inception')!;
    const parts = [];
    for (const [start, end] of [
      [0, 3],
      [3, 3],
      [3, 7],
    ] as const)
      parts.push((await featurePass(src, [inception], { start, end, batchSize: 2 })).get('inception')!);
    const joined = joinFeatures(parts.filter((p) => Object.keys(p).length > 0));
    for (const k of ['pool3', 'spatial', 'logits']) {
      assert.deepEqual(joined[k]!.shape, whole[k]!.shape, k);
      // batches of other sizes may sum in another order (float32 rounding), nothing more
      const err = relError(joined[k]!, whole[k]!);
      assert.ok(err <= 1e-5, `${k}: ${err}`);
    }
    await assert.rejects(featurePass(src, [inception], { start: 5, end: 9 }), /slice \[5, 9\) is not inside the 7 images/);
    src.close();
  } finally {
    inception.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
