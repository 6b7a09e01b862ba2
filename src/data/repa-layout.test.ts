/**
 * REPA/REG's preprocessed layout as the `imagenet256` source: images and `img-mean-std` .npy files
 * paired by sorted position, labels from vae-sd/dataset.json, latents (mean + std·ε)·0.18215; and its
 * malformed variants.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { tinyLatentModel, writeTinyDinov2 } from '../../test/latent-fixtures.js';
import { createEncoder } from '../models/encoders/encoder.js';
import * as torch from '../torch/index.js';
import { npyHeader } from '../torch/io/npy.js';
import { resolveTrainConfig } from '../train/config.js';
import { createSource, DataSourceError, type SourceContext } from '../train/data.js';
import { isRepaLayout } from './repa-layout.js';
import { registerDatasetSources } from './train-sources.js';

const tmp = mkdtempSync(join(tmpdir(), 'reg-repa-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
registerDatasetSources();
const DINO = writeTinyDinov2(join(tmp, 'dino'), { hiddenSize: 24, numHeads: 3, mlpDim: 32 });

/** Labels of the 5 images (dataset.json lists them out of order). */
const LABELS = [2, 0, 1, 2, 0];

/** REG's layout (imagenet_256_vae/ + vae-sd/): image i is a flat grey of value 40·i; moments mean = i, std = `std`. */
async function writeLayout(dir: string, std: number, imageDir = 'imagenet_256_vae'): Promise<string> {
  const entries: [string, number][] = [];
  for (let i = 0; i < LABELS.length; i++) {
    const idx = String(i).padStart(8, '0');
    mkdirSync(join(dir, imageDir, idx.slice(0, 5)), { recursive: true });
    mkdirSync(join(dir, 'vae-sd', idx.slice(0, 5)), { recursive: true });
    await sharp(Buffer.alloc(256 * 256 * 3, 40 * i), { raw: { width: 256, height: 256, channels: 3 } })
      .png()
      .toFile(join(dir, imageDir, idx.slice(0, 5), `img${idx}.png`));
    const moments = new Float32Array(8 * 32 * 32);
    moments.fill(i, 0, 4 * 1024);
    moments.fill(std, 4 * 1024);
    const name = `${idx.slice(0, 5)}/img-mean-std-${idx}.npy`;
    writeFileSync(join(dir, 'vae-sd', name), Buffer.concat([npyHeader('float32', [8, 32, 32]), new Uint8Array(moments.buffer)]));
    entries.push([name, LABELS[i]!]);
  }
  writeFileSync(join(dir, 'vae-sd', 'dataset.json'), JSON.stringify({ labels: entries.reverse() }));
  return dir;
}

const context = (dataDir: string, variant: 'reg' | 'sit' = 'reg'): SourceContext => ({
  config: resolveTrainConfig({ data: 'imagenet256', dataDir, encoder: 'dinov2', encoderWeights: DINO, seed: 4 }),
  model: tinyLatentModel({ variant }),
  microBatch: 5,
  device: 'cpu',
  start: null,
});

describe('imagenet256 on REPA/REG preprocessed data', () => {
  it('pairs sorted images with sorted .npy files, labels from dataset.json; std 0 gives x = mean·0.18215 exactly', async () => {
    const dir = await writeLayout(join(tmp, 'reg-std0'), 0);
    assert.ok(isRepaLayout(dir));
    const source = await createSource('imagenet256', context(dir));
    const dino = await createEncoder('dinov2', { weights: DINO });
    try {
      assert.match(source.name, /posterior moments .*vae-sd \(5 × 8×32×32\) → latents 4×32×32 \+ dinov2 at 224px/);
      const b = await source.next();
      torch.scope(() => {
        const ids = [...(b.x.select(1, 0).select(1, 0).select(1, 0).div(0.18215).round().toTypedArray() as Float32Array)];
        assert.deepEqual([...ids].sort(), [0, 1, 2, 3, 4]);
        const mean = torch.tensor(ids).reshape(5, 1, 1, 1).expand(5, 4, 32, 32);
        assert.equal(b.x.sub(mean.mul(0.18215)).abs().max().item(), 0);
        assert.deepEqual(
          [...(b.y.toTypedArray() as BigInt64Array)].map(Number),
          ids.map((i) => LABELS[i]),
        );
        // DINOv2 saw image i (flat grey 40·i)
        const grey = torch
          .tensor(ids.map((i) => 40 * i))
          .reshape(5, 1, 1, 1)
          .expand(5, 3, 256, 256)
          .to('uint8');
        assert.equal(b.clsTarget!.sub(dino.encode(grey).cls).abs().max().item(), 0);
      });
      for (const t of Object.values(b)) t?.dispose();
    } finally {
      dino.dispose();
      await source.close();
    }
  });

  it("std > 0: the latents scatter around the mean with the posterior's std (REPA's images/ folder too)", async () => {
    const dir = await writeLayout(join(tmp, 'repa-std1'), 1, 'images');
    const source = await createSource('imagenet256', context(dir, 'sit'));
    try {
      const b = await source.next();
      const z = b.x.div(0.18215);
      const ids = z.mean([1, 2, 3]).round();
      const eps = z.sub(ids.reshape(5, 1, 1, 1));
      const [m, s] = [eps.mean().item(), eps.std().item()];
      assert.ok(Math.abs(m) < 0.03 && Math.abs(s - 1) < 0.03, `ε mean ${m}, std ${s}`);
      for (const t of [b.x, b.y, z, ids, eps]) t.dispose();
    } finally {
      await source.close();
    }
  });

  it('malformed layouts are named', async () => {
    const rejects = (dir: string, pattern: RegExp): Promise<void> =>
      assert.rejects(
        createSource('imagenet256', context(dir, 'sit')),
        (e: Error) => e instanceof DataSourceError && pattern.test(e.message),
      );
    const extra = await writeLayout(join(tmp, 'bad-count'), 0);
    unlinkSync(join(extra, 'vae-sd', '00000', 'img-mean-std-00000004.npy'));
    await rejects(extra, /5 images in .*imagenet_256_vae but 4 \.npy files/);
    const unlabelled = await writeLayout(join(tmp, 'bad-label'), 0);
    writeFileSync(join(unlabelled, 'vae-sd', 'dataset.json'), JSON.stringify({ labels: [['00000/img-mean-std-00000000.npy', 1]] }));
    await rejects(unlabelled, /dataset\.json gives no label for 00000\/img-mean-std-00000001\.npy/);
    const noImages = join(tmp, 'no-images');
    mkdirSync(join(noImages, 'vae-sd'), { recursive: true });
    writeFileSync(join(noImages, 'vae-sd', 'dataset.json'), '{"labels": []}');
    await rejects(noImages, /REPA\/REG layout without its images \(images\/ or imagenet_256_vae\/ beside vae-sd\/\)/);
    const wrong = await writeLayout(join(tmp, 'bad-shape'), 0);
    writeFileSync(
      join(wrong, 'vae-sd', '00000', 'img-mean-std-00000000.npy'),
      Buffer.concat([npyHeader('float32', [8, 64, 64]), new Uint8Array(8 * 64 * 64 * 4)]),
    );
    await rejects(wrong, /posterior moments .* gives 4×64×64 latents \(256-px images\), but the model expects 4×32×32/);
  });
});
