/**
 * The `imagenet256` source (latent space): fresh posterior samples x = (mean + std·ε − shift)·scale
 * every step from a generator saved in the position (resume is bit-exact), read from an ImageNet-layout
 * folder (VAE per batch), from REPA/REG's preprocessed layout, or from a feature cache made with a VAE;
 * and the bad inputs: corrupt images, empty class folders, VAEs of other channels or sizes, encoder
 * grids and scalings that do not match the model.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixturePath } from '../../test/fixture-path.js';
import { IMAGENET_TINY, tinyLatentModel, writeTinyDinov2, writeTinyVae } from '../../test/latent-fixtures.js';
import type { SiTConfig } from '../models/configs.js';
import { loadAutoencoder } from '../models/autoencoders/index.js';
import { createEncoder } from '../models/encoders/encoder.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { resolveTrainConfig, type TrainConfig } from '../train/config.js';
import { createSource, DataSourceError, type BatchSource, type Json, type SourceContext } from '../train/data.js';
import { openImageFolder } from './image-folder.js';
import { BatchPlanner } from './loader.js';
import { PosteriorSampler, samplePosterior } from './latents.js';
import { registerDatasetSources } from './train-sources.js';
import { vaePosterior } from './vae-posterior.js';

const tmp = mkdtempSync(join(tmpdir(), 'reg-latent-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
registerDatasetSources();

const VAE = writeTinyVae(join(tmp, 'vae'));
/** A narrow DINOv2/14 (width 24): 16×16 tokens at 224 px, as the paper's grid. */
const DINO = writeTinyDinov2(join(tmp, 'dino'), { hiddenSize: 24, numHeads: 3, mlpDim: 32 });

/** REG on 4×32×32 latents with 24-d targets, 3 classes. */
const model = tinyLatentModel;

function context(config: Partial<TrainConfig>, m: SiTConfig = model(), start: Json = null): SourceContext {
  return {
    config: resolveTrainConfig({
      data: 'imagenet256',
      dataDir: IMAGENET_TINY,
      vae: VAE,
      encoder: 'dinov2',
      encoderWeights: DINO,
      seed: 3,
      ...config,
    }),
    model: m,
    microBatch: 2,
    device: 'cpu',
    start,
  };
}

const values = (t: Tensor | null): number[] => (t === null ? [] : [...(t.toTypedArray() as Float32Array)]);

async function take(source: BatchSource, n: number): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const b = await source.next();
    out.push([...values(b.x), ...[...(b.y.toTypedArray() as BigInt64Array)].map(Number), ...values(b.clsTarget), ...values(b.alignTarget)]);
    for (const t of [b.x, b.y, b.clsTarget, b.alignTarget]) t?.dispose();
  }
  return out;
}

describe('latent samples', () => {
  it('samplePosterior is (mean + std·ε − shift)·scale', () => {
    torch.scope(() => {
      const mean = torch.randn([2, 4, 3, 3], { generator: new torch.Generator(5) });
      const std = torch.rand([2, 4, 3, 3], { generator: new torch.Generator(6) });
      const eps = torch.randn([2, 4, 3, 3], { generator: new torch.Generator(7) });
      const x = samplePosterior(torch.cat([mean, std], 1), eps, { scale: 0.18215, shift: 0.5 });
      const want = mean.add(std.mul(eps)).sub(0.5).mul(0.18215);
      assert.ok(x.sub(want).abs().max().item() === 0);
    });
  });

  it('ε of an image depends on the seed, the epoch and the image only, not on the batch it comes in', () => {
    torch.scope(() => {
      const moments = (n: number) => torch.cat([torch.zeros([n, 4, 2, 2]), torch.ones([n, 4, 2, 2])], 1);
      const s = new PosteriorSampler(1, { scale: 1, shift: 0 });
      const pair = s.sample(moments(2), { indices: Int32Array.from([3, 5]), epoch: 0, length: 10 });
      const alone = s.sample(moments(1), { indices: Int32Array.from([5]), epoch: 0, length: 10 });
      assert.deepEqual(values(pair.slice(0, 1, 2)), values(alone));
      const nextEpoch = s.sample(moments(1), { indices: Int32Array.from([5]), epoch: 1, length: 10 });
      assert.notDeepEqual(values(nextEpoch), values(alone));
      const otherSeed = new PosteriorSampler(2, { scale: 1, shift: 0 }).sample(moments(1), {
        indices: Int32Array.from([5]),
        epoch: 0,
        length: 10,
      });
      assert.notDeepEqual(values(otherSeed), values(alone));
    });
  });
});

describe('imagenet256 on an ImageNet-layout folder (VAE and DINOv2 per batch)', () => {
  it('x = (mean + std·ε)·0.18215 of the VAE posterior of the ADM crops, targets = DINOv2 [cls; patches]; resumes bit-exactly', async () => {
    const source = await createSource('imagenet256', context({}));
    try {
      assert.match(source.name, /image-folder:.*autoencoder .* \(×8\) run per batch → latents 4×32×32 \+ dinov2 at 224px/);
      const first = await source.next();
      assert.deepEqual(first.x.shape, [2, 4, 32, 32]);
      assert.deepEqual(first.clsTarget!.shape, [2, 24]);
      assert.deepEqual(first.alignTarget!.shape, [2, 257, 24]);
      // the same batch computed by hand: the loader's first indices, the VAE, a fresh sampler of the run's seed
      const { indices } = new BatchPlanner(6, { batchSize: 2, seed: 3 }).plan({ epoch: 0, index: 0 });
      const folder = openImageFolder({ root: IMAGENET_TINY, resolution: 256 });
      const samples = await Promise.all([...indices].map((i) => folder.get(i)));
      const vae = vaePosterior(loadAutoencoder(VAE), VAE);
      const dino = await createEncoder('dinov2', { weights: DINO });
      torch.scope(() => {
        const images = torch.cat(
          samples.map((s) => torch.fromBytes(s.pixels, 'uint8', [1, 3, 256, 256])),
          0,
        );
        const x = new PosteriorSampler(3, { scale: 0.18215, shift: 0 }).sample(vae.moments(images), { indices, epoch: 0, length: 6 });
        assert.equal(first.x.sub(x).abs().max().item(), 0);
        const { cls, patches } = dino.encode(images);
        assert.equal(first.clsTarget!.sub(cls).abs().max().item(), 0);
        assert.equal(
          first
            .alignTarget!.sub(torch.cat([cls.unsqueeze(1), patches], 1))
            .abs()
            .max()
            .item(),
          0,
        );
        assert.deepEqual(
          [...(first.y.toTypedArray() as BigInt64Array)].map(Number),
          samples.map((s) => s.label),
        );
      });
      vae.dispose();
      dino.dispose();
      for (const t of [first.x, first.y, first.clsTarget, first.alignTarget]) t?.dispose();

      const position = JSON.parse(JSON.stringify(source.position())) as Json;
      assert.deepEqual(position, { loader: { epoch: 0, index: 2 } });
      const rest = await take(source, 4);
      const again = await createSource('imagenet256', context({}, model(), position));
      try {
        assert.deepEqual(await take(again, 4), rest);
      } finally {
        await again.close();
      }
    } finally {
      await source.close();
    }
  });
});

describe('imagenet256: every epoch draws new latents of the same images', () => {
  it('an image seen in epochs 0 and 1 gets two different samples of its posterior', async () => {
    const source = await createSource('imagenet256', context({}, model({ variant: 'sit' })));
    const planner = new BatchPlanner(6, { batchSize: 2, seed: 3 });
    const seen = new Map<number, number[][]>();
    try {
      for (const epoch of [0, 1])
        for (const index of [0, 2, 4]) {
          const b = await source.next();
          const x = values(b.x);
          planner
            .plan({ epoch, index })
            .indices.forEach((i, j) => seen.set(i, [...(seen.get(i) ?? []), x.slice(j * 4096, (j + 1) * 4096)]));
          for (const t of [b.x, b.y]) t.dispose();
        }
    } finally {
      await source.close();
    }
    assert.equal(seen.size, 6);
    for (const [i, [e0, e1]] of seen) {
      const diff = e0!.reduce((n, v, k) => n + (v !== e1![k] ? 1 : 0), 0);
      assert.ok(diff > 4000, `image ${i}: ${diff} of 4096 latent values differ between the epochs`);
    }
  });
});

describe('imagenet256: bad input, each named, nothing half-made', () => {
  const copyFolder = (name: string): string => {
    const dir = join(tmp, name);
    cpSync(IMAGENET_TINY, dir, { recursive: true });
    return dir;
  };
  const rejects = (config: Partial<TrainConfig>, m: SiTConfig, pattern: RegExp): Promise<void> =>
    assert.rejects(createSource('imagenet256', context(config, m)), (e: Error) => e instanceof DataSourceError && pattern.test(e.message));

  // sharp's own detail ("premature end of JPEG", "pngload: end of stream", at times "Unknown error") varies: the path is what counts
  it('a truncated JPEG or a corrupt PNG fails the batch that reads it, naming the file', async () => {
    const dir = copyFolder('corrupt');
    const jpeg = join(dir, 'n01443537', 'n01443537_1000.JPEG');
    writeFileSync(jpeg, readFileSync(jpeg).subarray(0, 3000));
    writeFileSync(
      join(dir, 'n01484850', 'broken.png'),
      readFileSync(fixturePath('data', 'emoji', 'img', 'google', '64', '1f347.png')).subarray(0, 100),
    );
    const source = await createSource('imagenet256', context({ dataDir: dir }, model({ variant: 'sit' })));
    try {
      // 7 images, batches of 2, 3 batches per epoch: the first epoch reads 6 of them, two epochs read both bad ones
      await assert.rejects(
        (async () => {
          for (let k = 0; k < 6; k++) for (const t of Object.values(await source.next())) (t as Tensor | null)?.dispose();
        })(),
        /cannot decode image .*(n01443537_1000\.JPEG|broken\.png): \S/,
      );
    } finally {
      await source.close();
    }
  });

  it('an empty class folder', async () => {
    const dir = copyFolder('empty-class');
    mkdirSync(join(dir, 'n09999999'));
    await rejects({ dataDir: dir }, model(), /imagenet256: image folder .*class folder n09999999 holds no image/);
  });

  it('a VAE whose latent channels, or whose image size, do not match the model', async () => {
    const eight = writeTinyVae(join(tmp, 'vae-8ch'), { latentChannels: 8 });
    await rejects(
      { vae: eight },
      model(),
      /autoencoder .*vae-8ch .* gives 8×32×32 latents \(256-px images\), but the model expects 4×32×32 \(--in-channels 4, --input-size 32\)/,
    );
    const x4 = writeTinyVae(join(tmp, 'vae-x4'), { blockOutChannels: [8, 8, 8] });
    await rejects(
      { vae: x4 },
      model(),
      /vae-x4 \(×4\) run per batch gives 4×64×64 latents \(256-px images\), but the model expects 4×32×32/,
    );
    await rejects({ vae: '' }, model(), /image folder .* needs --vae <autoencoder>/);
    await rejects({ vae: join(tmp, 'nothing') }, model(), /cannot load the autoencoder --vae .*nothing/);
  });

  it("a scaling that is not the VAE's own", async () => {
    await rejects(
      { vaeScalingFactor: 0.5 },
      model(),
      /has scaling_factor 0\.18215 but the run's --vae-scaling-factor is 0\.5; pass --vae-scaling-factor 0\.18215/,
    );
  });

  it("an encoder whose token grid or width does not match the model's", async () => {
    await rejects(
      {},
      model({ zDims: [768] }),
      /dinov2 at 224px run per batch gives 256 tokens of width 24, but the model needs 256 patch tokens of width 768/,
    );
    await rejects({ encoderWeights: '' }, model(), /cannot load the encoder 'dinov2': .*--encoder-weights/);
  });

  it('more classes than the model has; no --data-dir', async () => {
    await rejects({}, model({ numClasses: 2 }), /has 3 classes but the model only 2 \(--num-classes\)/);
    await rejects({ dataDir: '' }, model(), /--data imagenet256 needs --data-dir/);
  });
});
