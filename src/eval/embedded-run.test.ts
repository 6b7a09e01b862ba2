/**
 * Which embedded dataset a run trained on, and how its requested classes are scored: an
 * `emoji-subcategory` run is scored by the category of each requested subcategory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixturePath } from '../../test/fixture-path.js';
import { runDataset, scoredLabels } from './embedded-run.js';

const EMOJI = fixturePath('data', 'emoji');

test('the dataset of a run: embedded names, emoji subcategories, anything else null', () => {
  assert.deepEqual(runDataset({ data: 'fashion-mnist', dataDir: '/d' }), { dataset: 'fashion-mnist', subcategories: false, dataDir: '/d' });
  assert.deepEqual(runDataset({ data: 'emoji-subcategory' }), { dataset: 'emoji', subcategories: true, dataDir: '' });
  assert.equal(runDataset({ data: 'folder', dataDir: '/imagenet' }), null);
});

test('subcategory labels are scored as their categories; other runs keep their labels', () => {
  // the fixture's subcategory classes: face-smiling, face-affection (Smileys & Emotion = 0), animal-mammal (Animals & Nature = 1)
  const sub = { dataset: 'emoji', subcategories: true, dataDir: EMOJI } as const;
  assert.deepEqual([...scoredLabels([2, 0, 1, 2], sub)], [1, 0, 0, 1]);
  assert.throws(() => scoredLabels([3], sub), /requested class 3 is not one of the 3 emoji subcategories/);
  assert.deepEqual([...scoredLabels([2, 0], { ...sub, subcategories: false })], [2, 0]);
});
