/**
 * Which embedded dataset a run trained on, and how its requested classes are scored: an
 * `emoji-subcategory` or `emoji-name` run is scored by the category of each requested class.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixturePath } from '../../test/fixture-path.js';
import { runDataset, scoredLabels } from './embedded-run.js';

const EMOJI = fixturePath('data', 'emoji');

test('the dataset of a run: embedded names, emoji subcategories and names, anything else null', () => {
  assert.deepEqual(runDataset({ data: 'fashion-mnist', dataDir: '/d' }), { dataset: 'fashion-mnist', fineLabels: null, dataDir: '/d' });
  assert.deepEqual(runDataset({ data: 'emoji-subcategory' }), { dataset: 'emoji', fineLabels: 'subcategory', dataDir: '' });
  assert.deepEqual(runDataset({ data: 'emoji-name' }), { dataset: 'emoji', fineLabels: 'name', dataDir: '' });
  assert.equal(runDataset({ data: 'folder', dataDir: '/imagenet' }), null);
});

test('subcategory and name labels are scored as their categories; other runs keep their labels', () => {
  // the fixture's subcategory classes: face-smiling, face-affection (Smileys & Emotion = 0), animal-mammal (Animals & Nature = 1)
  const sub = { dataset: 'emoji', fineLabels: 'subcategory', dataDir: EMOJI } as const;
  assert.deepEqual([...scoredLabels([2, 0, 1, 2], sub)], [1, 0, 0, 1]);
  assert.throws(() => scoredLabels([3], sub), /requested class 3 is not one of the 3 emoji subcategory classes/);
  assert.deepEqual([...scoredLabels([2, 0], { ...sub, fineLabels: null })], [2, 0]);
  // the fixture's 27 emoji of the kept categories: 17 smileys, then 10 animals
  const byName = { ...sub, fineLabels: 'name' } as const;
  assert.deepEqual([...scoredLabels([0, 16, 17, 26], byName)], [0, 0, 1, 1]);
  assert.throws(() => scoredLabels([27], byName), /requested class 27 is not one of the 27 emoji name classes/);
});
