/**
 * Images by global index: an image does not depend on the batch it is drawn in, and its label counts.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { loadFixture, sitFromFixture } from '../../test/diffusion-testing.js';
import type { Autoencoder } from './decode.js';
import { sampleImages } from './sample-images.js';
import type { SampleOptions } from './samplers.js';

const fx = loadFixture('reference', 'sit_reg_f64.safetensors');
after(() => fx.dispose());

/** The fixture model has 4 latent channels: show the first three, squashed into [−1, 1]. */
const decoder: Autoencoder = { decode: (x: Tensor) => torch.scope(() => x.narrow(1, 0, 3).mul(0.5).tanh()) };
const opts: SampleOptions = { sampler: 'sde', numSteps: 5, cfgScale: 2, clsCfgScale: 1.5, guidanceLow: 0, guidanceHigh: 0.7 };

const bytes = (t: Tensor): number[] => {
  const out = [...t.toBytes()];
  t.dispose();
  return out;
};

test('sampleImages: uint8 (B, H, W, 3), each image the same in any batch', () => {
  const model = sitFromFixture(fx).eval();
  const whole = sampleImages(model, decoder, { seed: 3, indices: [4, 1, 6], labels: [2, 7, 2] }, opts);
  assert.deepEqual([whole.dtype, whole.shape], ['uint8', [3, 6, 6, 3]]);
  const all = bytes(whole);
  const image = 6 * 6 * 3;
  const alone = bytes(sampleImages(model, decoder, { seed: 3, indices: [1], labels: [7] }, opts));
  assert.deepEqual(alone, all.slice(image, 2 * image));
  const pair = bytes(sampleImages(model, decoder, { seed: 3, indices: [6, 4], labels: [2, 2] }, opts));
  assert.deepEqual(pair, [...all.slice(2 * image), ...all.slice(0, image)]);
  assert.ok(new Set(all).size > 20, 'images are not constant');
  const otherLabel = bytes(sampleImages(model, decoder, { seed: 3, indices: [1], labels: [3] }, opts));
  assert.notDeepEqual(otherLabel, alone, 'the label changes the image');
  const otherSeed = bytes(sampleImages(model, decoder, { seed: 4, indices: [1], labels: [7] }, opts));
  assert.notDeepEqual(otherSeed, alone, 'the seed changes the image');
});

test('sampleImages: one label per index', () => {
  const model = sitFromFixture(fx).eval();
  assert.throws(() => sampleImages(model, decoder, { seed: 0, indices: [0, 1], labels: [0] }, opts), /1 labels for 2 images/);
});
