/**
 * The stand-in ViT encoder (vit-encoder.ts) on the committed Fashion-MNIST slice (200 train, 100 test
 * images at 32 px): it learns (the epoch losses fall), it is written in the layout the `dinov2` encoder
 * reads (so the class token and patch grid come out of the registry's encoder), its class token is not
 * the mean of its patches, a second call with the same settings reuses it, and other settings retrain it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { splitFashionMnist } from '../../test/embedded-fixtures.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import * as torch from '../torch/index.js';
import { ensureVitEncoder, vitEncoderOf, type VitEncoderSettings } from './vit-encoder.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-vit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const tiny: Partial<VitEncoderSettings> = {
  width: 64,
  depth: 1,
  patchSize: 8,
  inputSize: 32,
  epochs: 4,
  batchSize: 32,
  learningRate: 3e-3,
};

test(
  'the vit encoder trains, loads as a dinov2 encoder with its own class token, and is reused or retrained by its settings',
  { timeout: 120_000 },
  async () => {
    const dir = await splitFashionMnist(path.join(tmp, 'fashion-mnist'));
    const open = (split: 'train' | 'test') => loadFashionMnist({ dir, split, resolution: 32, fit: 'pad' });
    const [train, test] = [open('train'), open('test')];
    const out = path.join(tmp, 'encoder');
    const first = await ensureVitEncoder({ dir: out, train, test, settings: tiny });
    assert.equal(first.reused, false);
    for (const f of ['model.safetensors', 'config.json', 'training.json']) assert.ok(existsSync(path.join(out, f)), f);
    const r = first.record;
    assert.deepEqual([r.trainImages, r.testImages, r.epochLosses.length], [200, 100, 4]);
    assert.ok(r.epochLosses[0]! > 1.5 && r.epochLosses.at(-1)! < r.epochLosses[0]! - 0.3, `losses ${r.epochLosses.join(', ')}`);
    assert.ok(r.testAccuracy > 0.2 && r.testAccuracy <= 1, `test accuracy ${r.testAccuracy}`); // 10 classes: chance is 0.1
    assert.equal(
      (JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as { num_attention_heads: number }).num_attention_heads,
      1,
    );

    const encoder = await vitEncoderOf(first.weights, 32);
    try {
      assert.deepEqual([encoder.name, encoder.dim, encoder.grid], ['dinov2', 64, [4, 4]]);
      const { cls, patches, gap } = torch.scope(() => {
        const images = torch.fromBytes(
          Uint8Array.from({ length: 4 * 32 * 32 }, (_, i) => (i * 37) % 256),
          'uint8',
          [4, 1, 32, 32],
        );
        const o = encoder.encode(images);
        return {
          cls: o.cls.shape,
          patches: o.patches.shape,
          gap: o.cls
            .sub(o.patches.mean([1]))
            .abs()
            .max()
            .item(),
        };
      });
      assert.deepEqual(
        [cls, patches],
        [
          [4, 64],
          [4, 16, 64],
        ],
      );
      assert.ok(gap > 0.05, `class token − patch mean: ${gap}`);
    } finally {
      encoder.dispose();
    }

    const again = await ensureVitEncoder({ dir: out, train, test, settings: tiny });
    assert.deepEqual([again.reused, again.record], [true, first.record]);
    const other = await ensureVitEncoder({ dir: out, train, test, settings: { ...tiny, epochs: 1 } });
    assert.deepEqual([other.reused, other.record.epochLosses.length], [false, 1]);
  },
);
