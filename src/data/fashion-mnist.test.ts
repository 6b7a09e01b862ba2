import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist } from './fashion-mnist.js';
import { fixturePath } from '../../test/fixture-path.js';

const DIR = fixturePath('data', 'fashion-mnist');
const sum = (a: Uint8Array): number => a.reduce((s, v) => s + v, 0);

test('the committed slice: 300 test images, labels, class names and pixel values', async () => {
  const ds = loadFashionMnist({ dir: DIR, split: 'test' });
  assert.equal(ds.name, 'fashion-mnist/test');
  assert.equal(ds.length, 300);
  assert.deepEqual([ds.channels, ds.height, ds.width, ds.numClasses], [1, 28, 28, 10]);
  assert.equal(ds.classNames[9], 'Ankle boot');
  assert.deepEqual([...ds.labels.subarray(0, 12)], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5]);
  const counts = new Array<number>(10).fill(0);
  for (const l of ds.labels) counts[l]!++;
  assert.deepEqual(counts, [32, 35, 39, 24, 30, 27, 28, 29, 29, 27]);
  const first = await ds.get(0);
  assert.equal(first.label, 9);
  assert.equal(sum(first.pixels), 33456);
  assert.deepEqual([...first.pixels.subarray(14 * 28 + 10, 14 * 28 + 16)], [0, 0, 98, 136, 110, 109]);
  assert.equal(sum((await ds.get(299)).pixels), 43991);
  let total = 0;
  for (let i = 0; i < ds.length; i++) total += sum((await ds.get(i)).pixels);
  assert.equal(total, 17441706);
});

test('pad to 32×32 and replicate to 3 channels', async () => {
  const ds = loadFashionMnist({ dir: DIR, split: 'test', resolution: 32, channels: 3 });
  assert.deepEqual([ds.channels, ds.height, ds.width], [3, 32, 32]);
  const { pixels } = await ds.get(0);
  assert.equal(pixels.length, 3 * 32 * 32);
  assert.equal(sum(pixels), 3 * 33456);
  const plane = pixels.subarray(0, 1024);
  assert.deepEqual(pixels.subarray(2048), plane);
  assert.equal(plane[16 * 32 + 2 + 12], 98); // row 14 col 12 moved by the 2-pixel border
  assert.equal(sum(plane.subarray(0, 64)) + sum(plane.subarray(30 * 32)), 0);
});

test('resize to 16×16 (bicubic) and the limit option', async () => {
  const ds = loadFashionMnist({ dir: DIR, split: 'test', resolution: 16, limit: 5 });
  assert.equal(ds.length, 5);
  const { pixels } = await ds.get(0);
  assert.equal(pixels.length, 256);
  // Area shrinks by (16/28)²; the mean brightness is nearly preserved.
  assert.ok(Math.abs(sum(pixels) / 256 - 33456 / 784) < 2);
  assert.throws(() => loadFashionMnist({ dir: DIR, split: 'test', resolution: 20, fit: 'pad' }), /cannot pad/);
  await assert.rejects(ds.get(5), /index 5 out of range/);
});

test('clear errors for a missing directory or file, naming the Debian package', () => {
  const missing = join(tmpdir(), 'no-such-fashion-mnist');
  assert.throws(
    () => loadFashionMnist({ dir: missing }),
    (e: Error) => e.message.includes(missing) && e.message.includes('apt-get install dataset-fashion-mnist'),
  );
  assert.throws(
    () => loadFashionMnist({ dir: DIR, split: 'train' }),
    (e: Error) => e.message.includes(join(DIR, 'train-images-idx3-ubyte.gz')) && e.message.includes('dataset-fashion-mnist'),
  );
  assert.throws(() => loadFashionMnist({ dir: mkdtempSync(join(tmpdir(), 'reg-fm-')), split: 'test' }), /t10k-images-idx3-ubyte\.gz/);
});

test('the installed Debian package, when present: 60,000 + 10,000 images', { skip: !existsSync(FASHION_MNIST_DIR) }, async () => {
  assert.equal(loadFashionMnist({ split: 'train' }).length, 60000);
  const t = loadFashionMnist({ split: 'test' });
  assert.equal(t.length, 10000);
  assert.equal(sum((await t.get(0)).pixels), 33456);
  assert.equal(FASHION_MNIST_CLASSES.length, 10);
});
