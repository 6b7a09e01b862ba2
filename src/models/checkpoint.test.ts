/**
 * The one checkpoint format: every file tagged with format, version and what it holds; a weights file
 * opened by path is read as the weights its metadata names; checkpoints written by earlier versions
 * (test/fixtures/checkpoints, made by the code of commit 1a4c63e) load with model and EMA weights apart.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { loadSafetensors } from '../torch/io/index.js';
import { fixturePath } from '../../test/fixture-path.js';
import { sameTensor as same } from '../../test/same-tensor.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  isCompleteCheckpoint,
  latestCheckpoint,
  readCheckpointConfig,
  resolveCheckpoint,
  writeCheckpoint,
  writeRunCheckpoint,
} from './checkpoint.js';
import { createSiT } from './configs.js';
import { loadModel, readCheckpoint } from './pretrained.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-checkpoint-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const LEGACY_RUN = fixturePath('checkpoints', 'legacy-run');
const LEGACY_STEP = path.join(LEGACY_RUN, 'checkpoints', '0000001');
const LEGACY_CONVERT = fixturePath('checkpoints', 'legacy-convert');

/** True when every tensor of the model's state dict equals the one of that name in `file`. */
function holdsWeightsOf(model: { stateDict(): Map<string, Tensor> }, file: string): boolean {
  const want = loadSafetensors(file).tensors;
  const got = model.stateDict();
  return got.size === want.size && [...got].every(([k, v]) => want.has(k) && same(v, want.get(k)!));
}

/** A tiny REG model and a second set of weights (as EMA) that differ from it. */
function tinyWeights() {
  const m = createSiT(
    'SiT-T/2',
    { depth: 1, hiddenSize: 16, numHeads: 2, inputSize: 4, inChannels: 2, numClasses: 3, zDims: [8], projectorDim: 16, encoderDepth: 1 },
    { generator: new torch.Generator(3) },
  );
  const model = m.stateDict();
  const ema = new Map([...model].map(([k, v]) => [k, torch.keep(v.mul(0.5))]));
  return { config: m.config, model, ema };
}

describe('the checkpoint format', () => {
  it('tags config.json and every safetensors file with format, version and what it holds', () => {
    const { config, model, ema } = tinyWeights();
    const run = path.join(tmp, 'tags');
    const optimizer = new Map([['__step__', torch.tensor(3, { dtype: 'float64' })]]);
    const dir = writeRunCheckpoint(run, {
      config,
      model,
      ema,
      optimizer,
      trainer: { format: 'reg-ts/trainer@1', step: 3 },
      step: 3,
      extra: { regTs: 'test' },
    });
    const json = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      [json.format, json.version, json.step, json.regTs, json.files],
      [CHECKPOINT_FORMAT, CHECKPOINT_VERSION, 3, 'test', ['model.safetensors', 'ema.safetensors', 'optimizer.safetensors', 'trainer.json']],
    );
    for (const kind of ['model', 'ema', 'optimizer'] as const) {
      const { metadata } = loadSafetensors(path.join(dir, `${kind}.safetensors`));
      assert.deepEqual(
        [metadata.format, metadata.version, metadata.weights, metadata.step],
        [CHECKPOINT_FORMAT, String(CHECKPOINT_VERSION), kind, '3'],
        kind,
      );
      assert.equal(
        metadata.config === undefined ? undefined : (JSON.parse(metadata.config) as { hiddenSize: number }).hiddenSize,
        kind === 'optimizer' ? undefined : 16,
        kind,
      );
    }
    assert.equal(latestCheckpoint(run), dir);
    assert.equal(resolveCheckpoint(run), dir);
  });

  it('a weights file opened by path gives the weights its metadata names (model, not EMA)', () => {
    const { config, model, ema } = tinyWeights();
    const dir = writeRunCheckpoint(path.join(tmp, 'by-path'), { config, model, ema, step: 1 });
    const file = path.join(dir, 'model.safetensors');
    const ck = readCheckpoint(file);
    assert.deepEqual([ck.available, ck.ema, ck.step], [['model'], null, 1]);
    assert.ok(holdsWeightsOf(loadModel(file, { weights: 'model' }), file));
    assert.throws(
      () => loadModel(file),
      (e: Error) => e instanceof CheckpointError && /has no ema weights \(it has model weights/.test(e.message),
    );
    assert.ok(holdsWeightsOf(loadModel(path.join(dir, 'ema.safetensors')), path.join(dir, 'ema.safetensors')));
  });

  it('refuses optimizer state as weights, an unknown format and a newer layout version; names what is missing', () => {
    const { config, model } = tinyWeights();
    const dir = path.join(tmp, 'refusals');
    writeCheckpoint(dir, { config, model, step: 2 });
    assert.ok(isCompleteCheckpoint(dir));
    assert.throws(
      () => loadModel(path.join(LEGACY_STEP, 'optimizer.safetensors')),
      (e: Error) => e instanceof CheckpointError && /holds optimizer state, not model weights/.test(e.message),
    );
    const file = path.join(dir, 'config.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...json, version: CHECKPOINT_VERSION + 1 }));
    assert.throws(
      () => readCheckpointConfig(dir),
      (e: Error) =>
        e instanceof CheckpointError && new RegExp(`layout version ${CHECKPOINT_VERSION + 1} is not one this reg-ts reads`).test(e.message),
    );
    assert.ok(!isCompleteCheckpoint(dir));
    writeFileSync(file, JSON.stringify({ ...json, format: 'something-else' }));
    assert.throws(() => readCheckpointConfig(dir), /unknown format "something-else" \(expected reg-ts-checkpoint\)/);
    writeFileSync(file, JSON.stringify({ ...json, files: ['model.safetensors', 'ema.safetensors'] }));
    assert.ok(!isCompleteCheckpoint(dir), 'a listed file is missing');
  });
});

describe('checkpoints written by earlier versions', () => {
  it("the old trainer's checkpoint: run directory → latest; EMA by default, model weights on request", () => {
    assert.equal(resolveCheckpoint(LEGACY_RUN), LEGACY_STEP);
    assert.ok(isCompleteCheckpoint(LEGACY_STEP));
    const ck = readCheckpoint(LEGACY_RUN);
    assert.deepEqual([ck.format, ck.step, ck.config.numHeads, ck.config.hiddenSize, ck.available], ['native', 1, 2, 16, ['model', 'ema']]);
    const ema = loadModel(LEGACY_RUN);
    const model = loadModel(LEGACY_RUN, { weights: 'model' });
    assert.ok(holdsWeightsOf(ema, path.join(LEGACY_STEP, 'ema.safetensors')));
    assert.ok(holdsWeightsOf(model, path.join(LEGACY_STEP, 'model.safetensors')));
    assert.ok(
      !same(ema.stateDict().get('blocks.0.attn.qkv.weight')!, model.stateDict().get('blocks.0.attn.qkv.weight')!),
      'EMA and model weights differ after a step',
    );
  });

  it("the old trainer's weights files by path: `content` names the weights (the config needs the head count)", () => {
    const file = path.join(LEGACY_STEP, 'model.safetensors');
    assert.throws(() => readCheckpoint(file), /number of attention heads for width 16.*--num-heads/);
    const ck = readCheckpoint(file, { overrides: { numHeads: 2 } });
    assert.deepEqual([ck.available, ck.ema, ck.step], [['model'], null, 1]);
    assert.ok(holdsWeightsOf(loadModel(file, { weights: 'model', overrides: { numHeads: 2 } }), file));
    const emaFile = path.join(LEGACY_STEP, 'ema.safetensors');
    assert.ok(holdsWeightsOf(loadModel(emaFile, { overrides: { numHeads: 2 } }), emaFile));
  });

  it("`reg convert`'s version-1 directory: model and EMA weights, config and step", () => {
    const cfg = readCheckpointConfig(LEGACY_CONVERT);
    assert.deepEqual([cfg.format, cfg.version, cfg.step, cfg.model.numHeads], [CHECKPOINT_FORMAT, 1, 1, 2]);
    assert.ok(holdsWeightsOf(loadModel(LEGACY_CONVERT), path.join(LEGACY_CONVERT, 'ema.safetensors')));
    assert.ok(holdsWeightsOf(loadModel(LEGACY_CONVERT, { weights: 'model' }), path.join(LEGACY_CONVERT, 'model.safetensors')));
    // version 1 needs only model.safetensors
    const copy = path.join(tmp, 'convert-v1');
    cpSync(LEGACY_CONVERT, copy, { recursive: true });
    rmSync(path.join(copy, 'ema.safetensors'));
    assert.ok(isCompleteCheckpoint(copy));
    rmSync(path.join(copy, 'model.safetensors'));
    assert.ok(!isCompleteCheckpoint(copy));
  });
});

describe('weights of the wrong dtype', () => {
  it('a weight stored as I32 is an error naming the file, the key and the dtypes, not a value cast', () => {
    const dir = path.join(tmp, 'int-weight');
    cpSync(LEGACY_CONVERT, dir, { recursive: true });
    const file = path.join(dir, 'ema.safetensors');
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const at = bytes
      .subarray(8, 8 + n)
      .toString('utf8')
      .indexOf('"pos_embed":{"dtype":"F32"');
    assert.ok(at >= 0, 'precondition: pos_embed is stored as F32');
    bytes.write('"pos_embed":{"dtype":"I32"', 8 + at);
    writeFileSync(file, bytes);
    assert.throws(
      () => loadModel(dir),
      (e: unknown) =>
        e instanceof CheckpointError &&
        e.message.includes(dir) &&
        /'pos_embed' is stored as int32 but the model expects a floating dtype \(float16, bfloat16, float32 or float64\)/.test(e.message),
    );
  });
});
