/** `reg train`'s command line: layering (defaults < config file < command line), presets by name, --help. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { TRAIN_CONFIG_KEYS } from '../../train/config.js';
import { kebabCase } from '../../util/case.js';
import { helpText, parseArgs, UsageError } from '../args.js';
import { configFromArgs, trainCommand } from './train.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-train-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...argv: string[]) => configFromArgs(parseArgs(argv, trainCommand.options).options);

describe('reg train: options', () => {
  it('layers defaults < config file < command line; kebab-case keys and $comments are accepted', () => {
    const file = path.join(tmp, 'c.json');
    writeFileSync(file, JSON.stringify({ $comment: 'x', model: 'SiT-S/2', 'batch-size': 64, learningRate: 3e-4 }));
    const { config, resume } = cli('--config', file, '--learning-rate', '2e-4', '--seed', '7');
    assert.deepEqual(
      [config.model, config.batchSize, config.learningRate, config.seed, config.emaDecay, resume],
      ['SiT-S/2', 64, 2e-4, 7, 0.9999, false],
    );
    assert.equal(cli('--config', 'cpu-synthetic').config.inputSize, 8, 'preset by name');
    assert.equal(cli('--resume-from', tmp, '--config', file).resume, tmp);
  });

  it('a missing preset is named', () => {
    assert.throws(() => cli('--config', 'no-such-preset'), /config file 'no-such-preset' not found/);
  });

  it('--help lists every key with its default', () => {
    const help = helpText(trainCommand);
    for (const k of TRAIN_CONFIG_KEYS) assert.ok(help.includes(`--${kebabCase(k)}`), k);
    assert.match(help, /--learning-rate <number>\s+AdamW learning rate \(default: 0\.0001\)/);
    assert.match(help, /--resume\b/);
  });

  it('options come from the settings table: types, choices and ranges are checked while parsing; booleans have a --no- form', () => {
    const bad = (argv: string[], re: RegExp) =>
      assert.throws(
        () => parseArgs(argv, trainCommand.options),
        (e: Error) => e instanceof UsageError && re.test(e.message),
      );
    bad(['--depth', '1e9'], /^--depth must be in \[0, 256\], got '1e9'$/);
    bad(['--batch-size', '2.5'], /^--batch-size must be an integer, got '2.5'$/);
    bad(['--mixed-precision', 'fp8'], /^--mixed-precision must be one of no, bf16, fp16, got 'fp8'$/);
    bad(['--learning-rate', 'fast'], /^--learning-rate must be a finite number, got 'fast'$/);
    bad(['--lerning-rate', '1'], /unknown option '--lerning-rate'/);
    bad(['--seed'], /--seed <integer>' argument missing/);
    // only the options given override the config file: no defaults are filled in
    const given = parseArgs(['--no-progress', '--label-dropout', '0', '--variant', 'sit'], trainCommand.options).options;
    assert.deepEqual(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)), {
      progress: false,
      labelDropout: 0,
      variant: 'sit',
    });
    assert.equal(cli('--progress').config.progress, true);
  });

  it('--vae and --encoder-weights are recorded as absolute paths (reg sample opens the recorded VAE from anywhere)', () => {
    const { config } = configFromArgs(
      parseArgs(['--vae', 'vaes/sd-vae-ft-mse', '--encoder-weights', 'dinov2.pth', '--data-dir', 'data'], trainCommand.options).options,
    );
    assert.equal(config.vae, path.resolve('vaes/sd-vae-ft-mse'));
    assert.equal(config.encoderWeights, path.resolve('dinov2.pth'));
    assert.equal(config.dataDir, 'data', 'other paths stay as given');
    assert.equal(configFromArgs(parseArgs([], trainCommand.options).options).config.vae, '', 'no VAE stays empty');
  });
});
