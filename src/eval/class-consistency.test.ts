import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import * as torch from '../torch/index.js';
import { samplingRunFolder, splitFashionMnist } from '../../test/embedded-fixtures.js';
import { fixturePath } from '../../test/fixture-path.js';
import { classConsistency, embeddedClassifier } from './class-consistency.js';
import { datasetImages, datasetImagesAt } from './dataset-images.js';
import { embeddedRunScores } from './embedded-run.js';
import { embeddedSampleScores } from './embedded-scores.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-class-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the Fashion-MNIST classifier trained on 200 real images beats chance clearly on 100 held-out ones, is cached and reused', async () => {
  const dataDir = await splitFashionMnist(path.join(tmp, 'fashion-mnist'));
  const cacheDir = path.join(tmp, 'cache');
  const settings = { epochs: 12, batchSize: 20 };
  const a = await embeddedClassifier('fashion-mnist', 32, { dataDir, cacheDir, settings, progress: false });
  assert.equal(a.reused, false);
  assert.equal(a.record.trainImages, 200);
  assert.equal(a.record.testImages, 100);
  assert.equal(a.record.channels, 1);
  assert.match(a.record.testSplit, /test split \(pad to 32\)/);
  assert.ok(a.record.testAccuracy >= 0.5, `held-out accuracy ${a.record.testAccuracy}`);
  assert.ok(a.file.startsWith(cacheDir));
  const b = await embeddedClassifier('fashion-mnist', 32, { dataDir, cacheDir, settings, progress: false });
  assert.equal(b.reused, true);
  assert.deepEqual(b.record, a.record);

  // class consistency of real test images "generated" for their true labels is the classifier's test accuracy
  const test = loadFashionMnist({ dir: dataDir, split: 'test', resolution: 32, channels: 3 });
  const images = await datasetImages(test, 100);
  torch.scope(() => {
    const x = torch.fromBytes(images.data, 'uint8', images.shape);
    const own = classConsistency(b.classifier, x, test.labels);
    assert.equal(own.score, a.record.testAccuracy);
    assert.equal(own.samples, 100);
    assert.equal(own.perClass.length, 10);
    const wrong = classConsistency(
      b.classifier,
      x,
      test.labels.map((l) => (l + 1) % 10),
    );
    assert.ok(wrong.score < 0.2, `${wrong.score}`);
    assert.throws(() => classConsistency(b.classifier, x, test.labels.subarray(0, 5)), /100 samples but 5 requested labels/);
    assert.throws(
      () =>
        classConsistency(
          b.classifier,
          x,
          test.labels.map(() => 10),
        ),
      /requested label 10 at index 0 is not in \[0, 10\)/,
    );
    assert.throws(() => classConsistency(b.classifier, x.narrow(1, 0, 28), test.labels), /expected uint8 RGB images \(N, 32, 32, 3\)/);
  });

  // other settings: another cache file, trained again
  const c = await embeddedClassifier('fashion-mnist', 32, { dataDir, cacheDir, settings: { ...settings, epochs: 1 }, progress: false });
  assert.equal(c.reused, false);
  assert.notEqual(c.file, a.file);
  for (const m of [a, b, c]) m.classifier.dispose();
});

test('embeddedSampleScores: FD-MobileNetV2 with its floor and class consistency of samples of a Fashion-MNIST run', async () => {
  const dataDir = path.join(tmp, 'fashion-mnist');
  const test = loadFashionMnist({ dir: dataDir, split: 'test', resolution: 32 });
  // "samples": the first 20 test images themselves, requested as their true classes
  const samples = await datasetImagesAt(
    test,
    Array.from({ length: 20 }, (_, i) => i),
  );
  const labels = test.labels.slice(0, 20);
  const r = await embeddedSampleScores({
    dataset: 'fashion-mnist',
    samples,
    labels,
    dataDir,
    encoderWeights: fixturePath('encoders/mobilenetv2-block10'),
    classifierCacheDir: path.join(tmp, 'cache-scores'),
  });
  assert.ok(Math.abs(r.frechet.value) < 1e-3, `the samples are the reference images: ${r.frechet.value}`);
  assert.ok(r.frechet.realVsReal > 1, `train vs test images: ${r.frechet.realVsReal}`);
  assert.equal(r.frechet.samples, 20);
  assert.match(r.frechet.reference, /fashion-mnist\/test \(first 20\)/);
  assert.match(r.frechet.metric, /not FID/);
  assert.equal(r.classConsistency.samples, 20);
  assert.equal(r.classConsistency.classifier.record.trainImages, 200);
  assert.ok(r.classConsistency.score > 0.3, `${r.classConsistency.score}`);
});

test('embeddedRunScores finds the dataset of a sampling run through its checkpoint; null for other data', async () => {
  const dataDir = path.join(tmp, 'fashion-mnist');
  const fashion = await samplingRunFolder(tmp, 'fashion', 'fashion-mnist', dataDir);
  const synthetic = await samplingRunFolder(tmp, 'synthetic', 'synthetic', dataDir);
  const o = { encoderWeights: fixturePath('encoders/mobilenetv2-block10'), classifierCacheDir: path.join(tmp, 'cache-scores') };
  const r = await embeddedRunScores(fashion, o);
  assert.ok(r);
  assert.equal(r.dataset, 'fashion-mnist');
  assert.equal(r.dataDir, dataDir);
  assert.ok(Math.abs(r.frechet.value) < 1e-3, String(r.frechet.value));
  assert.equal(r.classConsistency.samples, 20);
  assert.equal(await embeddedRunScores(synthetic, o), null);
  await assert.rejects(() => embeddedRunScores(tmp, o), /samples\.json not found/);
});

test('the emoji classifier holds out the images i mod 5 = 0 (emoji has no test split) and sees RGB', async () => {
  const r = await embeddedClassifier('emoji', 16, {
    dataDir: fixturePath('data/emoji'),
    cacheDir: path.join(tmp, 'cache-emoji'),
    settings: { epochs: 2, batchSize: 8 },
    progress: false,
  });
  assert.equal(r.record.channels, 3);
  assert.equal(r.record.trainImages + r.record.testImages, 27);
  assert.equal(r.record.testImages, 6, 'images 0, 5, 10, 15, 20, 25');
  assert.match(r.record.testSplit, /i mod 5 = 0 of the whole set \(emoji has no test split\)/);
  assert.deepEqual(r.record.classNames, ['Smileys & Emotion', 'Animals & Nature']);
  r.classifier.dispose();
});
