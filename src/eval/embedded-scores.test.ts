/**
 * The Fréchet reference of the embedded datasets: Fashion-MNIST keeps its splits; emoji (no test split)
 * holds out the images i mod 5 = 0 as the reference and takes the others for the floor, so the floor is
 * no longer a set compared with itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixturePath } from '../../test/fixture-path.js';
import { loadEmoji } from '../data/emoji.js';
import { frechetSplits } from './embedded-scores.js';

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
