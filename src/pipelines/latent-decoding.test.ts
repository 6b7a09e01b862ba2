/**
 * Latent decoding against the PyTorch reference pipeline (test/reference/pipeline/make_pipeline_fixtures.py):
 * the per-image noise streams are the ones the reference drew, the SDE sampler on the official-format
 * checkpoint gives its latents, and the diffusers-layout autoencoder decodes them to its pixels. Then the
 * fit checks (latent channels, image size).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as torch from '../torch/index.js';
import { loadModel } from '../models/pretrained.js';
import { LatentDecoder, loadAutoencoder, SD_VAE_CONFIG, type AutoencoderKLConfig } from '../models/autoencoders/index.js';
import { resolveConfig } from '../models/configs.js';
import { ImageNoise } from '../diffusion/noise.js';
import { sample } from '../diffusion/samplers.js';
import { AutoencoderMismatchError, checkAutoencoderFits } from './latent-decoding.js';
import { loadFixture } from '../../test/diffusion-testing.js';
import { fixturePath } from '../../test/fixture-path.js';
import { relError } from '../../test/relative-error.js';
import { sameTensor as same } from '../../test/same-tensor.js';

const fx = loadFixture('pipeline', 'expected.safetensors');
const settings = JSON.parse(fx.meta.settings!) as {
  seed: number;
  labels: number[];
  steps: number;
  cfg: number;
  cls_cfg: number;
  guidance_low: number;
  guidance_high: number;
  num_heads: number;
};
const vae = loadAutoencoder(fixturePath('pipeline', 'tiny-vae'));
after(() => {
  fx.dispose();
  vae.dispose();
});

describe('latent decoding: the reference pipeline stage by stage', () => {
  test('reg-ts draws the noise the reference consumed (x_T, c_T and every SDE step, exactly)', () => {
    torch.scope(() => {
      const [, C, H] = fx.get('noise.x_T').shape as number[];
      const noise = new ImageNoise(settings.seed, [0, 1], { channels: C!, size: H!, clsDim: fx.get('noise.c_T').shape[1]! });
      const init = noise.initial();
      assert.ok(same(init.x, fx.get('noise.x_T')), 'x_T');
      assert.ok(same(init.c!, fx.get('noise.c_T')), 'c_T');
      for (let i = 0; i < settings.steps - 1; i++) {
        const s = noise.step(i, init.x, init.c);
        assert.ok(same(s.x, fx.get('noise.xi_x').select(0, i)), `xi_x ${i}`);
        assert.ok(same(s.c!, fx.get('noise.xi_c').select(0, i)), `xi_c ${i}`);
      }
    });
  });

  test('SDE latents of the official-format checkpoint (EMA weights) and their decode match the reference (fp32, ≤ 1e-5)', () => {
    const model = loadModel(fixturePath('pipeline', 'official_tiny.pt'), { overrides: { numHeads: settings.num_heads } });
    try {
      torch.scope(() => {
        const [, C, H] = fx.get('noise.x_T').shape as number[];
        const noise = new ImageNoise(settings.seed, [0, 1], { channels: C!, size: H!, clsDim: fx.get('noise.c_T').shape[1]! });
        const y = torch.tensor(settings.labels, { dtype: 'int64' });
        const r = sample(
          model,
          noise.initial(),
          y,
          {
            sampler: 'sde',
            numSteps: settings.steps,
            cfgScale: settings.cfg,
            clsCfgScale: settings.cls_cfg,
            guidanceLow: settings.guidance_low,
            guidanceHigh: settings.guidance_high,
          },
          noise.step,
        );
        const latentErr = relError(r.x, fx.get('latents'));
        const pixels = torch.noGrad(() => new LatentDecoder(vae).decode(fx.get('latents').to('float32')));
        const pixelErr = relError(pixels, fx.get('decoded'));
        console.log(`latents rel. error ${latentErr.toExponential(2)}, decoded pixels rel. error ${pixelErr.toExponential(2)}`);
        assert.ok(latentErr <= 1e-5, `latents: ${latentErr}`);
        assert.ok(pixelErr <= 1e-5, `decoded: ${pixelErr}`);
      });
    } finally {
      model.dispose();
    }
  });
});

describe('checkAutoencoderFits', () => {
  const sd = SD_VAE_CONFIG as AutoencoderKLConfig;
  const xl = resolveConfig('SiT-XL/2');

  test('SD-VAE fits SiT-XL/2 on 32×32×4 latents (256 px)', () => {
    assert.doesNotThrow(() => checkAutoencoderFits(sd, xl));
  });

  test('other latent channels or another image size are refused, naming both numbers', () => {
    assert.throws(
      () => checkAutoencoderFits({ ...sd, latentChannels: 16 }, xl, 'vae/'),
      (e: Error) =>
        e instanceof AutoencoderMismatchError && /vae\/ has 16 latent channels but the model generates 4-channel latents/.test(e.message),
    );
    assert.throws(
      () => checkAutoencoderFits(sd, resolveConfig('SiT-XL/2', { inputSize: 64 })),
      (e: Error) =>
        e instanceof AutoencoderMismatchError &&
        /works on 256×256 images but the model's 64×64 latents decode to 512×512 \(×8\)/.test(e.message),
    );
  });
});
