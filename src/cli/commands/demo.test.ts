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
import { printedBy } from '../../../test/console-capture.js';
import { fixturePath } from '../../../test/fixture-path.js';
import { readNpz } from '../../eval/npz.js';
import { parseArgs } from '../args.js';
import { demoCommand, runDemo, type DemoSettings } from './demo.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-demo-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The committed slice has only the test split: a Fashion-MNIST directory that serves it as the train split too. */
function fashionMnistDir(): string {
  const data = path.join(tmp, 'fashion-mnist');
  if (existsSync(data)) return data;
  mkdirSync(data);
  for (const kind of ['images-idx3', 'labels-idx1']) {
    const src = fixturePath(`data/fashion-mnist/t10k-${kind}-ubyte.gz`);
    copyFileSync(src, path.join(data, `t10k-${kind}-ubyte.gz`));
    copyFileSync(src, path.join(data, `train-${kind}-ubyte.gz`));
  }
  return data;
}

/** The tiny demo settings of these tests (plus `extra`). */
function tinyDemoArgs(out: string, ...extra: string[]): string[] {
  return [
    '--data-dir',
    fashionMnistDir(),
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
    // patch 8 with 64-px targets: 16 tokens keep the tiny runs fast (the defaults are patch 4, 128 px)
    '--patch-size',
    '8',
    '--encoder-input-size',
    '64',
    ...extra,
  ];
}

test('reg demo runs end to end at a tiny size', { timeout: 240_000 }, async () => {
  const out = path.join(tmp, 'demo');
  const argv = tinyDemoArgs(out);
  const settings = parseArgs(argv, demoCommand.options).options as unknown as DemoSettings;
  let summary!: Awaited<ReturnType<typeof runDemo>>;
  const printed = await printedBy(async () => (summary = await runDemo(settings)));
  const dashboard = printed.split('\n').find((l) => l.startsWith('  dashboard '));
  assert.equal(dashboard?.split(/ {2,}/)[2], `reg serve --runs ${out}`, printed);

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

test('reg demo --latent trains an autoencoder, then REG in its latents end to end; a rerun reuses both', { timeout: 300_000 }, async () => {
  const out = path.join(tmp, 'demo-latent');
  const argv = tinyDemoArgs(out, '--latent', '--autoencoder-budget', '60', '--autoencoder-steps', '30');
  const settings = parseArgs(argv, demoCommand.options).options as unknown as DemoSettings;
  const summary = await runDemo(settings);

  assert.equal(summary.space, 'latents');
  const ae = summary.autoencoder!;
  assert.equal(ae.dir, path.join(out, 'autoencoder'));
  assert.equal(ae.reused, false);
  assert.equal(ae.record.training.steps, 30);
  // [32, 64, 64]: ×4, so 32-px images give 4×8×8 latents; patch 8 px = 2 latent cells → the same 4×4 tokens.
  assert.deepEqual(ae.record.config.blockOutChannels, [32, 64, 64]);
  assert.deepEqual(ae.record.latents.shape, [4, 8, 8]);
  assert.equal(ae.record.reconstruction.images, 300);
  assert.ok(ae.record.reconstruction.mse > 0 && Number.isFinite(ae.record.reconstruction.psnr));
  assert.equal(summary.features.images, 128);
  assert.equal(summary.features.tokens, 16);

  // The run trained on the latents and records the autoencoder, so `reg sample` finds it without --vae.
  const run = JSON.parse(readFileSync(path.join(out, 'run', 'config.json'), 'utf8')) as {
    train: { vae: string; vaeScalingFactor: number; data: string; dataDir: string };
    model: { inChannels: number; inputSize: number; patchSize: number };
  };
  assert.equal(run.train.vae, ae.dir);
  assert.equal(run.train.vaeScalingFactor, ae.record.latents.scalingFactor);
  assert.equal(run.train.dataDir, path.join(out, 'features'));
  assert.deepEqual([run.model.inChannels, run.model.inputSize, run.model.patchSize], [4, 8, 2]);
  assert.equal(summary.training.steps, 40);
  assert.ok(summary.training.denoiseLossEnd < summary.training.denoiseLossStart, JSON.stringify(summary.training));

  // Decoded by the autoencoder into 32×32 RGB images, then the grid and FD as in pixel space.
  assert.ok(summary.grid && existsSync(summary.grid));
  const npz = readNpz(summary.evaluation.npz!).get('arr_0')!;
  assert.equal(npz.dtype, 'uint8');
  assert.deepEqual(npz.shape, [20, 32, 32, 3]);
  assert.ok(Number.isFinite(summary.evaluation.value) && summary.evaluation.value > summary.evaluation.realVsReal);
  const written = JSON.parse(readFileSync(path.join(out, 'demo.json'), 'utf8')) as typeof summary;
  assert.deepEqual(written.autoencoder, JSON.parse(JSON.stringify(ae)));

  // Rerun: the autoencoder, the features and the model are reused, so the numbers stay.
  const again = await runDemo(settings);
  assert.equal(again.autoencoder!.reused, true);
  assert.deepEqual(again.autoencoder!.record, ae.record);
  assert.equal(again.training.steps, 40);
  assert.equal(again.evaluation.value, summary.evaluation.value);
});
