/**
 * End to end: the whole `reg demo` pipeline at a tiny size on committed real data (300 Fashion-MNIST
 * test images, used as both splits) and the real MobileNetV2 weights in their TF.js format — no
 * network. Checks every output exists with the right layout and that training lowered the loss.
 * Training runs a fixed number of steps, so the test does not depend on the machine's speed.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import { readNpz } from '../../eval/npz.js';
import { parseArgs } from '../args.js';
import { demoCommand, runDemo, type DemoSettings } from './demo.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-demo-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('reg demo runs end to end at a tiny size', { timeout: 240_000 }, async () => {
  // The committed slice has only the test split: serve it as the train split too.
  const data = path.join(tmp, 'fashion-mnist');
  mkdirSync(data);
  for (const kind of ['images-idx3', 'labels-idx1']) {
    const src = fixturePath(`data/fashion-mnist/t10k-${kind}-ubyte.gz`);
    copyFileSync(src, path.join(data, `t10k-${kind}-ubyte.gz`));
    copyFileSync(src, path.join(data, `train-${kind}-ubyte.gz`));
  }
  const out = path.join(tmp, 'demo');
  const argv = [
    '--data-dir',
    data,
    '--encoder-weights',
    fixturePath('encoders/mobilenetv2-block10'),
    '--out',
    out,
    '--budget',
    '120',
    '--train-steps',
    '40',
    '--train-images',
    '128',
    '--batch-size',
    '16',
    '--steps',
    '4',
    '--eval-samples',
    '20',
    '--learning-rate',
    '0.002',
  ];
  const settings = parseArgs(argv, demoCommand.options).options as unknown as DemoSettings;
  const summary = await runDemo(settings);

  assert.equal(summary.features.images, 128);
  assert.equal(summary.features.tokens, 16);
  assert.equal(summary.features.dim, 96);
  // A step count, not the clock, ends training: the budget (120 s for about 5 s of steps here) is a
  // safety net that a machine 2× slower or under load never reaches.
  assert.ok(summary.training.steps >= 5, `only ${summary.training.steps} steps in the budget`);
  assert.equal(summary.training.steps, 40);
  assert.ok(summary.training.denoiseLossEnd < summary.training.denoiseLossStart, JSON.stringify(summary.training));

  assert.ok(summary.grid && existsSync(summary.grid));
  const npz = readNpz(summary.evaluation.npz!).get('arr_0')!;
  assert.equal(npz.dtype, 'uint8');
  assert.deepEqual(npz.shape, [20, 32, 32, 3]);
  assert.ok(Number.isFinite(summary.evaluation.value) && summary.evaluation.value > 0);
  // The fixture serves the same images as both splits: real-vs-real is the distance of a set to itself,
  // 0 up to float64 round-off in the eigendecompositions (traces here are O(10²): ~1e-5 absolute).
  assert.ok(Math.abs(summary.evaluation.realVsReal) < 1e-3, String(summary.evaluation.realVsReal));
  assert.ok(summary.evaluation.value > summary.evaluation.realVsReal);

  const written = JSON.parse(readFileSync(path.join(out, 'demo.json'), 'utf8')) as typeof summary;
  assert.equal(written.evaluation.value, summary.evaluation.value);
  assert.equal(written.settings.budget, 120);
  assert.equal(written.settings.trainSteps, 40);
  assert.match(written.evaluation.metric, /not FID/);
});
