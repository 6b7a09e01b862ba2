/**
 * The demo's requested classes: identity without finer model classes; with them (emoji subcategories),
 * each scored class's samples spread over its training images' model classes in proportion.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balancedClasses, gridClasses, modelLabelsFor } from './demo-labels.js';

test('grid rows and balanced evaluation classes', () => {
  assert.deepEqual([...gridClasses(3, 2)], [0, 0, 1, 1, 2, 2]);
  assert.deepEqual([...balancedClasses(3, 7)], [0, 1, 2, 0, 1, 2, 0]);
});

test('without finer classes the model classes are the scored ones', () => {
  assert.deepEqual([...modelLabelsFor(Int32Array.from([2, 0, 1]), { labels: Int32Array.from([0, 1, 2]) }, null)], [2, 0, 1]);
});

test('finer classes follow the training images: scored class 0 = model classes 0 (6 images) and 1 (2 images)', () => {
  // model classes 0, 1 → scored 0; 2 → scored 1
  const parents = Int32Array.from([0, 0, 1]);
  const train = { labels: Int32Array.from([0, 0, 0, 1, 2, 0, 0, 0, 1, 2]) };
  // 4 samples of scored class 0 take images ⌊(q + ½)·8/4⌋ = 1, 3, 5, 7 of its 8: labels 0, 1, 0, 1
  assert.deepEqual([...modelLabelsFor(gridClasses(2, 4), train, parents)], [0, 1, 0, 1, 2, 2, 2, 2]);
  // 2 samples: images 2 and 6 of class 0 (labels 0, 0), interleaved with class 1
  assert.deepEqual([...modelLabelsFor(balancedClasses(2, 4), train, parents)], [0, 2, 0, 2]);
  assert.throws(() => modelLabelsFor(Int32Array.from([2]), train, parents), /no training image belongs to scored class 2/);
});
