/**
 * Checkpoint interoperability: the official-format `.pt` fixture (test/reference/make_official_pt.py) loads
 * with the right inferred config and the exact weights; native directories load back; clear errors.
 * (`reg convert` → `reg export`: src/cli/commands/convert.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { loadSafetensors } from '../torch/io/index.js';
import { createSiT, resolveConfig, SIT_VARIANTS, UnknownModelError } from './configs.js';
import { paramShapes } from './sit.js';
import { CheckpointError, readCheckpointConfig, writeCheckpoint } from './checkpoint.js';
import {
  checkEncoderDims,
  configFromPython,
  convertOfficial,
  EncoderDimError,
  inferConfig,
  loadModel,
  readCheckpoint,
} from './pretrained.js';
import { fixturePath } from '../../test/fixture-path.js';
import { sameTensor as same } from '../../test/same-tensor.js';

const PT = fixturePath('reference', 'official_small.pt');
const SIDECAR = fixturePath('reference', 'official_small_expected.safetensors');

const tmp = () => mkdtempSync(path.join(tmpdir(), 'reg-models-'));

function sidecar(): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  return loadSafetensors(SIDECAR);
}

test('official .pt: config inferred from shapes and args; model and EMA weights exact', () => {
  const { tensors, metadata } = sidecar();
  const want = configFromPython(JSON.parse(metadata.config!) as Record<string, unknown>);
  // args.model is a placeholder ('SiT-tiny/2'), so width 12 needs the head count
  assert.throws(
    () => readCheckpoint(PT),
    (e: Error) => e instanceof CheckpointError && /number of attention heads for width 12.*--num-heads/.test(e.message),
  );
  const ck = readCheckpoint(PT, { overrides: { numHeads: 2 } });
  assert.equal(ck.format, 'official-pt');
  assert.deepEqual(ck.config, want);
  assert.equal(ck.step, 1);
  assert.equal(ck.args?.encoder_depth, 1);
  for (const kind of ['model', 'ema'] as const) {
    const m = loadModel(PT, { weights: kind, overrides: { numHeads: 2 } });
    assert.equal(m.training, false);
    for (const [k, v] of m.stateDict()) assert.ok(same(v, tensors.get(`${kind}.${k}`)!), `${kind}.${k}`);
    assert.equal(m.stateDict().size, JSON.parse(metadata.param_names!).length);
  }
});

test('config inference recognises every variant from state-dict shapes', () => {
  for (const variant of SIT_VARIANTS) {
    const { tensors, metadata } = loadSafetensors(fixturePath('reference', `sit_${variant}_f32.safetensors`));
    const want = configFromPython(JSON.parse(metadata.config!) as Record<string, unknown>);
    const sd = new Map([...tensors].filter(([k]) => paramShapes(want).has(k)));
    const got = inferConfig(sd, { encoder_depth: 1 }, { numHeads: 2 });
    // plain SiT has no encoder-sized tensor (zDims unknown); projectorDim only shows with a projector
    assert.deepEqual({ ...got, projectorDim: want.projectorDim, zDims: variant === 'sit' ? want.zDims : got.zDims }, want, variant);
    if (variant === 'sit') assert.deepEqual(got.zDims, []);
  }
  const olt = resolveConfig('SiT-T/2', { inputSize: 8, zDims: [16], entangledSignal: 'learnable' });
  assert.deepEqual(inferConfig(paramShapesAsDict(olt), { encoder_depth: 2, model: 'SiT-T/2' }), olt);
  const b2 = resolveConfig('SiT-B/2', { encoderDepth: 4 });
  assert.deepEqual(inferConfig(paramShapesAsDict(b2), { model: 'SiT-B/2', encoder_depth: 4 }), b2);
  const xl = resolveConfig('SiT-XL/2');
  assert.deepEqual(inferConfig(paramShapesAsDict(xl), { model: 'SiT-XL/2', encoder_depth: 8, num_classes: 1000 }), xl);
});

test('inferConfig refuses to guess the head count of a width that is not a standard one', () => {
  const t2 = resolveConfig('SiT-T/2', { inputSize: 8, zDims: [16] }); // width 128, 4 heads (128 / 64 would be 2)
  const sd = paramShapesAsDict(t2);
  assert.throws(
    () => inferConfig(sd),
    (e: Error) =>
      e instanceof CheckpointError &&
      /heads for width 128 \(no args.model names a known model, and 128 is not a standard SiT width\): pass numHeads \(CLI: --num-heads\)/.test(
        e.message,
      ),
  );
  assert.throws(
    () => inferConfig(sd, { model: 'SiT-B/2' }),
    /heads for width 128 \(args.model 'SiT-B\/2' is not a known model of this width/,
  );
  assert.equal(inferConfig(sd, { model: 'SiT-T/2', encoder_depth: 2 }).numHeads, 4);
  assert.equal(inferConfig(sd, {}, { numHeads: 8 }).numHeads, 8);
  assert.equal(
    inferConfig(paramShapesAsDict(resolveConfig('SiT-B/2')), { encoder_depth: 4 }).numHeads,
    12,
    'standard widths keep their conventional head count',
  );
});

function paramShapesAsDict(c: ReturnType<typeof resolveConfig>): Map<string, { shape: number[] }> {
  return new Map([...paramShapes(c)].map(([k, shape]) => [k, { shape }]));
}

test('native checkpoints: write, load (device/dtype), clear errors for missing keys, encoder width and unknown names', () => {
  const dir = tmp();
  try {
    const m = createSiT('SiT-T/2', { inputSize: 4, zDims: [8], numClasses: 3 }, { generator: new torch.Generator(4) });
    const ckDir = path.join(dir, 'ck');
    writeCheckpoint(ckDir, { config: m.config, model: m.stateDict(), ema: m.stateDict(), step: 7 });
    const back = loadModel(ckDir, { dtype: 'float64' });
    assert.equal(back.pos_embed.dtype, 'float64');
    assert.deepEqual(back.config, m.config);
    assert.equal(readCheckpoint(ckDir).step, 7);
    // a run directory resolves to its latest checkpoint
    const run = path.join(dir, 'run');
    writeCheckpoint(path.join(run, 'checkpoints', '0000007'), { config: m.config, model: m.stateDict(), ema: m.stateDict(), step: 7 });
    writeFileSync(path.join(run, 'checkpoints', 'latest'), '0000007\n');
    assert.equal(readCheckpoint(run).step, 7);
    assert.throws(() => loadModel(path.join(run, 'checkpoints', '..', '..')), /not a reg-ts checkpoint directory/);
    torch.scope(() => {
      const x = torch.randn([2, 4, 4, 4]);
      const c = torch.randn([2, 8]);
      const y = torch.tensor([0, 3], { dtype: 'int64' });
      m.eval();
      const a = m.forward(x, 0.3, y, c);
      const b = loadModel(ckDir).forward(x, 0.3, y, c);
      assert.ok(same(a.zs[0]!, b.zs[0]!));
    });
    // encoder width mismatch
    assert.throws(
      () => loadModel(ckDir, { encoderDims: [768] }),
      (e: Error) => e instanceof EncoderDimError && /built for encoder width \[8\].*gives \[768\]/.test(e.message),
    );
    assert.doesNotThrow(() => checkEncoderDims(m.config, [8]));
    assert.doesNotThrow(() => checkEncoderDims(resolveConfig('SiT-T/2', { variant: 'sit' }), [1024]));
    // missing weights kind
    const onlyModel = path.join(dir, 'only-model');
    writeCheckpoint(onlyModel, { config: m.config, model: m.stateDict() });
    assert.throws(() => loadModel(onlyModel), /has no ema weights \(it has model weights: pass weights: 'model'/);
    // missing key
    const broken = path.join(dir, 'broken');
    writeCheckpoint(broken, { config: m.config, model: m.stateDict(), ema: m.stateDict() });
    const cfgFile = path.join(broken, 'config.json');
    const json = JSON.parse(readFileSync(cfgFile, 'utf8')) as { model: Record<string, unknown> };
    json.model.depth = 5;
    writeFileSync(cfgFile, JSON.stringify(json));
    assert.throws(
      () => loadModel(broken),
      (e: Error) => e instanceof CheckpointError && /missing keys: blocks\.4\.attn\.qkv\.weight/.test(e.message),
    );
    json.model = { name: 'SiT-Q/2' };
    writeFileSync(cfgFile, JSON.stringify(json));
    assert.throws(
      () => loadModel(broken),
      (e: Error) => e instanceof UnknownModelError && /known models: SiT-S\/2/.test(e.message),
    );
    assert.throws(() => loadModel(path.join(dir, 'nope')), /checkpoint not found/);
    assert.throws(() => writeCheckpoint(path.join(dir, 'bad'), { config: { ...m.config, hiddenSize: 64 }, model: m.stateDict() }), /shape/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('convertOfficial keeps the args and the step in config.json', () => {
  const dir = tmp();
  try {
    const r = convertOfficial(PT, dir, { overrides: { numHeads: 2 } });
    assert.equal(r.tensors, 44);
    assert.ok(r.hasEma);
    const cfg = readCheckpointConfig(dir);
    assert.equal((cfg.source as { args: Record<string, unknown> }).args.enc_type, 'dinov2-vit-b');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
