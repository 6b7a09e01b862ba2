import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { loadSafetensors, saveSafetensors } from '../../torch/io/index.js';
import { loadDinov2 } from './dinov2.js';
import { createEncoder, encoderNames } from './encoder.js';

interface Case {
  name: string;
  weights: string;
  inputSize: number;
  registers: number;
}

const REF = (() => {
  const { tensors, metadata } = loadSafetensors(fixturePath('encoders/dinov2_tiny_ref.safetensors'));
  return { tensors, cases: JSON.parse(metadata['cases']!) as Case[] };
})();

/** float32 forward vs the float64 PyTorch reference (test/reference/encoders/make_dinov2.py). */
function close(a: Tensor, b: Tensor, what: string, tol = 2e-4): number {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const err = a.sub(b).abs().max().item();
  assert.ok(err <= tol, `${what}: max |Δ| ${err}`);
  return err;
}

test('registry knows dinov2 and refuses to run without local weights', async () => {
  assert.ok(encoderNames().includes('dinov2'));
  await assert.rejects(createEncoder('dinov2'), /local weights file/);
  await assert.rejects(createEncoder('nope'), /unknown encoder 'nope' \(known: mobilenetv2, dinov2, dinov2-vit-b, dinov2reg-vit-b\)/);
});

test('HF layout loads: config from shapes and config.json, registers detected', () => {
  const { net } = loadDinov2(fixturePath('encoders/dinov2-tiny-reg/model.safetensors'));
  assert.deepEqual(net.config, {
    hiddenSize: 24,
    numLayers: 2,
    numHeads: 3,
    mlpDim: 96,
    patchSize: 4,
    posGrid: 5,
    numRegisters: 2,
    layerNormEps: 1e-6,
  });
  net.dispose();
});

test('class token and patch tokens match the PyTorch reference (pos-embed resampled up and down)', async () => {
  for (const c of REF.cases) {
    const enc = await createEncoder('dinov2', { weights: fixturePath(`encoders/${c.weights}/model.safetensors`), inputSize: c.inputSize });
    const grid = c.inputSize / 4;
    assert.deepEqual(enc.grid, [grid, grid]);
    assert.equal(enc.dim, 24);
    torch.scope(() => {
      const { cls, patches } = enc.encode(REF.tensors.get(`${c.name}.images`)!);
      close(cls, REF.tensors.get(`${c.name}.cls`)!, `${c.name} cls`);
      close(patches, REF.tensors.get(`${c.name}.patches`)!, `${c.name} patches`);
    });
    enc.dispose();
  }
});

test('position embeddings: bicubic with antialias (downsampling 5×5 → 3×3 differs from plain bicubic)', () => {
  const { net } = loadDinov2(fixturePath('encoders/dinov2-tiny/model.safetensors'));
  torch.scope(() => {
    close(net.resampledPositions(3, 3), REF.tensors.get('dinov2-tiny.12.pos')!, 'pos 3×3', 1e-5);
    close(net.resampledPositions(7, 7), REF.tensors.get('dinov2-tiny.28.pos')!, 'pos 7×7', 1e-5);
    const plain = torch.F.interpolate(net.positionEmbeddings.slice(1, 1).reshape(1, 5, 5, 24).permute(0, 3, 1, 2), {
      size: [3, 3],
      mode: 'bicubic',
    });
    const ours = net.resampledPositions(3, 3).slice(1, 1).reshape(1, 3, 3, 24).permute(0, 3, 1, 2);
    assert.ok(plain.sub(ours).abs().max().item() > 1e-2);
  });
});

test('a "dinov2." key prefix (AutoModel checkpoints with heads) is accepted, heads ignored', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reg-dino-'));
  try {
    const { tensors } = loadSafetensors(fixturePath('encoders/dinov2-tiny/model.safetensors'));
    const prefixed = new Map([...tensors].map(([k, v]) => [`dinov2.${k}`, v]));
    prefixed.set('classifier.weight', torch.zeros([10, 48]));
    saveSafetensors(join(dir, 'model.safetensors'), prefixed);
    copyFileSync(fixturePath('encoders/dinov2-tiny/config.json'), join(dir, 'config.json'));
    const a = loadDinov2(join(dir, 'model.safetensors'));
    const b = loadDinov2(fixturePath('encoders/dinov2-tiny/model.safetensors'));
    assert.equal(a.sha256, b.sha256);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
