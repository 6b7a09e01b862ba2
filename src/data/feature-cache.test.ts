import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturePath } from '../../test/fixture-path.js';
import { createEncoder, type EncoderInfo, type RepresentationEncoder } from '../models/encoders/encoder.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { FeatureCache, FeatureCacheError, prepareFeatureCache, readManifest, type PrepareFeatureCacheOptions } from './feature-cache.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { InMemoryDataset } from './memory-dataset.js';

/** Pseudo-random bytes of n RGB 4×4 images. */
function toyPixels(n: number): Uint8Array {
  const pixels = new Uint8Array(n * 48);
  let s = 12345;
  for (let i = 0; i < pixels.length; i++) pixels[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return pixels;
}

/** n RGB 4×4 images; label = i mod 3. */
function dataset(n: number): InMemoryDataset {
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  return new InMemoryDataset({
    name: 'toy',
    classNames: ['a', 'b', 'c'],
    labels,
    pixels: toyPixels(n),
    stored: { channels: 3, height: 4, width: 4 },
  });
}

/** A tiny deterministic encoder: 2×2 average pooling → 4 tokens of 3 channels; CLS = their mean. */
class PoolEncoder implements RepresentationEncoder {
  readonly name = 'pool';
  readonly dim = 3;
  readonly inputSize = 4;
  readonly grid = [2, 2] as const;
  readonly numPatches = 4;
  readonly device = 'cpu' as const;
  readonly info: EncoderInfo = {
    name: 'pool',
    dim: 3,
    inputSize: 4,
    grid: [2, 2],
    weights: 'none',
    weightsSha256: '0',
    preprocessing: 'x/255',
    clsToken: 'mean',
  };
  calls = 0;
  patchGrid(): [number, number] {
    return [2, 2];
  }
  preprocess(images: Tensor): Tensor {
    return images.float().div(255);
  }
  encode(images: Tensor): { cls: Tensor; patches: Tensor } {
    this.calls++;
    return torch.scope(() => {
      const patches = torch.F.avgPool2d(this.preprocess(images), 2).flatten(2).transpose(1, 2).contiguous();
      return { cls: patches.mean(1), patches };
    });
  }
  dispose(): void {}
}

/** A PoolEncoder whose `dieAt`-th call fails, as a run killed in the middle would stop. */
class DyingEncoder extends PoolEncoder {
  constructor(readonly dieAt: number) {
    super();
  }
  override encode(images: Tensor): { cls: Tensor; patches: Tensor } {
    if (this.calls + 1 === this.dieAt) throw new Error('killed');
    return super.encode(images);
  }
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'reg-fcache-'));
}

function options(out: string, extra: Partial<PrepareFeatureCacheOptions> = {}): PrepareFeatureCacheOptions {
  return {
    dataset: dataset(13),
    datasetSpec: 'toy',
    encoder: new PoolEncoder(),
    out,
    shardSize: 5,
    batchSize: 2,
    progress: false,
    ...extra,
  };
}

const shardBytes = (dir: string): Record<string, string> =>
  Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.startsWith('shard-'))
      .map((f) => [f, readFileSync(join(dir, f)).toString('base64')]),
  );

test('round trip: shards + manifest, random access by dataset index equals the encoder', async () => {
  const dir = tmp();
  try {
    for (const dtype of ['float32', 'float16'] as const) {
      const out = join(dir, dtype);
      const report = await prepareFeatureCache(options(out, { dtype }));
      assert.equal(report.computed, 3);
      const m = readManifest(out);
      assert.equal(m.complete, true);
      assert.deepEqual(
        m.shards.map((s) => [s.file, s.start, s.count]),
        [
          ['shard-00000.safetensors', 0, 5],
          ['shard-00001.safetensors', 5, 5],
          ['shard-00002.safetensors', 10, 3],
        ],
      );
      assert.equal(m.tokens, 4);
      assert.equal(m.encoder.name, 'pool');
      const cache = FeatureCache.open(out);
      assert.equal(cache.length, 13);
      cache.checkDataset(dataset(13));
      const idx = [12, 0, 7, 6, 4, 12];
      const got = cache.get(idx);
      assert.deepEqual(
        [...got.labels],
        idx.map((i) => i % 3),
      );
      assert.deepEqual(got.patches.shape, [6, 4, 3]);
      assert.equal(got.patches.dtype, 'float32');
      torch.scope(() => {
        const all = new PoolEncoder().encode(torch.fromBytes(toyPixels(13), 'uint8', [13, 3, 4, 4]));
        const want = all.patches.indexSelect(0, torch.tensor(idx, { dtype: 'int64' }));
        const wantCls = all.cls.indexSelect(0, torch.tensor(idx, { dtype: 'int64' }));
        const tol = dtype === 'float32' ? 0 : 1e-3; // float16: relative 2^-11 of values ≤ 1
        assert.ok(got.patches.sub(want).abs().max().item() <= tol);
        assert.ok(got.cls.sub(wantCls).abs().max().item() <= tol);
      });
      assert.throws(() => cache.get([13]), /out of range/);
      cache.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume after a kill: finished shards are kept (checksummed), the rest recomputed, temp files removed', async () => {
  const dir = tmp();
  try {
    const reference = join(dir, 'ref');
    await prepareFeatureCache(options(reference));

    const out = join(dir, 'killed');
    // shard 0 is 5 images in batches of 2 (calls 1–3): the 4th call, in shard 1, dies
    await assert.rejects(prepareFeatureCache(options(out, { encoder: new DyingEncoder(4) })), /killed/);
    let m = readManifest(out);
    assert.equal(m.complete, false);
    assert.equal(m.shards.length, 1);
    assert.throws(() => FeatureCache.open(out), /incomplete \(1\/3 shards\)/);
    // what a kill mid-write leaves: the writer's temporary file (never the final name)
    writeFileSync(join(out, '.shard-00001.safetensors.4242.abcdef012345.tmp'), 'partial');

    const encoder = new PoolEncoder();
    const lines: string[] = [];
    const report = await prepareFeatureCache(options(out, { encoder, log: (l) => lines.push(l) }));
    assert.equal(report.reused, 1);
    assert.equal(report.computed, 2);
    assert.equal(encoder.calls, 5); // 8 images in batches of 2: only shards 1 and 2 were encoded
    assert.ok(!readdirSync(out).some((f) => f.endsWith('.tmp')));
    assert.deepEqual(shardBytes(out), shardBytes(reference));
    m = readManifest(out);
    assert.equal(m.complete, true);

    // a listed shard damaged after the fact is detected on resume and recomputed
    corrupt(join(out, 'shard-00002.safetensors'));
    const again = await prepareFeatureCache(options(out, { log: (l) => lines.push(l) }));
    assert.equal(again.reused, 2);
    assert.equal(again.computed, 1);
    assert.ok(lines.some((l) => /shard-00002\.safetensors is corrupt/.test(l)));
    assert.deepEqual(shardBytes(out), shardBytes(reference));

    // other settings are refused
    await assert.rejects(prepareFeatureCache(options(out, { dtype: 'float32' })), /other settings \(dtype differ\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Flips one byte near the end of a file (inside the tensor data). */
function corrupt(path: string): void {
  const size = readFileSync(path).length;
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  b[0] = readFileSync(path)[size - 3]! ^ 0xff;
  writeSync(fd, b, 0, 1, size - 3);
  closeSync(fd);
}

test('corruption and truncation are detected on open, naming the shard', async () => {
  const dir = tmp();
  try {
    await prepareFeatureCache(options(dir));
    corrupt(join(dir, 'shard-00001.safetensors'));
    assert.throws(
      () => FeatureCache.open(dir),
      (e: unknown) => e instanceof FeatureCacheError && /shard-00001\.safetensors is corrupt: sha256/.test(e.message),
    );
    // without checksums a flipped data byte goes unnoticed, but truncation never does
    FeatureCache.open(dir, { verify: false }).close();
    const path = join(dir, 'shard-00002.safetensors');
    truncateSync(path, readFileSync(path).length - 10);
    assert.throws(
      () => FeatureCache.open(dir, { verify: false }),
      /shard-00002\.safetensors is truncated or altered: \d+ bytes, the manifest says \d+/,
    );
    rmSync(path);
    assert.throws(() => FeatureCache.open(dir, { verify: false }), /shard-00002\.safetensors is missing/);
    rmSync(join(dir, 'manifest.json'));
    assert.throws(() => FeatureCache.open(dir), /no feature cache at .*manifest\.json missing/);
    assert.ok(!existsSync(join(dir, 'manifest.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real encoder: MobileNetV2 (committed real weights) features of Fashion-MNIST images', async () => {
  const dir = tmp();
  try {
    const encoder = await createEncoder('mobilenetv2', { weights: fixturePath('encoders/mobilenetv2-block10'), inputSize: 64 });
    const ds = loadFashionMnist({ dir: fixturePath('data/fashion-mnist'), split: 'test', limit: 12 });
    const report = await prepareFeatureCache({
      dataset: ds,
      datasetSpec: 'fashion-mnist:test',
      encoder,
      out: dir,
      shardSize: 8,
      batchSize: 6,
      dtype: 'float32',
      progress: false,
    });
    assert.equal(report.manifest.tokens, 16);
    assert.equal(report.manifest.dim, 96);
    const cache = FeatureCache.open(dir);
    cache.checkDataset(ds);
    const got = cache.get([9, 2]);
    const [a, b] = await Promise.all([ds.get(9), ds.get(2)]);
    const pix = new Uint8Array(2 * 784);
    pix.set(a.pixels, 0);
    pix.set(b.pixels, 784);
    torch.scope(() => {
      const want = encoder.encode(torch.fromBytes(pix, 'uint8', [2, 1, 28, 28]));
      assert.ok(got.patches.sub(want.patches).abs().max().item() < 1e-5);
      assert.ok(got.cls.sub(want.cls).abs().max().item() < 1e-5);
    });
    cache.close();
    encoder.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
