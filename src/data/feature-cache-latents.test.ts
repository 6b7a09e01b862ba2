/**
 * Feature caches with latents (format 2): `prepareFeatureCache` with an autoencoder stores each image's
 * posterior [mean; std] beside the encoder tokens in one pass; the cache alone then feeds the
 * `imagenet256` source (no image read); format 1 caches still open; bad images stop prepare with the
 * file named and the cache left incomplete; a cache's token grid must match the model.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { IMAGENET_TINY, tinyLatentModel, writeTinyDinov2, writeTinyVae } from '../../test/latent-fixtures.js';
import type { SiTConfig } from '../models/configs.js';
import { loadAutoencoder } from '../models/autoencoders/index.js';
import { createEncoder, type RepresentationEncoder } from '../models/encoders/encoder.js';
import * as torch from '../torch/index.js';
import { resolveTrainConfig } from '../train/config.js';
import { createSource, DataSourceError, type SourceContext } from '../train/data.js';
import { FeatureCache, FeatureCacheError, MANIFEST_FILE, prepareFeatureCache, readManifest } from './feature-cache.js';
import { openImageFolder } from './image-folder.js';
import type { PosteriorEncoder } from './latents.js';
import { registerDatasetSources } from './train-sources.js';
import { vaePosterior } from './vae-posterior.js';

const tmp = mkdtempSync(join(tmpdir(), 'reg-lcache-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
registerDatasetSources();
const VAE = writeTinyVae(join(tmp, 'vae'));
const DINO = writeTinyDinov2(join(tmp, 'dino'), { hiddenSize: 24, numHeads: 3, mlpDim: 32 });

let vae: PosteriorEncoder;
let dino: RepresentationEncoder;
const folder = openImageFolder({ root: IMAGENET_TINY, resolution: 256 });
const CACHE = join(tmp, 'cache');

const prepare = (out: string, root = IMAGENET_TINY) =>
  prepareFeatureCache({
    dataset: openImageFolder({ root, resolution: 256 }),
    datasetSpec: `folder:${root}`,
    encoder: dino,
    autoencoder: vae,
    out,
    shardSize: 4,
    batchSize: 2,
    dtype: 'float32',
    progress: false,
  });

const context = (dataDir: string, model: Partial<SiTConfig> = {}): SourceContext => ({
  config: resolveTrainConfig({ data: 'imagenet256', dataDir, seed: 5 }),
  model: tinyLatentModel(model),
  microBatch: 3,
  device: 'cpu',
  start: null,
});

describe('feature cache with latents', () => {
  it('one pass stores the VAE posterior (8×32×32 float32) and the DINOv2 tokens of every ADM crop', async () => {
    vae = vaePosterior(loadAutoencoder(VAE), VAE);
    dino = await createEncoder('dinov2', { weights: DINO });
    const report = await prepare(CACHE);
    assert.equal(report.computed, 2);
    const m = readManifest(CACHE);
    assert.equal(m.format, 'reg-ts/feature-cache@2');
    assert.deepEqual(m.latents?.shape, [8, 32, 32]);
    assert.equal(m.latents?.autoencoder['scalingFactor'], 0.18215);
    const cache = FeatureCache.open(CACHE);
    try {
      const idx = [5, 0, 3];
      const got = cache.get(idx);
      const samples = await Promise.all(idx.map((i) => folder.get(i)));
      torch.scope(() => {
        const images = torch.cat(
          samples.map((s) => torch.fromBytes(s.pixels, 'uint8', [1, 3, 256, 256])),
          0,
        );
        const want = vae.moments(images);
        // computed in batches of 2 at prepare time, of 3 here: equal up to float32 rounding of the convolutions
        const err = got.posterior!.sub(want).abs().max().item() / want.abs().max().item();
        assert.ok(err <= 1e-5, `relative error ${err}`);
        const patches = dino.encode(images).patches;
        assert.ok(got.patches.sub(patches).abs().max().item() / patches.abs().max().item() <= 1e-5);
      });
      for (const t of [got.cls, got.patches, got.posterior]) t?.dispose();
    } finally {
      cache.close();
    }
  });

  it('feeds imagenet256 by itself: latents and targets from the cache, labels only from the loader', async () => {
    const source = await createSource('imagenet256', context(CACHE));
    try {
      assert.match(source.name, /^feature cache .* → latents 4×32×32 \+ feature cache .*\(dinov2, 6 images\)$/);
      const b = await source.next();
      assert.deepEqual(
        [b.x.shape, b.alignTarget!.shape, b.clsTarget!.shape],
        [
          [3, 4, 32, 32],
          [3, 257, 24],
          [3, 24],
        ],
      );
      for (const t of Object.values(b)) t?.dispose();
      assert.deepEqual(Object.keys(source.position() as object), ['loader']);
    } finally {
      await source.close();
    }
  });

  it('a format-1 cache still opens (no latents); imagenet256 then asks for one made with --vae', async () => {
    const old = join(tmp, 'format1');
    cpSync(CACHE, old, { recursive: true });
    const m = JSON.parse(readFileSync(join(old, MANIFEST_FILE), 'utf8')) as Record<string, unknown>;
    delete m['latents'];
    writeFileSync(join(old, MANIFEST_FILE), JSON.stringify({ ...m, format: 'reg-ts/feature-cache@1' }));
    const cache = FeatureCache.open(old);
    assert.equal(cache.latents, null);
    assert.equal(cache.get([1]).posterior, null);
    cache.close();
    await assert.rejects(
      createSource('imagenet256', context(old)),
      /holds no autoencoder posterior; make it with `reg prepare --vae <autoencoder>`/,
    );
  });

  it("a cache whose token grid is not the model's is refused, naming both", async () => {
    await assert.rejects(
      createSource('imagenet256', context(CACHE, { patchSize: 4 })),
      (e: Error) =>
        e instanceof DataSourceError &&
        /feature cache .* gives 256 tokens of width 24, but the model needs 64 patch tokens of width 24/.test(e.message),
    );
  });

  it('a corrupt image stops prepare naming the file; the cache stays incomplete and the finished shard is kept', async () => {
    const root = join(tmp, 'corrupt-folder');
    cpSync(IMAGENET_TINY, root, { recursive: true });
    const bad = join(root, 'n01484850', 'n01484850_1000.JPEG');
    writeFileSync(bad, readFileSync(bad).subarray(0, 500));
    const out = join(tmp, 'corrupt-cache');
    await assert.rejects(
      prepare(out, root),
      (e: Error) =>
        e instanceof FeatureCacheError &&
        /cannot decode image .*n01484850_1000\.JPEG.*\(image 4 of .*\); prepare stops at an image it cannot read/.test(e.message),
    );
    const m = readManifest(out);
    assert.equal(m.complete, false);
    assert.equal(m.shards.length, 1);
    assert.throws(() => FeatureCache.open(out), /incomplete \(1\/2 shards\)/);
    vae.dispose();
    dino.dispose();
  });
});
