/** Training configuration: defaults, the settings table's checks, presets, FLOP estimates (the CLI side: src/cli/commands/train.test.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSiT, resolveConfig } from '../models/configs.js';
import {
  ConfigError,
  DEFAULT_TRAIN_CONFIG,
  modelConfigOf,
  readConfigFile,
  resolveTrainConfig,
  SESSION_KEYS,
  TRAIN_CONFIG_KEYS,
  validateTrainConfig,
} from './config.js';
import { forwardFlopsPerImage, trainStepFlops } from './flops.js';

const CONFIGS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../configs');
const tmp = mkdtempSync(path.join(tmpdir(), 'reg-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('training configuration', () => {
  it('defaults are the official code / paper settings', () => {
    const d = DEFAULT_TRAIN_CONFIG;
    assert.deepEqual(
      [
        d.learningRate,
        d.adamBeta1,
        d.adamBeta2,
        d.adamEpsilon,
        d.adamWeightDecay,
        d.maxGradNorm,
        d.emaDecay,
        d.projCoeff,
        d.clsCoeff,
        d.batchSize,
        d.encoderDim,
        d.labelDropout,
      ],
      [1e-4, 0.9, 0.999, 1e-8, 0, 1, 0.9999, 0.5, 0.03, 256, 768, 0.1],
    );
    assert.equal(modelConfigOf(resolveTrainConfig({ model: 'SiT-B/2' })).encoderDepth, 4);
    assert.equal(modelConfigOf(resolveTrainConfig({ model: 'SiT-XL/2' })).encoderDepth, 8);
  });

  it('rejects unknown keys, wrong types and impossible combinations with the key named', () => {
    assert.throws(() => resolveTrainConfig({ learningrate: 1 }), /unknown key 'learningrate' \(did you mean learningRate/);
    assert.throws(() => resolveTrainConfig({ batchSize: '8' }), /'batchSize' must be an integer, got "8"/);
    assert.throws(() => resolveTrainConfig({ mixedPrecision: 'fp8' }), /'mixedPrecision' must be one of no, bf16, fp16/);
    assert.throws(
      () => resolveTrainConfig({ batchSize: 10, gradientAccumulationSteps: 4 }),
      /batchSize 10 is not divisible by gradientAccumulationSteps 4/,
    );
    assert.throws(
      () => resolveTrainConfig({ model: 'DiT-XL/2' }),
      (e: Error) => e instanceof ConfigError && /unknown model 'DiT-XL\/2'; known models:/.test(e.message),
    );
    assert.throws(
      () => modelConfigOf(resolveTrainConfig({ model: 'SiT-B/2', encoderDepth: 20 })),
      /invalid model settings: .*encoderDepth/,
    );
    assert.throws(() => readConfigFile(path.join(tmp, 'missing.json')), /cannot read config file .*missing.json: no such file/);
    writeFileSync(path.join(tmp, 'bad.json'), '{');
    assert.throws(() => readConfigFile(path.join(tmp, 'bad.json')), /bad.json is not valid JSON/);
  });

  it('every preset in configs/ is valid and describes the intended model', () => {
    const files = readdirSync(CONFIGS).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const c = resolveTrainConfig(readConfigFile(path.join(CONFIGS, f)), f);
      const m = modelConfigOf(c);
      assert.ok(m.hiddenSize > 0, f);
    }
    const paper = {
      'sit-b2-imagenet256.json': ['SiT-B/2', 4, 400_000],
      'sit-l2-imagenet256.json': ['SiT-L/2', 8, 400_000],
      'sit-xl2-imagenet256.json': ['SiT-XL/2', 8, 4_000_000],
    } as const;
    for (const [f, [model, depth, steps]] of Object.entries(paper)) {
      const c = resolveTrainConfig(readConfigFile(path.join(CONFIGS, f)), f);
      assert.deepEqual(
        [
          c.model,
          modelConfigOf(c).encoderDepth,
          c.maxTrainSteps,
          c.batchSize,
          c.learningRate,
          c.projCoeff,
          c.clsCoeff,
          c.emaDecay,
          c.maxGradNorm,
          c.encoderDim,
        ],
        [model, depth, steps, 256, 1e-4, 0.5, 0.03, 0.9999, 1, 768],
      );
    }
  });

  it('every default satisfies its own declaration; values outside a declared range are refused before anything is built', () => {
    assert.deepEqual(validateTrainConfig({ ...DEFAULT_TRAIN_CONFIG }), DEFAULT_TRAIN_CONFIG);
    assert.deepEqual(TRAIN_CONFIG_KEYS, Object.keys(DEFAULT_TRAIN_CONFIG));
    assert.throws(() => resolveTrainConfig({ depth: 1e9 }), /config: 'depth' must be in \[0, 256\], got 1000000000/);
    assert.throws(() => resolveTrainConfig({ 'hidden-size': 1e6 }, 'x.json'), /x.json: 'hiddenSize' must be in \[0, 16384\], got 1000000/);
    assert.throws(() => resolveTrainConfig({ labelDropout: 1 }), /'labelDropout' must be in \[0, 1\), got 1/);
    assert.throws(() => resolveTrainConfig({ batchSize: 0 }), /'batchSize' must be in \[1, 65536\], got 0/);
    assert.throws(() => resolveTrainConfig({ learningRate: -1 }), /'learningRate' must be at least 0, got -1/);
    assert.throws(() => resolveTrainConfig({ timeBudget: Number.NaN }), /'timeBudget' must be a finite number/);
    assert.throws(() => resolveTrainConfig({ progress: 'yes' }), /'progress' must be true or false, got "yes"/);
    assert.throws(() => validateTrainConfig({ ...DEFAULT_TRAIN_CONFIG, numHeads: 2.5 }), /'numHeads' must be an integer, got 2.5/);
    assert.equal(resolveTrainConfig({ emaDecay: 1 }).emaDecay, 1, 'EMA decay 1 (frozen EMA) is allowed');
    assert.throws(() => resolveTrainConfig({ constructor: 1 }), /unknown key 'constructor'/);
  });

  it('a resume may change exactly the settings declared so', () => {
    assert.deepEqual([...SESSION_KEYS].sort(), [
      'checkpointingSteps',
      'dataDir',
      'keepCheckpoints',
      'maxTrainSteps',
      'outputDir',
      'progress',
      'threads',
      'timeBudget',
    ]);
  });

  it('the model settings override the preset; zero leaves the preset value', () => {
    const b2 = resolveConfig('SiT-B/2');
    const m = modelConfigOf(resolveTrainConfig({ model: 'SiT-B/2', depth: 6, labelDropout: 0, encoderDim: 384, variant: 'repa' }));
    assert.deepEqual(
      [m.depth, m.hiddenSize, m.numHeads, m.patchSize, m.projectorDim, m.classDropoutProb, m.zDims, m.variant],
      [6, b2.hiddenSize, b2.numHeads, b2.patchSize, b2.projectorDim, 0, [384], 'repa'],
    );
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
