import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import { relError } from '../../../test/relative-error.js';
import { scoped } from '../../../test/scoped.js';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { loadSafetensors, saveSafetensors } from '../../torch/io/index.js';
import { init } from '../../nn/index.js';
import { AutoencoderKL, createAutoencoderKL } from './autoencoder-kl.js';
import { AutoencoderConfigError, SD_VAE_CONFIG, configFromDiffusers } from './config.js';
import { guessLayout, layoutKey } from './layouts.js';
import { AutoencoderLoadError, loadAutoencoder, readAutoencoder, saveAutoencoder } from './load.js';

const fx = (name: string): string => fixturePath('autoencoders', name);
const REF = loadSafetensors(fx('autoencoder_tiny_ref.safetensors'));
const ref = (k: string): Tensor => REF.tensors.get(k)!;
/** The fixture's norm_num_groups: LDM files do not store it. */
const LDM_GROUPS = { config: { normNumGroups: 2 } };

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'reg-vae-'));
}

/** fp32 forward vs the float64 PyTorch reference (test/reference/autoencoders/make_autoencoder_fixtures.py). */
function checkOutputs(vae: AutoencoderKL, tol: number, what: string): void {
  torch.scope(() => {
    const { mean, std } = vae.encode(ref('input.x'));
    const errors = {
      mean: relError(mean, ref('expected.mean')),
      std: relError(std, ref('expected.std')),
      decode: relError(vae.decode(ref('input.z')), ref('expected.decode')),
    };
    for (const [k, e] of Object.entries(errors)) assert.ok(e <= tol, `${what}: ${k} max relative error ${e} > ${tol}`);
  });
}

const LAYOUTS = [
  { file: 'tiny-diffusers', layout: 'diffusers', options: {} },
  { file: 'tiny-diffusers/diffusion_pytorch_model.safetensors', layout: 'diffusers', options: {} },
  { file: 'tiny-diffusers-legacy', layout: 'diffusers-legacy', options: {} },
  { file: 'tiny-diffusers-bin', layout: 'diffusers', options: {} },
  { file: 'tiny-ldm.safetensors', layout: 'ldm', options: LDM_GROUPS },
  { file: 'tiny-ldm-sd.ckpt', layout: 'ldm', options: LDM_GROUPS },
] as const;

for (const { file, layout, options } of LAYOUTS) {
  test(
    `${file} loads as ${layout} and matches the PyTorch reference (fp32, max relative error ≤ 1e-5)`,
    scoped(() => {
      const got = readAutoencoder(fx(file), options);
      using vae = got.model;
      assert.equal(got.layout, layout);
      assert.deepEqual(vae.config.blockOutChannels, [4, 6, 8]);
      assert.equal(vae.config.latentChannels, 4);
      assert.equal(vae.config.layersPerBlock, 1);
      assert.equal(vae.config.normNumGroups, 2);
      // config.json's scaling_factor 0.5 and sample_size 16, or SD-VAE's defaults where only shapes are known
      assert.equal(vae.config.scalingFactor, layout === 'ldm' ? 0.18215 : 0.5);
      assert.equal(vae.config.sampleSize, layout === 'ldm' ? 256 : 16);
      assert.equal(got.configFile === null, layout === 'ldm');
      assert.equal(vae.training, false);
      checkOutputs(vae, 1e-5, file);
    }),
  );
}

// bf16 rounds each of the ~20 layer outputs to 8 significant bits (2⁻⁸ ≈ 3.9e-3 relative): ≈ √20·3.9e-3 ≈ 1.7e-2
// accumulated (measured: mean 1.8e-2, std 5.1e-3, decode 2.5e-2); a wrong operation gives errors of order 1
test(
  'bfloat16: loads and runs in bf16 within 5e-2 of the float64 reference',
  scoped(() => {
    using vae = loadAutoencoder(fx('tiny-diffusers'), { dtype: 'bfloat16' });
    assert.equal(vae.dtype, 'bfloat16');
    checkOutputs(vae, 5e-2, 'bf16');
  }),
);

test(
  'all layouts hold the same weights (diffusers names after loading)',
  scoped(() => {
    using a = loadAutoencoder(fx('tiny-diffusers'));
    using b = loadAutoencoder(fx('tiny-ldm-sd.ckpt'), LDM_GROUPS);
    for (const [k, t] of a.stateDict()) assert.equal(relError(b.stateDict().get(k)!, t), 0, k);
  }),
);

test('LDM names of the SD-VAE: decoder levels numbered from the bottom, nin_shortcut, mid.attn_1, norm_out', () => {
  const k = (diffusers: string): string => layoutKey('ldm', diffusers, 4);
  assert.equal(k('decoder.up_blocks.0.resnets.2.conv1.weight'), 'decoder.up.3.block.2.conv1.weight');
  assert.equal(k('decoder.up_blocks.3.resnets.0.conv_shortcut.weight'), 'decoder.up.0.block.0.nin_shortcut.weight');
  assert.equal(k('decoder.up_blocks.0.upsamplers.0.conv.bias'), 'decoder.up.3.upsample.conv.bias');
  assert.equal(k('encoder.down_blocks.1.resnets.0.conv_shortcut.bias'), 'encoder.down.1.block.0.nin_shortcut.bias');
  assert.equal(k('encoder.down_blocks.2.downsamplers.0.conv.weight'), 'encoder.down.2.downsample.conv.weight');
  assert.equal(k('encoder.mid_block.resnets.1.norm2.weight'), 'encoder.mid.block_2.norm2.weight');
  assert.equal(k('decoder.mid_block.attentions.0.group_norm.bias'), 'decoder.mid.attn_1.norm.bias');
  assert.equal(k('encoder.mid_block.attentions.0.to_out.0.weight'), 'encoder.mid.attn_1.proj_out.weight');
  assert.equal(k('encoder.mid_block.attentions.0.to_k.bias'), 'encoder.mid.attn_1.k.bias');
  assert.equal(k('decoder.conv_norm_out.weight'), 'decoder.norm_out.weight');
  assert.equal(k('quant_conv.weight'), 'quant_conv.weight');
  assert.equal(
    layoutKey('diffusers-legacy', 'decoder.mid_block.attentions.0.to_out.0.bias', 4),
    'decoder.mid_block.attentions.0.proj_attn.bias',
  );
  assert.equal(
    layoutKey('diffusers-legacy', 'decoder.mid_block.attentions.0.to_q.weight', 4),
    'decoder.mid_block.attentions.0.query.weight',
  );
  // every SD-VAE key has its own LDM name, and the names are recognised as LDM
  const vae = init.skipInit(() => new AutoencoderKL(SD_VAE_CONFIG));
  try {
    const ldm = [...vae.stateDict().keys()].map(k);
    assert.equal(new Set(ldm).size, 248);
    assert.equal(guessLayout(ldm), 'ldm');
    assert.equal(guessLayout(vae.stateDict().keys()), 'diffusers');
  } finally {
    vae.dispose();
  }
});

/** Writes the diffusers fixture's tensors, changed by `edit`, to a folder beside its config.json. */
function editedDiffusers(edit: (sd: Map<string, Tensor>) => void, dir = tmp()): string {
  const { tensors } = loadSafetensors(fx('tiny-diffusers/diffusion_pytorch_model.safetensors'));
  edit(tensors);
  saveSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'), tensors);
  copyFileSync(fx('tiny-diffusers/config.json'), join(dir, 'config.json'));
  for (const t of tensors.values()) t.dispose();
  return dir;
}

test(
  'a missing key is named, with the layout guessed',
  scoped(() => {
    const dir = editedDiffusers((sd) => sd.delete('decoder.up_blocks.1.resnets.0.conv2.bias'));
    try {
      assert.throws(() => loadAutoencoder(dir), AutoencoderLoadError);
      assert.throws(
        () => loadAutoencoder(dir),
        /missing keys: decoder\.up_blocks\.1\.resnets\.0\.conv2\.bias \(layout guessed: diffusers \(attention to_q\/to_k\/to_v\/to_out\.0\); config from .*config\.json\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }),
);

test(
  'an unexpected key is named, with the layout guessed',
  scoped(() => {
    const dir = editedDiffusers((sd) => sd.set('decoder.extra.weight', torch.zeros([2])));
    try {
      assert.throws(() => loadAutoencoder(dir), /unexpected keys: decoder\.extra\.weight \(layout guessed: diffusers /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }),
);

test(
  'a wrong-shaped key is named with both shapes and the layout (LDM names for an LDM file)',
  scoped(() => {
    const dir = tmp();
    try {
      const { tensors } = loadSafetensors(fx('tiny-ldm.safetensors'));
      tensors.get('decoder.up.2.block.0.conv1.weight')!.dispose();
      tensors.set('decoder.up.2.block.0.conv1.weight', torch.zeros([8, 8, 3, 1]));
      saveSafetensors(join(dir, 'vae.safetensors'), tensors);
      for (const t of tensors.values()) t.dispose();
      assert.throws(
        () => loadAutoencoder(join(dir, 'vae.safetensors'), LDM_GROUPS),
        /wrong shapes: 'decoder\.up\.2\.block\.0\.conv1\.weight' is \[8, 8, 3, 1\] in the file but \[8, 8, 3, 3\] for the config \(layout guessed: single-file LDM checkpoint/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }),
);

test(
  'a legacy file with a current attention name left over: missing and unexpected keys, legacy layout named',
  scoped(() => {
    const dir = tmp();
    try {
      cpSync(fx('tiny-diffusers-legacy'), dir, { recursive: true });
      const file = join(dir, 'diffusion_pytorch_model.safetensors');
      const { tensors } = loadSafetensors(file);
      const t = tensors.get('encoder.mid_block.attentions.0.query.weight')!;
      tensors.delete('encoder.mid_block.attentions.0.query.weight');
      tensors.set('encoder.mid_block.attentions.0.to_q.weight', t);
      saveSafetensors(file, tensors);
      for (const x of tensors.values()) x.dispose();
      assert.throws(
        () => loadAutoencoder(dir),
        /missing keys: encoder\.mid_block\.attentions\.0\.query\.weight; unexpected keys: encoder\.mid_block\.attentions\.0\.to_q\.weight \(layout guessed: diffusers with legacy attention names/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }),
);

test('an LDM file without the groups override: the inferred config is refused, saying why', () => {
  assert.throws(() => loadAutoencoder(fx('tiny-ldm.safetensors')), AutoencoderConfigError);
  assert.throws(
    () => loadAutoencoder(fx('tiny-ldm.safetensors')),
    /\(layout guessed: single-file LDM checkpoint .*; config from the tensor shapes\): normNumGroups 32 does not divide the block width 4 \(the file does not store the GroupNorm groups, 32 was assumed: pass config: \{ normNumGroups \}\)/,
  );
});

test(
  'a state dict without an encoder cannot be inferred: the key it needs is named',
  scoped(() => {
    const dir = tmp();
    try {
      saveSafetensors(join(dir, 'decoder-only.safetensors'), { 'decoder.conv_out.weight': torch.zeros([3, 4, 3, 3]) });
      assert.throws(
        () => loadAutoencoder(join(dir, 'decoder-only.safetensors')),
        /cannot infer the autoencoder config: missing key 'encoder\.down_blocks\.0\.resnets\.0\.conv1\.weight' \(layout guessed: diffusers/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }),
);

test('a folder without weights and a path that does not exist say so', () => {
  const dir = tmp();
  try {
    assert.throws(() => loadAutoencoder(dir), /no diffusion_pytorch_model\.safetensors or diffusion_pytorch_model\.bin/);
    assert.throws(() => loadAutoencoder(join(dir, 'nope')), /autoencoder not found: .*nope/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config.json: another architecture is refused; old files without scaling_factor get 0.18215', () => {
  assert.throws(() => configFromDiffusers({ act_fn: 'gelu' }), /act_fn = "gelu" is not supported/);
  assert.throws(() => configFromDiffusers({ down_block_types: ['DownBlock2D'] }), /down_block_types = \["DownBlock2D"\] is not supported/);
  assert.throws(
    () => configFromDiffusers({ block_out_channels: [64, 64], up_block_types: ['UpDecoderBlock2D'] }),
    /up_block_types has 1 entries but block_out_channels 2/,
  );
  const old = configFromDiffusers({ block_out_channels: [128, 256, 512, 512], layers_per_block: 2 });
  assert.deepEqual(old, { ...SD_VAE_CONFIG, blockOutChannels: [128, 256, 512, 512] });
});

test(
  'saveAutoencoder writes the diffusers layout: it reloads to the same outputs, also from bf16',
  scoped(() => {
    const dir = tmp();
    try {
      using vae = createAutoencoderKL(
        { ...SD_VAE_CONFIG, blockOutChannels: [4, 6], normNumGroups: 2, scalingFactor: 0.3 },
        { generator: new torch.Generator(0) },
      );
      saveAutoencoder(vae, dir);
      const got = readAutoencoder(dir);
      using back = got.model;
      assert.equal(got.layout, 'diffusers');
      assert.deepEqual(back.config, vae.config);
      const x = torch.rand([1, 3, 8, 8], { generator: new torch.Generator(1) });
      assert.equal(relError(back.encode(x).mean, vae.encode(x).mean), 0);
      using half = loadAutoencoder(dir, { dtype: 'bfloat16' });
      saveAutoencoder(half, dir);
      assert.equal(loadSafetensors(join(dir, 'diffusion_pytorch_model.safetensors')).tensors.get('quant_conv.weight')!.dtype, 'float32');
      writeFileSync(join(dir, 'config.json'), '{"_class_name": "UNet2DModel"}');
      assert.throws(() => loadAutoencoder(dir), /_class_name = "UNet2DModel" is not supported/);
      writeFileSync(join(dir, 'config.json'), '{"in_channels": 3,');
      assert.throws(() => loadAutoencoder(dir), /config\.json: not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }),
);
