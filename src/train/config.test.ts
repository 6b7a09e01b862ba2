/** Training configuration: layering (defaults < file < command line), presets, FLOP estimates, --help. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { helpText, parseArgs } from '../cli/args.js';
import { configFromArgs, trainCommand } from '../cli/commands/train.js';
import { createSiT } from '../models/configs.js';
import { ConfigError, DEFAULT_TRAIN_CONFIG, modelConfigOf, readConfigFile, resolveTrainConfig, TRAIN_CONFIG_KEYS } from './config.js';
import { forwardFlopsPerImage, trainStepFlops } from './flops.js';

const CONFIGS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../configs');
const tmp = mkdtempSync(path.join(tmpdir(), 'reg-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...argv: string[]) => configFromArgs(parseArgs(argv, trainCommand.options).options);

describe('training configuration', () => {
  it('defaults are the official code / paper settings', () => {
    const d = DEFAULT_TRAIN_CONFIG;
    assert.deepEqual(
      [d.learningRate, d.adamBeta1, d.adamBeta2, d.adamEpsilon, d.adamWeightDecay, d.maxGradNorm, d.emaDecay, d.projCoeff, d.clsCoeff, d.batchSize, d.encoderDim, d.labelDropout],
      [1e-4, 0.9, 0.999, 1e-8, 0, 1, 0.9999, 0.5, 0.03, 256, 768, 0.1],
    );
    assert.equal(modelConfigOf(resolveTrainConfig({ model: 'SiT-B/2' })).encoderDepth, 4);
    assert.equal(modelConfigOf(resolveTrainConfig({ model: 'SiT-XL/2' })).encoderDepth, 8);
  });

  it('layers defaults < config file < command line; kebab-case keys and $comments are accepted', () => {
    const file = path.join(tmp, 'c.json');
    writeFileSync(file, JSON.stringify({ $comment: 'x', model: 'SiT-S/2', 'batch-size': 64, learningRate: 3e-4 }));
    const { config, resume } = cli('--config', file, '--learning-rate', '2e-4', '--seed', '7');
    assert.deepEqual([config.model, config.batchSize, config.learningRate, config.seed, config.emaDecay, resume], ['SiT-S/2', 64, 2e-4, 7, 0.9999, false]);
    assert.equal(cli('--config', 'cpu-synthetic').config.inputSize, 8, 'preset by name');
    assert.equal(cli('--resume-from', tmp, '--config', file).resume, tmp);
  });

  it('rejects unknown keys, wrong types and impossible combinations with the key named', () => {
    assert.throws(() => resolveTrainConfig({ learningrate: 1 }), /unknown key 'learningrate' \(did you mean learningRate/);
    assert.throws(() => resolveTrainConfig({ batchSize: '8' }), /'batchSize' must be an integer, got "8"/);
    assert.throws(() => resolveTrainConfig({ mixedPrecision: 'fp8' }), /'mixedPrecision' must be one of no, bf16, fp16/);
    assert.throws(() => resolveTrainConfig({ batchSize: 10, gradientAccumulationSteps: 4 }), /batchSize 10 is not divisible by gradientAccumulationSteps 4/);
    assert.throws(() => resolveTrainConfig({ model: 'DiT-XL/2' }), (e: Error) => e instanceof ConfigError && /unknown model 'DiT-XL\/2'; known models:/.test(e.message));
    assert.throws(() => modelConfigOf(resolveTrainConfig({ model: 'SiT-B/2', encoderDepth: 20 })), /invalid model settings: .*encoderDepth/);
    assert.throws(() => readConfigFile(path.join(tmp, 'missing.json')), /cannot read config file .*missing.json: no such file/);
    writeFileSync(path.join(tmp, 'bad.json'), '{');
    assert.throws(() => readConfigFile(path.join(tmp, 'bad.json')), /bad.json is not valid JSON/);
    assert.throws(() => cli('--config', 'no-such-preset'), /config file 'no-such-preset' not found/);
  });

  it('every preset in configs/ is valid and describes the intended model', () => {
    const files = readdirSync(CONFIGS).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const c = resolveTrainConfig(readConfigFile(path.join(CONFIGS, f)), f);
      const m = modelConfigOf(c);
      assert.ok(m.hiddenSize > 0, f);
    }
    const paper = { 'sit-b2-imagenet256.json': ['SiT-B/2', 4, 400_000], 'sit-l2-imagenet256.json': ['SiT-L/2', 8, 400_000], 'sit-xl2-imagenet256.json': ['SiT-XL/2', 8, 4_000_000] } as const;
    for (const [f, [model, depth, steps]] of Object.entries(paper)) {
      const c = resolveTrainConfig(readConfigFile(path.join(CONFIGS, f)), f);
      assert.deepEqual([c.model, modelConfigOf(c).encoderDepth, c.maxTrainSteps, c.batchSize, c.learningRate, c.projCoeff, c.clsCoeff, c.emaDecay, c.maxGradNorm, c.encoderDim], [model, depth, steps, 256, 1e-4, 0.5, 0.03, 0.9999, 1, 768]);
    }
  });

  it('--help lists every key with its default', () => {
    const help = helpText(trainCommand);
    for (const k of TRAIN_CONFIG_KEYS) assert.ok(help.includes(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`), k);
    assert.match(help, /--learning-rate <number>\s+AdamW learning rate \(default: 0\.0001\)/);
    assert.match(help, /--resume\b/);
  });
});

describe('FLOP estimates', () => {
  it('SiT-XL/2 without the token: 118.6 G multiply-adds per image (DiT paper), REG adds < 1 % in the backbone', () => {
    const xl = modelConfigOf(resolveTrainConfig({ model: 'SiT-XL/2', variant: 'sit' }));
    const gmacs = forwardFlopsPerImage(xl) / 2 / 1e9;
    assert.ok(Math.abs(gmacs - 118.6) / 118.6 < 0.01, `${gmacs} GMACs`);
    const reg = modelConfigOf(resolveTrainConfig({ model: 'SiT-XL/2', variant: 'reg' }));
    const repa = modelConfigOf(resolveTrainConfig({ model: 'SiT-XL/2', variant: 'repa' }));
    const extra = forwardFlopsPerImage(reg) / forwardFlopsPerImage(repa) - 1;
    assert.ok(extra > 0 && extra < 0.01, `REG vs REPA: +${(100 * extra).toFixed(2)} %`);
    assert.equal(trainStepFlops(xl, 256), 3 * 256 * forwardFlopsPerImage(xl));
  });

  it('a config-derived tiny model builds', () => {
    const m = createSiT(modelConfigOf(resolveTrainConfig({ model: 'SiT-T/2', inputSize: 8, encoderDim: 16, projectorDim: 32 })));
    assert.ok(m.numParameters() > 0);
  });
});
