/**
 * Issue 12 items 2 and 9: a stored config out of range (`depth: 1e9`) is refused by name — file and field —
 * before anything is allocated, on every load path: a checkpoint's config.json, a safetensors
 * `__metadata__.config`, the overrides of `reg convert`; malformed configs and weights say what and where.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readSafetensorsRaw, writeSafetensorsRaw } from '../torch/io/safetensors.js';
import { fixturePath } from '../../test/fixture-path.js';
import { AutoencoderConfigError, checkAutoencoderConfig, SD_VAE_CONFIG } from './autoencoders/config.js';
import { loadAutoencoder } from './autoencoders/load.js';
import { CheckpointError, readCheckpointConfig } from './checkpoint.js';
import { configRangeProblem, MAX_ENCODERS, resolveConfig, SIT_CONFIG_RANGES } from './configs.js';
import { convertOfficial, loadModel, readCheckpoint } from './pretrained.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-config-ranges-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CONVERTED = fixturePath('checkpoints', 'legacy-convert');
const PT = fixturePath('reference', 'official_small.pt');

/** Runs `f`, which must throw a CheckpointError whose message matches every pattern, within `ms`. */
function refusedQuickly(f: () => unknown, patterns: RegExp[], ms = 500): void {
  const t0 = performance.now();
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `a CheckpointError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
  const took = performance.now() - t0;
  assert.ok(took < ms, `refused in ${took.toFixed(0)} ms`);
}

const escape = (s: string): RegExp => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

/** A copy of the converted checkpoint whose config.json has `edit` applied to its model config. */
function withModelConfig(name: string, edit: (model: Record<string, unknown>) => void): string {
  const dir = path.join(tmp, name);
  cpSync(CONVERTED, dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as { model: Record<string, unknown> };
  edit(json.model);
  writeFileSync(file, JSON.stringify(json));
  return dir;
}

/** A copy of the converted checkpoint's EMA weights file whose `__metadata__.config` is `config`. */
function withMetadataConfig(name: string, config: string): string {
  const { tensors, metadata } = readSafetensorsRaw(path.join(CONVERTED, 'ema.safetensors'));
  const file = path.join(tmp, `${name}.safetensors`);
  writeSafetensorsRaw(file, tensors, { ...metadata, config });
  return file;
}

describe('model config ranges', () => {
  it('every size field has a declared range; the first field out of range is named with its range and value', () => {
    assert.equal(configRangeProblem({ depth: 12, hiddenSize: 768, zDims: [768] }), null);
    assert.equal(configRangeProblem({ depth: 1e9 }), 'depth must be in [1, 256], got 1000000000');
    assert.equal(configRangeProblem({ depth: 0 }), 'depth must be in [1, 256], got 0');
    assert.equal(configRangeProblem({ hiddenSize: 1.5 }), 'hiddenSize must be an integer, got 1.5');
    assert.equal(configRangeProblem({ mlpRatio: 'x' }), 'mlpRatio must be a finite number, got "x"');
    assert.equal(configRangeProblem({ classDropoutProb: 1 }), 'classDropoutProb must be in [0, 1), got 1');
    assert.equal(configRangeProblem({ zDims: 5 }), 'zDims must be a list of at most 16 integers in [1, 16384], got 5');
    assert.equal(
      configRangeProblem({ zDims: new Array(MAX_ENCODERS + 1).fill(8) }),
      'zDims must be a list of at most 16 integers in [1, 16384], got a list of 17',
    );
    assert.deepEqual(Object.keys(SIT_CONFIG_RANGES).sort(), [
      'classDropoutProb',
      'depth',
      'hiddenSize',
      'inChannels',
      'inputSize',
      'mlpRatio',
      'numClasses',
      'numHeads',
      'patchSize',
      'projectorDim',
    ]);
    assert.throws(
      () => resolveConfig('SiT-B/2', { depth: 1e9 }),
      /^RangeError: model config: depth must be in \[1, 256\], got 1000000000$/,
    );
    // a zDims that is not a list is named, not `merged.zDims is not iterable`
    assert.throws(() => resolveConfig('SiT-B/2', { zDims: 5 as unknown as number[] }), /model config: zDims must be a list/);
  });

  it("a checkpoint's config.json with depth 1e9: the file and model.depth, in milliseconds", () => {
    const dir = withModelConfig('depth-1e9', (m) => (m.depth = 1e9));
    const want = [escape(path.join(dir, 'config.json')), /model\.depth must be in \[1, 256\], got 1000000000/];
    refusedQuickly(() => readCheckpointConfig(dir), want);
    refusedQuickly(() => loadModel(dir), want);
    refusedQuickly(() => readCheckpoint(path.join(dir, 'config.json')), want);
    const zDims = withModelConfig('zdims-number', (m) => (m.zDims = 768));
    refusedQuickly(() => loadModel(zDims), [escape(path.join(zDims, 'config.json')), /model\.zDims must be a list/]);
    // a relation between fields (not a range) is named with the file too
    const heads = withModelConfig('heads-7', (m) => (m.numHeads = 7));
    refusedQuickly(() => loadModel(heads), [escape(path.join(heads, 'config.json')), /hiddenSize 12 is not divisible by numHeads 7/]);
  });

  it('a safetensors __metadata__.config with depth 1e9, or one that is not JSON: the file and the field', () => {
    const { metadata } = readSafetensorsRaw(path.join(CONVERTED, 'ema.safetensors'));
    const deep = withMetadataConfig('depth-1e9', JSON.stringify({ ...JSON.parse(metadata.config!), depth: 1e9 }));
    refusedQuickly(
      () => loadModel(deep),
      [escape(deep), /__metadata__\.config: model config: depth must be in \[1, 256\], got 1000000000/],
    );
    const broken = withMetadataConfig('not-json', '{"depth": 2,');
    refusedQuickly(() => loadModel(broken), [escape(broken), /__metadata__\.config: not valid JSON/]);
    const list = withMetadataConfig('a-list', '[1, 2]');
    refusedQuickly(() => loadModel(list), [escape(list), /__metadata__\.config: not a JSON object/]);
  });

  it('reg convert: an encoder depth out of range names the input file and the field', () => {
    const out = path.join(tmp, 'converted');
    refusedQuickly(
      () => convertOfficial(PT, out, { overrides: { numHeads: 2, encoderDepth: 1e9 } }),
      [escape(PT), /encoderDepth must be an integer in \[1, depth=2\], got 1000000000/],
      5000,
    );
  });

  it("a 1-D x_embedder weight is named with its shape, not `'patchSize' is required`", () => {
    const { tensors } = readSafetensorsRaw(path.join(CONVERTED, 'ema.safetensors'));
    const w = tensors.get('x_embedder.proj.weight')!;
    tensors.set('x_embedder.proj.weight', { dtype: w.dtype, shape: [w.data.byteLength / 4], data: w.data });
    const file = path.join(tmp, 'flat-embedder.safetensors');
    writeSafetensorsRaw(file, tensors, {});
    refusedQuickly(
      () => loadModel(file),
      [escape(file), new RegExp(`'x_embedder\\.proj\\.weight' has shape \\[${w.data.byteLength / 4}\\], expected 4 dimensions`)],
    );
  });
});

describe('autoencoder config ranges', () => {
  it('a diffusers config.json with layers_per_block 1e9: the file and the field, before anything is built', () => {
    const dir = path.join(tmp, 'vae-deep');
    cpSync(fixturePath('autoencoders', 'tiny-diffusers'), dir, { recursive: true });
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), layers_per_block: 1e9 }));
    const t0 = performance.now();
    assert.throws(
      () => loadAutoencoder(dir),
      (e: unknown) =>
        e instanceof AutoencoderConfigError &&
        e.message.includes(dir) &&
        /layersPerBlock must be in \[1, 64\], got 1000000000/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 500);
    assert.throws(
      () => checkAutoencoderConfig({ ...SD_VAE_CONFIG, blockOutChannels: new Array(11).fill(8) }),
      /blockOutChannels must be a non-empty list of positive integers \(at most 10, each in \[1, 16384\]\), got a list of 11/,
    );
  });
});
