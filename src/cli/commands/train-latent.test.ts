/**
 * The paper presets (configs/sit-{b2,l2,xl2}-imagenet256.json) run as written once --data-dir, --vae
 * and --encoder-weights point at files: here a tiny ImageNet-layout folder, a tiny VAE in the diffusers
 * layout and a 768-d one-layer DINOv2/14 in the Hugging Face layout. Only the model's size (depth,
 * width, heads), the batch, the device, the precision, the step count and the run directory are
 * overridden (this is a CPU); every other key is the preset's. `reg train --config sit-b2-imagenet256`
 * trains, records the autoencoder in the run's config, and resumes bit-exactly; `reg prepare --vae`
 * writes latents and targets in one pass, and exits non-zero naming a corrupt image.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { IMAGENET_TINY, writeTinyDinov2, writeTinyVae } from '../../../test/latent-fixtures.js';
import { stepValues } from '../../../test/step-values.js';
import { registerDatasetSources } from '../../data/train-sources.js';
import { readManifest } from '../../data/feature-cache.js';
import { readTrainingConfig } from '../../train/checkpoint.js';
import { readConfigFile, type TrainConfig } from '../../train/config.js';
import { readMetrics } from '../../train/metrics.js';
import { train } from '../../train/trainer.js';
import { parseArgs } from '../args.js';
import { configFromArgs, findConfig, trainCommand } from './train.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'reg-train-latent-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
registerDatasetSources();
const quiet = (): void => undefined;

const VAE = writeTinyVae(path.join(tmp, 'sd-vae-tiny'));
const DINO = writeTinyDinov2(path.join(tmp, 'dinov2-tiny'));

/** What the tests override, by config key: the files, the model's size, and what a CPU needs. */
const OVERRIDES: Partial<TrainConfig> = {
  dataDir: IMAGENET_TINY,
  vae: VAE,
  encoderWeights: DINO,
  depth: 8,
  hiddenSize: 32,
  numHeads: 2,
  batchSize: 2,
  device: 'cpu',
  mixedPrecision: 'no',
  progress: false,
};

const argv = (over: Partial<TrainConfig>): string[] =>
  Object.entries(over).flatMap(([k, v]) => (v === false ? [`--no-${kebab(k)}`] : [`--${kebab(k)}`, String(v)]));
const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const configOf = (preset: string, over: Partial<TrainConfig>): TrainConfig =>
  configFromArgs(parseArgs(['--config', preset, ...argv({ ...OVERRIDES, ...over })], trainCommand.options).options).config;

describe('the paper presets on tiny files', () => {
  for (const preset of ['sit-b2-imagenet256', 'sit-l2-imagenet256', 'sit-xl2-imagenet256']) {
    it(`${preset}: two steps as written (but the model's size, batch and device) on latents of the tiny folder`, async () => {
      const outputDir = path.join(tmp, preset);
      const config = configOf(preset, { maxTrainSteps: 2, outputDir });
      const written = readConfigFile(findConfig(preset));
      const changed = new Set([...Object.keys(OVERRIDES), 'maxTrainSteps', 'outputDir']);
      for (const [k, v] of Object.entries(written))
        if (!k.startsWith('$') && !changed.has(k)) assert.deepEqual(config[k as keyof TrainConfig], v, k);
      assert.equal(config.data, 'imagenet256');
      assert.equal(config.encoder, 'dinov2-vit-b');
      const lines: string[] = [];
      const result = await train(config, { log: (l) => lines.push(l) });
      assert.equal(result.step, 2);
      assert.match(lines.join('\n'), /on image-folder:.* → latents 4×32×32 \+ dinov2-vit-b at 224px run per batch/);
      const metrics = readMetrics(path.join(outputDir, 'metrics.jsonl'));
      assert.equal(metrics.length, 2);
      for (const m of metrics) assert.ok(Number.isFinite(m.loss) && m.proj !== undefined && m.cls !== undefined);
      const saved = readTrainingConfig(result.checkpoint!);
      assert.deepEqual([saved.train.vae, saved.train.vaeScalingFactor, saved.train.vaeShiftFactor], [VAE, 0.18215, 0]);
      assert.deepEqual([saved.model.inChannels, saved.model.inputSize, saved.model.zDims], [4, 32, [768]]);
    });
  }
});

describe('reg train --config sit-b2-imagenet256 in latent space', () => {
  it('trains and resumes bit-exactly: a run stopped at step 2 and resumed equals an uninterrupted one (fresh ε every step included)', async () => {
    const ref = path.join(tmp, 'uninterrupted');
    await train(configOf('sit-b2-imagenet256', { maxTrainSteps: 5, outputDir: ref }), { log: quiet });

    const run = path.join(tmp, 'resumed');
    const files = { '--data-dir': IMAGENET_TINY, '--vae': VAE, '--encoder-weights': DINO };
    const first = spawnSync(
      process.execPath,
      [
        CLI,
        'train',
        '--config',
        'sit-b2-imagenet256',
        ...Object.entries(files).flat(),
        ...argv({ ...OVERRIDES, maxTrainSteps: 2, outputDir: run }),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(first.status, 0, first.stderr);
    // `reg train --resume --output-dir <run>`: the run's saved config (with its VAE) is the base
    const again = spawnSync(process.execPath, [CLI, 'train', '--resume', '--output-dir', run, '--max-train-steps', '5'], {
      encoding: 'utf8',
    });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /resuming from .*checkpoints\/0000002 \(step 2\)/);
    const want = readMetrics(path.join(ref, 'metrics.jsonl')).map(stepValues);
    assert.equal(want.length, 5);
    assert.deepEqual(readMetrics(path.join(run, 'metrics.jsonl')).map(stepValues), want);
  });
});

describe('reg prepare --data folder --vae', () => {
  const prepare = (dataDir: string, out: string) =>
    spawnSync(
      process.execPath,
      [
        CLI,
        'prepare',
        '--data',
        'folder',
        '--data-dir',
        dataDir,
        '--vae',
        VAE,
        '--encoder',
        'dinov2-vit-b',
        '--encoder-weights',
        DINO,
        '--dtype',
        'float32',
        '--shard-size',
        '4',
        '--batch-size',
        '2',
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );

  it('writes the posterior and the [cls; patches] targets of every image in one pass, with images/s', () => {
    const out = path.join(tmp, 'prepared');
    const r = prepare(IMAGENET_TINY, out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /vae {6}.*sd-vae-tiny: 4 latent channels, ×8 → posterior 8×32×32/);
    assert.match(r.stderr, /prepare dinov2-vit-b \+ autoencoder: \d\/6 img [\d.]+ img\/s/);
    assert.match(
      r.stdout,
      /6 images × \(1 \+ 256\) tokens × 768 \(float32\) \+ posterior 8×32×32 \(float32\), 2 shards, .* \d+\.\d images\/s/,
    );
    const m = readManifest(out);
    assert.deepEqual([m.complete, m.dataset.numClasses, m.latents?.shape], [true, 3, [8, 32, 32]]);
  });

  it('exits non-zero naming a corrupt JPEG; the cache is left incomplete', () => {
    const root = path.join(tmp, 'corrupt');
    cpSync(IMAGENET_TINY, root, { recursive: true });
    const bad = path.join(root, 'n01440764', 'n01440764_1001.JPEG');
    writeFileSync(bad, readFileSync(bad).subarray(0, 400));
    const out = path.join(tmp, 'corrupt-cache');
    const r = prepare(root, out);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /reg prepare: cannot decode image .*n01440764_1001\.JPEG.*prepare stops at an image it cannot read: remove or replace the file/,
    );
    assert.equal(readManifest(out).complete, false);
  });
});
