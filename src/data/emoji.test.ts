import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emojiCategoryGroups, fineEmojiLabels, loadEmoji } from './emoji.js';
import { fixturePath } from '../../test/fixture-path.js';

const DIR = fixturePath('data', 'emoji');
const sum = (a: Uint8Array): number => a.reduce((s, v) => s + v, 0);

/** CHW pixel (y, x) as [r, g, b]. */
function at(pixels: Uint8Array, size: number, y: number, x: number): number[] {
  return [0, 1, 2].map((c) => pixels[c * size * size + y * size + x]!);
}

// Expected values: Pillow + NumPy on the same PNGs with out = (c·α + 255·(255−α) + 127) // 255.
test('category labels; small classes (Component, a lone People & Body emoji, Food) left out', async () => {
  const ds = await loadEmoji({ dir: DIR });
  assert.deepEqual(ds.classNames, ['Smileys & Emotion', 'Animals & Nature']);
  assert.equal(ds.length, 27);
  assert.deepEqual([ds.channels, ds.height, ds.width], [3, 64, 64]);
  const grin = await ds.get(0);
  assert.equal(grin.label, 0);
  assert.equal(sum(grin.pixels), 2296944);
  assert.deepEqual(at(grin.pixels, 64, 32, 32), [253, 224, 48]);
  assert.deepEqual(at(grin.pixels, 64, 0, 0), [255, 255, 255]);
  assert.equal((await ds.get(26)).label, 1);
});

test('skin tones and a lower class threshold', async () => {
  const ds = await loadEmoji({ dir: DIR, skinTones: true, minPerClass: 3 });
  assert.deepEqual(ds.classNames, ['Smileys & Emotion', 'People & Body', 'Animals & Nature', 'Food & Drink']);
  assert.equal(ds.length, 17 + 6 + 10 + 6);
  const wave = await ds.get(20); // 1f44b-1f3fd: base emoji, then tones 1f3fb, 1f3fc, 1f3fd
  assert.equal(wave.label, 1);
  assert.equal(sum(wave.pixels), 2529573);
  assert.deepEqual(at(wave.pixels, 64, 32, 32), [186, 141, 104]);
  const orange = await ds.get(36); // 1f34a
  assert.equal(orange.label, 3);
  assert.equal(sum(orange.pixels), 2143457);
});

test('subcategory labels and a 32×32 resolution (Pillow bicubic)', async () => {
  const ds = await loadEmoji({ dir: DIR, labels: 'subcategory', minPerClass: 3, resolution: 32 });
  assert.deepEqual(ds.classNames, ['face-smiling', 'face-affection', 'animal-mammal', 'food-fruit']);
  assert.deepEqual([...ds.labels].filter((l) => l === 1).length, 3);
  const grin = await ds.get(0);
  assert.equal(grin.pixels.length, 3 * 32 * 32);
  assert.equal(sum(grin.pixels), 573661);
});

test("subcategories of the kept categories only (minPerCategory), each with its category's index", async () => {
  const byCategory = await loadEmoji({ dir: DIR });
  const bySub = await loadEmoji({ dir: DIR, ...fineEmojiLabels('subcategory') });
  // Component (skin-tone), People & Body and Food & Drink have fewer than 10 images: their subcategories go too
  assert.deepEqual(bySub.classNames, ['face-smiling', 'face-affection', 'animal-mammal']);
  assert.equal(bySub.length, byCategory.length, 'the same images as the category labelling');
  const { categories, parents: parent } = emojiCategoryGroups('subcategory', DIR);
  assert.deepEqual(categories, byCategory.classNames);
  assert.deepEqual([...parent], [0, 0, 1]);
  for (let i = 0; i < bySub.length; i++) assert.equal(parent[bySub.labels[i]!], byCategory.labels[i], `image ${i}`);
});

test('name labels: one class per emoji of the kept categories, each with its category', async () => {
  const byCategory = await loadEmoji({ dir: DIR });
  const byName = await loadEmoji({ dir: DIR, ...fineEmojiLabels('name') });
  assert.equal(byName.name, 'emoji/name');
  assert.equal(byName.length, byCategory.length, 'the same images as the category labelling');
  assert.equal(byName.numClasses, 27);
  assert.deepEqual(byName.classNames.slice(0, 3), ['grinning', 'smiley', 'smile']);
  assert.deepEqual(byName.classNames.slice(17, 19), ['monkey_face', 'monkey']);
  assert.deepEqual([...byName.labels], [...Array(27).keys()], 'image i is class i');
  assert.equal(sum((await byName.get(17)).pixels), sum((await byCategory.get(17)).pixels));
  const { categories, parents } = emojiCategoryGroups('name', DIR);
  assert.deepEqual(categories, byCategory.classNames);
  assert.deepEqual([...parents], [...byCategory.labels]);
});

test('missing metadata gives a clear error', async () => {
  await assert.rejects(loadEmoji({ dir: '/nonexistent/emoji' }), /emoji metadata not found: \/nonexistent\/emoji\/emoji\.json/);
  await assert.rejects(loadEmoji({ dir: DIR, minPerClass: 100 }), /no category has at least 100 images/);
});
