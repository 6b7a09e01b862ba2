/**
 * The autoencoder trainer on a few real Fashion-MNIST images (the committed test-split slice, read
 * here from its IDX file: this layer does not import src/data): the loss falls, the folder it writes
 * loads back with loadAutoencoder to bit-identical outputs, and the record's numbers are the ones the
 * written autoencoder gives.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import { fixturePath } from '../../test/fixture-path.js';
import type { AutoencoderKLConfig } from '../models/autoencoders/config.js';
import { createAutoencoderKL } from '../models/autoencoders/autoencoder-kl.js';
import { loadAutoencoder } from '../models/autoencoders/load.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { AUTOENCODER_RECORD_FILE, autoencoderLoss, reconstructionError, trainAutoencoder, type AutoencoderRecord } from './autoencoder.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-autoencoder-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Images [from, from + n) of the committed Fashion-MNIST slice as uint8 (n, 3, 28, 28), grey repeated. */
function fashionImages(from: number, n: number): Tensor {
  const idx = gunzipSync(readFileSync(fixturePath('data/fashion-mnist/t10k-images-idx3-ubyte.gz')));
  const bytes = idx.subarray(16 + from * 784, 16 + (from + n) * 784);
  return torch.scope(() => torch.fromBytes(bytes, 'uint8', [n, 1, 28, 28]).expand(n, 3, 28, 28).contiguous());
}

const CONFIG: AutoencoderKLConfig = {
  inChannels: 3,
  outChannels: 3,
  latentChannels: 4,
  blockOutChannels: [16, 32],
  layersPerBlock: 1,
  normNumGroups: 8,
  scalingFactor: 1,
  shiftFactor: 0,
  sampleSize: 28,
};

test('trainAutoencoder: the loss falls and the diffusers folder loads back to identical outputs', { timeout: 180_000 }, () => {
  const train = fashionImages(0, 64);
  const test = fashionImages(200, 32);
  const out = path.join(tmp, 'vae');
  const { vae, record } = trainAutoencoder({
    config: CONFIG,
    train,
    test,
    out,
    steps: 40,
    budgetSeconds: 600,
    batchSize: 8,
    learningRate: 2e-3,
    klWeight: 1e-6,
    seed: 3,
    info: { note: 'test' },
  });
  // A step count ends training (the budget is a safety net).
  assert.equal(record.training.steps, 40);
  assert.ok(
    record.training.reconstructionEnd < 0.7 * record.training.reconstructionStart,
    `reconstruction ${record.training.reconstructionStart} → ${record.training.reconstructionEnd}`,
  );

  // Diffusers layout, the record, and nothing half-written beside it.
  assert.deepEqual(readdirSync(out).sort(), [AUTOENCODER_RECORD_FILE, 'config.json', 'diffusion_pytorch_model.safetensors']);
  assert.deepEqual(
    readdirSync(tmp).filter((f) => f.includes('partial')),
    [],
  );
  const written = JSON.parse(readFileSync(path.join(out, AUTOENCODER_RECORD_FILE), 'utf8')) as AutoencoderRecord;
  assert.deepEqual(written, JSON.parse(JSON.stringify(record)));
  assert.deepEqual(written.info, { note: 'test' });
  const diffusersConfig = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(diffusersConfig.scaling_factor, record.latents.scalingFactor);
  assert.deepEqual(diffusersConfig.block_out_channels, [16, 32]);

  // LDM's latent scale: 1 / std of the posterior samples (64 training images, 4×14×14 latents each).
  assert.deepEqual(record.latents.shape, [4, 14, 14]);
  assert.equal(record.latents.images, 64);
  assert.equal(record.latents.scalingFactor, 1 / record.latents.std);
  assert.equal(vae.config.scalingFactor, record.latents.scalingFactor);

  const loaded = loadAutoencoder(out);
  assert.deepEqual(loaded.config, vae.config);
  torch.noGrad(() =>
    torch.scope(() => {
      const x = test.to({ dtype: 'float32' }).div(127.5).sub(1);
      const a = vae.encode(x);
      const b = loaded.encode(x);
      assert.equal(a.mean.sub(b.mean).abs().max().item(), 0);
      assert.equal(a.std.sub(b.std).abs().max().item(), 0);
      assert.equal(vae.decode(a.mean).sub(loaded.decode(b.mean)).abs().max().item(), 0);
    }),
  );
  // The record's held-out error is the written autoencoder's, PSNR = 10·log10(1 / MSE) on [0, 1] pixels.
  const again = reconstructionError(loaded, test);
  assert.deepEqual(again, record.reconstruction);
  assert.equal(record.reconstruction.images, 32);
  assert.ok(Math.abs(record.reconstruction.psnr - 10 * Math.log10(1 / record.reconstruction.mse)) < 1e-12);
  assert.ok(record.reconstruction.mse > 0 && record.reconstruction.mse < 0.1, String(record.reconstruction.mse));
  assert.ok(existsSync(out));
  for (const t of [vae, loaded, train, test]) t.dispose();
});

test('autoencoderLoss: squared error of decode(μ + σε) and KL(N(μ, σ²) ‖ N(0, 1)) summed over latents ÷ pixels', () => {
  const vae = createAutoencoderKL(CONFIG, { generator: new torch.Generator(1) });
  torch.noGrad(() =>
    torch.scope(() => {
      const x = torch
        .rand([2, 3, 8, 8], { generator: new torch.Generator(2) })
        .mul(2)
        .sub(1);
      const loss = autoencoderLoss(vae, x, new torch.Generator(5));
      // the same by hand, ε from an identically seeded generator; KL summed in float64
      const { mean, std } = vae.encode(x);
      const eps = torch.randn(mean.shape, { generator: new torch.Generator(5) });
      const rec = vae
        .decode(mean.add(std.mul(eps)))
        .sub(x)
        .square()
        .mean()
        .item() as number;
      const mu = mean.toTypedArray() as Float32Array;
      const sd = std.toTypedArray() as Float32Array;
      let kl = 0;
      for (let i = 0; i < mu.length; i++) kl += 0.5 * (mu[i]! ** 2 + sd[i]! ** 2 - 1 - 2 * Math.log(sd[i]!));
      kl /= 2 * 3 * 8 * 8;
      assert.equal(loss.reconstruction.item(), rec);
      assert.ok(Math.abs((loss.kl.item() as number) - kl) <= 1e-5 * Math.abs(kl), `${loss.kl.item()} vs ${kl}`);
      assert.ok(kl > 0);
    }),
  );
  vae.dispose();
});
