/**
 * The Fréchet reference of the embedded datasets: Fashion-MNIST keeps its splits; emoji (no test split)
 * holds out the images i mod 5 = 0 as the reference and takes the others for the floor, so the floor is
 * no longer a set compared with itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixturePath } from '../../test/fixture-path.js';
import { loadEmoji } from '../data/emoji.js';
import { createEncoder } from '../models/encoders/encoder.js';
import { datasetImages } from './dataset-images.js';
import { featureScores, frechetSplits } from './embedded-scores.js';

test('frechetSplits: emoji reference = images i mod 5 = 0, floor set = the others, disjoint and in order', async () => {
  const ds = await loadEmoji({ labels: 'category', resolution: 16, dir: fixturePath('data/emoji') });
  const { test: ref, train: floor } = frechetSplits('emoji', ds, ds);
  assert.equal(ref.length, Math.ceil(ds.length / 5));
  assert.equal(ref.length + floor.length, ds.length);
  assert.match(ref.name, /\(images i mod 5 = 0\)$/);
  assert.match(floor.name, /\(images i mod 5 ≠ 0\)$/);
  assert.deepEqual(
    Array.from(ref.labels),
    Array.from(ds.labels).filter((_, i) => i % 5 === 0),
  );
  assert.deepEqual(
    Array.from(floor.labels),
    Array.from(ds.labels).filter((_, i) => i % 5 !== 0),
  );
  assert.deepEqual((await ref.get(1)).pixels, (await ds.get(5)).pixels);
  assert.deepEqual((await floor.get(4)).pixels, (await ds.get(6)).pixels);
  assert.throws(() => ref.get(ref.length), RangeError);
  const fm = { ...ds, name: 'fm' };
  assert.deepEqual(frechetSplits('fashion-mnist', fm, ds), { test: fm, train: ds });
});

test('featureScores: the test images scored as samples are inside their own manifold (precision = recall = 1, FD 0); blank images are outside it', async () => {
  const ds = await loadEmoji({ labels: 'category', resolution: 16, dir: fixturePath('data/emoji') });
  const { test: ref, train: floor } = frechetSplits('emoji', ds, ds);
  const encoder = await createEncoder('mobilenetv2', { inputSize: 32, weights: fixturePath('encoders/mobilenetv2-block10') });
  try {
    const real = await datasetImages(ref, ref.length);
    const same = await featureScores(encoder, real, ref, floor);
    assert.ok(Math.abs(same.value) < 1e-3, String(same.value));
    assert.deepEqual([same.precision, same.recall], [1, 1]);
    assert.ok(same.realVsReal > 1, `two disjoint real sets: ${same.realVsReal}`);
    const blank = { ...real, data: new Uint8Array(real.data.length) };
    const off = await featureScores(encoder, blank, ref, floor);
    assert.ok(off.value > same.realVsReal, `${off.value}`);
    // All blank samples are one point: it covers no real image; it lies inside the real manifold only if a real image's radius reaches it.
    assert.equal(off.recall, 0);
    assert.equal(off.realVsReal, same.realVsReal);
  } finally {
    encoder.dispose();
  }
});
