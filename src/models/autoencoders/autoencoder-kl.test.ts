import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relError } from '../../../test/relative-error.js';
import { scoped } from '../../../test/scoped.js';
import * as torch from '../../torch/index.js';
import { init } from '../../nn/index.js';
import { AutoencoderKL, LatentDecoder, createAutoencoderKL } from './autoencoder-kl.js';
import { AutoencoderConfigError, SD_VAE_CONFIG, type AutoencoderKLConfig } from './config.js';

const TINY: AutoencoderKLConfig = { ...SD_VAE_CONFIG, blockOutChannels: [4, 6], layersPerBlock: 1, normNumGroups: 2, sampleSize: 16 };

test('SD-VAE config: 248 tensors and 83,653,863 parameters, 49,490,199 in post_quant_conv + decoder', () => {
  const vae = init.skipInit(() => new AutoencoderKL(SD_VAE_CONFIG));
  try {
    const sd = vae.stateDict();
    assert.equal(sd.size, 248);
    assert.equal(vae.numParameters(), 83_653_863);
    const decoderSide = [...sd].filter(([k]) => k.startsWith('decoder.') || k.startsWith('post_quant_conv.'));
    assert.equal(
      decoderSide.reduce((n, [, t]) => n + t.numel, 0),
      49_490_199,
    );
    assert.equal(sd.size - decoderSide.length, 108);
    // shapes named in the diffusers sources (wave-2 notes §1)
    const shape = (k: string): readonly number[] => sd.get(k)!.shape;
    assert.deepEqual(shape('encoder.conv_in.weight'), [128, 3, 3, 3]);
    assert.deepEqual(shape('encoder.down_blocks.1.resnets.0.conv_shortcut.weight'), [256, 128, 1, 1]);
    assert.deepEqual(shape('encoder.down_blocks.2.resnets.0.conv_shortcut.weight'), [512, 256, 1, 1]);
    assert.deepEqual(shape('encoder.mid_block.attentions.0.to_out.0.weight'), [512, 512]);
    assert.deepEqual(shape('encoder.conv_out.weight'), [8, 512, 3, 3]);
    assert.deepEqual(shape('quant_conv.weight'), [8, 8, 1, 1]);
    assert.deepEqual(shape('post_quant_conv.weight'), [4, 4, 1, 1]);
    assert.deepEqual(shape('decoder.conv_in.weight'), [512, 4, 3, 3]);
    assert.deepEqual(shape('decoder.up_blocks.2.resnets.0.conv_shortcut.weight'), [256, 512, 1, 1]);
    assert.deepEqual(shape('decoder.up_blocks.3.resnets.0.conv_shortcut.weight'), [128, 256, 1, 1]);
    assert.deepEqual(shape('decoder.up_blocks.0.resnets.2.conv2.weight'), [512, 512, 3, 3]);
    assert.ok(sd.has('decoder.up_blocks.2.upsamplers.0.conv.weight') && !sd.has('decoder.up_blocks.3.upsamplers.0.conv.weight'));
    assert.ok(sd.has('encoder.down_blocks.2.downsamplers.0.conv.weight') && !sd.has('encoder.down_blocks.3.downsamplers.0.conv.weight'));
  } finally {
    vae.dispose();
  }
});

test(
  'shapes: 2^(levels−1) downsampling, posterior (B, L, H/f, W/f), decode back to (B, C, H, W)',
  scoped(() => {
    using vae = createAutoencoderKL(TINY, { generator: new torch.Generator(0) });
    assert.equal(vae.downsampleFactor, 2);
    const x = torch
      .rand([2, 3, 8, 12], { generator: new torch.Generator(1) })
      .mul(2)
      .sub(1);
    const { mean, std } = vae.encode(x);
    assert.deepEqual(mean.shape, [2, 4, 4, 6]);
    assert.deepEqual(std.shape, [2, 4, 4, 6]);
    assert.ok(std.gt(0).all().item() === 1);
    assert.deepEqual(vae.decode(mean).shape, [2, 3, 8, 12]);
  }),
);

test(
  'createAutoencoderKL: the generator decides the weights; GroupNorm starts at γ = 1, β = 0',
  scoped(() => {
    using a = createAutoencoderKL(TINY, { generator: new torch.Generator(7) });
    using b = createAutoencoderKL(TINY, { generator: new torch.Generator(7) });
    using c = createAutoencoderKL(TINY, { generator: new torch.Generator(8) });
    const w = (m: AutoencoderKL): torch.Tensor => m.decoder.conv_out.weight;
    assert.equal(relError(w(a), w(b)), 0);
    assert.ok(relError(w(a), w(c)) > 0.1);
    const bound = 1 / Math.sqrt(4 * 9); // fan_in of decoder.conv_out (4 channels, 3×3)
    assert.ok(w(a).abs().max().item() <= bound);
    assert.ok(a.decoder.conv_out.bias!.abs().max().item() <= bound);
    assert.equal(a.encoder.conv_norm_out.weight!.sub(1).abs().max().item(), 0);
    assert.equal(a.encoder.conv_norm_out.bias!.abs().max().item(), 0);
  }),
);

test(
  'logvar is clamped to [−30, 20]: std = e^10 and e^−15 at the bounds',
  scoped(() => {
    using vae = createAutoencoderKL(TINY, { generator: new torch.Generator(0) });
    torch.noGrad(() => {
      vae.quant_conv.weight.zero_();
      vae.quant_conv.bias!.copy_(torch.tensor([0.5, -1, 2, 3, 25, -40, 0, 1]));
    });
    const { mean, std } = vae.encode(torch.zeros([1, 3, 4, 4]));
    assert.deepEqual(mean.mean([0, 2, 3]).toArray(), [0.5, -1, 2, 3]);
    const perChannel = std.mean([0, 2, 3]).toArray();
    const expected = [Math.exp(10), Math.exp(-15), 1, Math.exp(0.5)];
    perChannel.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1e-6 * expected[i]!, `channel ${i}: ${v} vs ${expected[i]}`));
  }),
);

test(
  'decodeLatents = decode(z / scale + shift); LatentDecoder decodes model-space latents',
  scoped(() => {
    using vae = createAutoencoderKL({ ...TINY, scalingFactor: 0.25, shiftFactor: 0.1 }, { generator: new torch.Generator(0) });
    const z = torch.randn([1, 4, 3, 5], { generator: new torch.Generator(2) });
    const direct = vae.decode(z.div(0.25).add(0.1));
    assert.ok(relError(vae.decodeLatents(z), direct) <= 1e-6);
    assert.ok(relError(new LatentDecoder(vae).decode(z), direct) <= 1e-6);
  }),
);

test(
  'bfloat16: parameters and outputs in bf16, inputs of another dtype converted',
  scoped(() => {
    using vae = createAutoencoderKL(TINY, { generator: new torch.Generator(0), dtype: 'bfloat16' });
    assert.equal(vae.dtype, 'bfloat16');
    const { mean } = vae.encode(torch.zeros([1, 3, 4, 4]));
    assert.equal(mean.dtype, 'bfloat16');
    assert.equal(vae.decode(mean.float()).dtype, 'bfloat16');
  }),
);

test('a config the architecture cannot build is refused with the reason', () => {
  assert.throws(() => new AutoencoderKL({ ...TINY, normNumGroups: 4 }), AutoencoderConfigError);
  assert.throws(() => new AutoencoderKL({ ...TINY, normNumGroups: 4 }), /normNumGroups 4 does not divide the block width 6/);
  assert.throws(() => new AutoencoderKL({ ...TINY, blockOutChannels: [] }), /blockOutChannels must be a non-empty list/);
  assert.throws(() => new AutoencoderKL({ ...TINY, scalingFactor: 0 }), /scalingFactor must be a non-zero number/);
});

test(
  'training: a reconstruction + KL loss reaches every parameter with a finite gradient',
  scoped(() => {
    using vae = createAutoencoderKL(TINY, { generator: new torch.Generator(0) });
    const x = torch
      .rand([2, 3, 8, 8], { generator: new torch.Generator(1) })
      .mul(2)
      .sub(1);
    const { mean, std } = vae.encode(x);
    const z = torch
      .randn(mean.shape, { generator: new torch.Generator(2) })
      .mul(std)
      .add(mean);
    const kl = mean.square().add(std.square()).sub(1).sub(std.square().log()).mul(0.5).mean();
    vae.decode(z).sub(x).square().mean().add(kl).backward();
    for (const [name, p] of vae.namedParameters()) {
      assert.ok(p.grad !== null, `${name} has a gradient`);
      assert.equal(p.grad.isfinite().all().item(), 1, `${name}: finite gradient`);
      assert.ok(p.grad.abs().max().item() > 0, `${name}: non-zero gradient`);
    }
    vae.zeroGrad();
  }),
);
