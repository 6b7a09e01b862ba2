/** `reg train-autoencoder`: --help, the autoencoder shape from the options, a short run on the committed Fashion-MNIST slice. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import { loadAutoencoder } from '../../models/autoencoders/load.js';
import { kebabCase } from '../../util/case.js';
import { helpText, parseArgs, UsageError } from '../args.js';
import { COMMANDS } from './index.js';
import {
  autoencoderConfig,
  runTrainAutoencoder,
  TRAIN_AUTOENCODER_OPTIONS,
  trainAutoencoderCommand,
  type TrainAutoencoderSettings,
} from './train-autoencoder.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-train-ae-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const settings = (...argv: string[]) => parseArgs(argv, trainAutoencoderCommand.options).options as unknown as TrainAutoencoderSettings;

describe('reg train-autoencoder', () => {
  it('is a registered command; --help lists every option with its default', () => {
    assert.ok(COMMANDS.includes(trainAutoencoderCommand));
    const help = helpText(trainAutoencoderCommand);
    for (const k of Object.keys(TRAIN_AUTOENCODER_OPTIONS)) assert.ok(help.includes(`--${kebabCase(k)}`), k);
    assert.match(help, /--dataset <fashion-mnist\|emoji\|folder>\s+images to train on \(default: fashion-mnist\)/);
    assert.match(help, /--block-out-channels <string>.*\(default: 32,64,64\)/);
    assert.match(help, /--kl-weight <number>.*\(default: 0\.000001\)/);
    assert.match(help, /--budget <number>\s+training time budget in seconds \(default: 150\)/);
  });

  it('builds the autoencoder shape from the options and names a bad one', () => {
    assert.deepEqual(autoencoderConfig(settings()), {
      inChannels: 3,
      outChannels: 3,
      latentChannels: 4,
      blockOutChannels: [32, 64, 64],
      layersPerBlock: 1,
      normNumGroups: 8,
      scalingFactor: 1,
      shiftFactor: 0,
      sampleSize: 32,
    });
    const bad = (argv: string[], re: RegExp) =>
      assert.throws(
        () => autoencoderConfig(settings(...argv)),
        (e: Error) => e instanceof UsageError && re.test(e.message),
      );
    bad(['--block-out-channels', '32,x'], /--block-out-channels '32,x': expected positive integers/);
    bad(['--norm-num-groups', '12'], /--norm-num-groups 12 must divide every width of --block-out-channels \(not 32\)/);
    bad(['--image-size', '30'], /--image-size 30 must be a multiple of the downsampling 4/);
  });

  it('trains on Fashion-MNIST, holds out its test split, writes a folder loadAutoencoder reads', { timeout: 120_000 }, async () => {
    const data = path.join(tmp, 'fashion-mnist');
    mkdirSync(data);
    for (const kind of ['images-idx3', 'labels-idx1']) {
      const src = fixturePath(`data/fashion-mnist/t10k-${kind}-ubyte.gz`);
      copyFileSync(src, path.join(data, `t10k-${kind}-ubyte.gz`));
      copyFileSync(src, path.join(data, `train-${kind}-ubyte.gz`));
    }
    const out = path.join(tmp, 'vae');
    const s = settings(
      '--data-dir',
      data,
      '--out',
      out,
      '--steps',
      '3',
      '--train-images',
      '64',
      '--test-images',
      '40',
      '--block-out-channels',
      '16,32',
    );
    const { vae, record } = await runTrainAutoencoder(s);
    assert.equal(record.training.steps, 3);
    assert.equal(record.reconstruction.images, 40);
    assert.deepEqual(record.latents.shape, [4, 16, 16]);
    assert.equal(record.info.testSet, 'fashion-mnist/test');
    assert.deepEqual(readdirSync(out).sort(), ['autoencoder.json', 'config.json', 'diffusion_pytorch_model.safetensors']);
    const loaded = loadAutoencoder(out);
    assert.deepEqual(loaded.config, vae.config);
    loaded.dispose();
    vae.dispose();
  });
});
