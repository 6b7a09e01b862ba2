/**
 * `reg prepare --dataset`: the names it accepts and the dataset specs they become; an emoji labelling
 * finer than the category keeps exactly the default's images (fineEmojiLabels).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../args.js';
import { parseDatasetArg } from './prepare.js';

test('emoji labellings: category by default, subcategory and name over the default images', () => {
  assert.deepEqual(parseDatasetArg('emoji'), { kind: 'emoji', labels: 'category' });
  assert.deepEqual(parseDatasetArg('emoji:subcategory', { resolution: 32 }), {
    kind: 'emoji',
    labels: 'subcategory',
    minPerClass: 1,
    minPerCategory: 10,
    resolution: 32,
  });
  assert.deepEqual(parseDatasetArg('emoji:name', { dir: '/e' }), {
    kind: 'emoji',
    labels: 'name',
    minPerClass: 1,
    minPerCategory: 10,
    dir: '/e',
  });
});

test('an unknown labelling or dataset is refused, naming the choices', () => {
  assert.throws(
    () => parseDatasetArg('emoji:family'),
    (e: unknown) => e instanceof UsageError && /emoji:family: labels must be category, subcategory or name/.test(e.message),
  );
  assert.throws(
    () => parseDatasetArg('cifar'),
    /unknown dataset 'cifar' \(fashion-mnist\[:train\|:test\], emoji\[:category\|:subcategory\|:name\]/,
  );
});
