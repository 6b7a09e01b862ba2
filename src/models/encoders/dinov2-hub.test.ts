import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import { relError } from '../../../test/relative-error.js';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { loadPt, loadSafetensors, saveSafetensors, asStateDict } from '../../torch/io/index.js';
import { DINOV2_HUB_CONFIG_KEYS } from './dinov2-hub.js';
import { init } from '../../nn/index.js';
import { createDinov2Encoder, Dinov2, Dinov2Encoder, dinov2ConfigFromKeys, guessDinov2Layout, loadDinov2 } from './dinov2.js';
import { createEncoder } from './encoder.js';

/** Fixtures of test/reference/encoders/make_dinov2_hub.py: C = 32, 2 heads, 2 blocks, patch 14, 4×4 positions. */
const dir = (...p: string[]): string => fixturePath('encoders', 'dinov2-hub-tiny', ...p);
const HUB = dir('dinov2_vitt14_pretrain.pth');
const HUB_REG4 = dir('dinov2_vitt14_reg4_pretrain.pth');
const HF_REG4 = dir('hf-reg4', 'model.safetensors');
const HEADS = 2;

interface Case {
  name: string;
  file: string;
  inputSize: number;
  registers: number;
}

const REF = (() => {
  const { tensors, metadata } = loadSafetensors(dir('reference.safetensors'));
  return { tensors, cases: JSON.parse(metadata['cases']!) as Case[] };
})();
const ref = (key: string): Tensor => REF.tensors.get(key)!;

/** A copy of a torch.hub file's tensors, edited, as a safetensors file (the layout is told by the keys, not the container). */
function editedHubFile(edit: (state: Map<string, Tensor>) => void): { path: string; done: () => void } {
  const tmp = mkdtempSync(join(tmpdir(), 'reg-dino-hub-'));
  const state = asStateDict(loadPt(HUB), 'hub');
  edit(state);
  const path = join(tmp, 'edited.safetensors');
  saveSafetensors(path, state);
  return { path, done: () => rmSync(tmp, { recursive: true, force: true }) };
}

test('torch.hub .pth files load: layout from the keys, config from the shapes, registers detected', () => {
  for (const [file, registers] of [
    [HUB, 0],
    [HUB_REG4, 4],
  ] as const) {
    const { net, layout } = loadDinov2(file, { numHeads: HEADS });
    assert.equal(layout, 'torch-hub');
    assert.deepEqual(net.config, {
      hiddenSize: 32,
      numLayers: 2,
      numHeads: HEADS,
      mlpDim: 128,
      patchSize: 14,
      posGrid: 4,
      numRegisters: registers,
      layerNormEps: 1e-6,
    });
    net.dispose();
  }
});

test('torch.hub layout: class and patch tokens match the PyTorch reference of REG (fp32 rel. err ≤ 1e-5; registers dropped)', async () => {
  for (const c of REF.cases) {
    const enc = await createDinov2Encoder({ weights: dir(c.file), inputSize: c.inputSize, numHeads: HEADS });
    const grid = c.inputSize / 14;
    assert.deepEqual(enc.grid, [grid, grid]);
    torch.scope(() => {
      const { cls, patches } = enc.encode(ref(`${c.name}.images`));
      assert.deepEqual(patches.shape, [2, grid * grid, 32], `${c.name}: cls + ${grid}² patches, no register tokens`);
      assert.ok(relError(cls, ref(`${c.name}.cls`)) <= 1e-5, `${c.name} cls: ${relError(cls, ref(`${c.name}.cls`))}`);
      assert.ok(relError(patches, ref(`${c.name}.patches`)) <= 1e-5, `${c.name} patches: ${relError(patches, ref(`${c.name}.patches`))}`);
      const pos = enc.net.resampledPositions(grid, grid);
      assert.ok(relError(pos, ref(`${c.name}.pos`)) <= 1e-5, `${c.name} pos: ${relError(pos, ref(`${c.name}.pos`))}`);
    });
    enc.dispose();
  }
});

test('the same weights in the torch.hub and the Hugging Face layout give the same network and tokens', async () => {
  const hub = loadDinov2(HUB_REG4, { numHeads: HEADS });
  const hf = loadDinov2(HF_REG4); // heads from hf-reg4/config.json
  assert.equal(hf.layout, 'hugging-face');
  assert.deepEqual(hf.net.config, hub.net.config);
  assert.equal(hf.sha256, hub.sha256);
  hub.net.dispose();
  hf.net.dispose();
  const c = REF.cases.find((k) => k.registers === 4)!;
  const a = await createEncoder('dinov2', { weights: HUB_REG4, inputSize: c.inputSize, numHeads: HEADS });
  const b = await createEncoder('dinov2', { weights: HF_REG4, inputSize: c.inputSize });
  torch.scope(() => {
    const x = a.encode(ref(`${c.name}.images`));
    const y = b.encode(ref(`${c.name}.images`));
    assert.equal(x.cls.sub(y.cls).abs().max().item(), 0);
    assert.equal(x.patches.sub(y.patches).abs().max().item(), 0);
  });
  a.dispose();
  b.dispose();
});

test('torch.hub layout errors name the file, the layout guessed and the key', () => {
  const cases: [string, (s: Map<string, Tensor>) => void, RegExp][] = [
    ['missing', (s) => s.delete('blocks.1.ls2.gamma'), /torch\.hub layout .*guessed from its keys.*: missing blocks\.1\.ls2\.gamma \[32\]/],
    ['unexpected', (s) => s.set('head.weight', torch.zeros([10, 32])), /torch\.hub layout .*: unexpected head\.weight/],
    [
      'wrong shape',
      (s) => s.set('blocks.0.attn.qkv.bias', torch.zeros([95])),
      /torch\.hub layout .*: blocks\.0\.attn\.qkv\.bias has shape \[95\], expected \[96\]/,
    ],
    ['config', (s) => s.delete('cls_token'), /torch\.hub layout .*: missing cls_token/],
  ];
  for (const [what, edit, message] of cases) {
    const f = editedHubFile(edit);
    try {
      assert.throws(
        () => loadDinov2(f.path, { numHeads: HEADS }),
        (e: Error) => message.test(e.message) && e.message.includes(f.path),
        what,
      );
    } finally {
      f.done();
    }
  }
});

test('a state dict in neither layout is refused, naming both', () => {
  assert.throws(
    () => guessDinov2Layout(['model.fc.weight', 'model.fc.bias']),
    /neither the Hugging Face layout .* nor the torch\.hub layout .*; its first keys: model\.fc\.weight/,
  );
  assert.equal(guessDinov2Layout(['dinov2.embeddings.cls_token']), 'hugging-face');
  assert.equal(guessDinov2Layout(['cls_token', 'blocks.0.norm1.weight']), 'torch-hub');
});

test('heads default to width / 64 (ViT-B/14: 12); other widths need numHeads', () => {
  torch.scope(() => {
    const vitB = (C: number, registers: number): Map<string, Tensor> => {
      const s = new Map<string, Tensor>([
        ['cls_token', torch.empty([1, 1, C])],
        ['pos_embed', torch.empty([1, 1 + 37 * 37, C])],
        ['patch_embed.proj.weight', torch.empty([C, 3, 14, 14])],
        ['blocks.0.mlp.fc1.weight', torch.empty([4 * C, C])],
      ]);
      for (let i = 0; i < 12; i++) s.set(`blocks.${i}.norm1.weight`, torch.empty([C]));
      if (registers > 0) s.set('register_tokens', torch.empty([1, registers, C]));
      return s;
    };
    assert.deepEqual(dinov2ConfigFromKeys(vitB(768, 4), DINOV2_HUB_CONFIG_KEYS), {
      hiddenSize: 768,
      numLayers: 12,
      numHeads: 12,
      mlpDim: 3072,
      patchSize: 14,
      posGrid: 37,
      numRegisters: 4,
      layerNormEps: 1e-6,
    });
    assert.throws(() => dinov2ConfigFromKeys(vitB(32, 0), DINOV2_HUB_CONFIG_KEYS), /width 32 is not a multiple of 64 .*numHeads/);
    assert.throws(() => dinov2ConfigFromKeys(vitB(32, 0), DINOV2_HUB_CONFIG_KEYS, { numHeads: 3 }), /3 heads do not divide the width 32/);
  });
});

test("REG's names: dinov2-vit-b needs --encoder-weights, takes either layout, refuses register weights (and dinov2reg-vit-b the converse)", async () => {
  await assert.rejects(
    createEncoder('dinov2-vit-b'),
    /dinov2-vit-b: pass the local weights file with --encoder-weights <file> \(torch\.hub dinov2_vitb14_pretrain\.pth/,
  );
  await assert.rejects(createEncoder('dinov2reg-vit-b'), /--encoder-weights <file> \(torch\.hub dinov2_vitb14_reg4_pretrain\.pth/);
  await assert.rejects(
    createEncoder('dinov2-vit-b', { weights: dir('no-such.pth') }),
    /dinov2-vit-b: --encoder-weights .*no-such\.pth does not exist/,
  );
  await assert.rejects(
    createEncoder('dinov2-vit-b', { weights: HUB_REG4, numHeads: HEADS }),
    /dinov2-vit-b \(dinov2_vitb14_pretrain\.pth\) has 0 register tokens, but .* has 4; use --encoder dinov2reg-vit-b \(or dinov2\)/,
  );
  await assert.rejects(
    createEncoder('dinov2reg-vit-b', { weights: HUB, numHeads: HEADS }),
    /has 4 register tokens, but .* has 0; use --encoder dinov2-vit-b \(or dinov2\)/,
  );
  const notes: string[] = [];
  const enc = await createEncoder('dinov2-vit-b', { weights: HUB, numHeads: HEADS, inputSize: 28, log: (l) => notes.push(l) });
  assert.equal(enc.name, 'dinov2-vit-b');
  assert.equal(enc.info.name, 'dinov2-vit-b');
  assert.match(notes.join('\n'), /dinov2-vit-b: .* is not ViT-B\/14 \(width 32, 2 layers, 2 heads, patch 14, 4² positions\)/);
  enc.dispose();
  const reg = await createEncoder('dinov2reg-vit-b', { weights: HF_REG4, inputSize: 42 });
  assert.equal(reg.info['registers'], 4);
  reg.dispose();
});

test('ViT-B/14 at 224 px: 16×16 = 256 patch tokens of width 768, plus the class token', () => {
  // The real architecture, uninitialised (no weights file exists here); only the token grid is checked.
  const net = init.skipInit(
    () =>
      new Dinov2({
        hiddenSize: 768,
        numLayers: 12,
        numHeads: 12,
        mlpDim: 3072,
        patchSize: 14,
        posGrid: 37,
        numRegisters: 0,
        layerNormEps: 1e-6,
      }),
  );
  const enc = new Dinov2Encoder(net, 224, 'cpu', { source: 'uninitialised', sha256: '' }, 'dinov2-vit-b');
  assert.deepEqual(enc.grid, [16, 16]);
  assert.equal(enc.numPatches, 256);
  assert.equal(enc.dim, 768);
  enc.dispose();
});
