/**
 * AutoencoderKL, the VAE of Stable Diffusion (stabilityai/sd-vae-ft-ema|mse) and of REPA/REG's latent
 * space: diffusers' `AutoencoderKL` at any configuration, with its module and parameter names, so a
 * diffusers state dict loads as it is (load.ts reads the other layouts).
 *
 *   encode:  x ∈ [−1, 1] (B, C_in, H, W) → Encoder → quant_conv → [mean ; logvar] (B, 2L, H/f, W/f),  f = 2^(levels−1)
 *            logvar ← clamp(logvar, −30, 20),  std = exp(logvar / 2)      (DiagonalGaussianDistribution)
 *   decode:  z (B, L, H/f, W/f) → post_quant_conv → Decoder → pixels ≈ [−1, 1] (not clamped)
 *
 *   Encoder: conv_in → levels of `layersPerBlock` ResnetBlock2D (+ Downsample2D but the last) → mid block
 *            (resnet → attention → resnet) → GroupNorm → SiLU → conv_out (→ 2L)
 *   Decoder: conv_in → mid block → levels on the reversed widths, `layersPerBlock + 1` resnets each
 *            (+ Upsample2D but the last) → GroupNorm → SiLU → conv_out (→ C_out)
 *
 * Every GroupNorm has ε = 1e-6. Sources: diffusers `models/autoencoders/{autoencoder_kl,vae}.py`,
 * `models/{resnet,downsampling,upsampling,attention_processor}.py`, `models/unets/unet_2d_blocks.py`.
 */
import * as torch from '../../torch/index.js';
import type { Device, DType, Tensor } from '../../torch/index.js';
import { Conv2d, GroupNorm, Linear, Module, ModuleList, init } from '../../nn/index.js';
import { type AutoencoderKLConfig, checkAutoencoderConfig, downsampleFactorOf } from './config.js';

const F = torch.F;

/** ε of every GroupNorm of AutoencoderKL. */
const NORM_EPS = 1e-6;

const groupNorm = (groups: number, channels: number): GroupNorm => new GroupNorm(groups, channels, { eps: NORM_EPS });
const conv3x3 = (cin: number, cout: number, stride = 1, padding = 1): Conv2d => new Conv2d(cin, cout, 3, { stride, padding });

/**
 * Runs `steps` in order on x and returns the last result; each intermediate is disposed as soon as the
 * next exists (x is not), so a chain of layers keeps about two activations alive instead of all of them.
 * Autograd still holds whatever backward needs.
 */
function pipeline(x: Tensor, steps: readonly ((t: Tensor) => Tensor)[]): Tensor {
  let h = x;
  for (const step of steps) {
    const next = step(h);
    if (h !== x) h.dispose();
    h = next;
  }
  return h;
}

/**
 * ResnetBlock2D without time embedding (dropout 0): h = conv1(SiLU(norm1(x))), h = conv2(SiLU(norm2(h))),
 * out = shortcut(x) + h, where shortcut is a 1×1 `conv_shortcut` when the width changes, else identity.
 */
export class ResnetBlock2D extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly conv_shortcut: Conv2d | null;

  constructor(inChannels: number, outChannels: number, groups: number) {
    super();
    this.norm1 = this.child('norm1', groupNorm(groups, inChannels));
    this.conv1 = this.child('conv1', conv3x3(inChannels, outChannels));
    this.norm2 = this.child('norm2', groupNorm(groups, outChannels));
    this.conv2 = this.child('conv2', conv3x3(outChannels, outChannels));
    this.conv_shortcut = inChannels !== outChannels ? this.child('conv_shortcut', new Conv2d(inChannels, outChannels, 1)) : null;
  }

  forward(x: Tensor): Tensor {
    const h = pipeline(x, [
      (t) => this.norm1.forward(t),
      F.silu,
      (t) => this.conv1.forward(t),
      (t) => this.norm2.forward(t),
      F.silu,
      (t) => this.conv2.forward(t),
    ]);
    return h.add_(this.conv_shortcut ? this.conv_shortcut.forward(x) : x);
  }
}

/** Downsample2D(use_conv, padding 0): zero-pad right and bottom by one, then a 3×3 stride-2 convolution without padding. */
export class Downsample2D extends Module {
  readonly conv: Conv2d;

  constructor(channels: number) {
    super();
    this.conv = this.child('conv', conv3x3(channels, channels, 2, 0));
  }

  forward(x: Tensor): Tensor {
    return this.conv.forward(F.pad(x, [0, 1, 0, 1]));
  }
}

/** Upsample2D(use_conv): nearest-neighbour ×2, then a 3×3 convolution with padding 1. */
export class Upsample2D extends Module {
  readonly conv: Conv2d;

  constructor(channels: number) {
    super();
    this.conv = this.child('conv', conv3x3(channels, channels));
  }

  forward(x: Tensor): Tensor {
    return this.conv.forward(F.interpolate(x, { scaleFactor: 2, mode: 'nearest' }));
  }
}

/**
 * The mid block's single-head self-attention over the H·W positions, with a residual:
 *
 *   t = GroupNorm(x) as (B, HW, C);  q, k, v = to_q(t), to_k(t), to_v(t)
 *   out = x + to_out.0(softmax(q·kᵀ / √C)·v) as (B, C, H, W)
 *
 * computed in float32 whatever the parameters' dtype (diffusers upcasts the softmax); the result returns
 * to the input's dtype. Keys `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0` (Linear C → C, with bias).
 */
export class VaeAttention extends Module {
  readonly group_norm: GroupNorm;
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  readonly to_out: ModuleList<Linear>;

  constructor(channels: number, groups: number) {
    super();
    this.group_norm = this.child('group_norm', groupNorm(groups, channels));
    this.to_q = this.child('to_q', new Linear(channels, channels));
    this.to_k = this.child('to_k', new Linear(channels, channels));
    this.to_v = this.child('to_v', new Linear(channels, channels));
    this.to_out = this.child('to_out', new ModuleList([new Linear(channels, channels)]));
  }

  forward(x: Tensor): Tensor {
    const [b, c, h, w] = x.shape as [number, number, number, number];
    const tokens = this.group_norm
      .forward(x)
      .view(b, c, h * w)
      .transpose(1, 2);
    const [q, k, v] = [this.to_q, this.to_k, this.to_v].map((l) => l.forward(tokens).to('float32')) as [Tensor, Tensor, Tensor];
    const attended = F.scaledDotProductAttention(q, k, v).to(x.dtype);
    return this.to_out.items[0]!.forward(attended).transpose(1, 2).reshape(b, c, h, w).add(x);
  }
}

/** UNetMidBlock2D of the VAE: resnets.0 → attentions.0 → resnets.1, all at one width. */
export class VaeMidBlock extends Module {
  readonly attentions: ModuleList<VaeAttention>;
  readonly resnets: ModuleList<ResnetBlock2D>;

  constructor(channels: number, groups: number) {
    super();
    this.attentions = this.child('attentions', new ModuleList([new VaeAttention(channels, groups)]));
    this.resnets = this.child('resnets', new ModuleList([0, 1].map(() => new ResnetBlock2D(channels, channels, groups))));
  }

  forward(x: Tensor): Tensor {
    const [first, second] = this.resnets.items as [ResnetBlock2D, ResnetBlock2D];
    const attention = this.attentions.items[0]!;
    return pipeline(x, [(t) => first.forward(t), (t) => attention.forward(t), (t) => second.forward(t)]);
  }
}

/** One resolution level: `resnets` (the first changes the width), then an optional resampler (`downsamplers.0` / `upsamplers.0`). */
export class VaeLevel extends Module {
  readonly resnets: ModuleList<ResnetBlock2D>;
  readonly resampler: Downsample2D | Upsample2D | null;

  constructor(inChannels: number, outChannels: number, layers: number, groups: number, resample: 'down' | 'up' | null) {
    super();
    this.resnets = this.child(
      'resnets',
      new ModuleList(Array.from({ length: layers }, (_, i) => new ResnetBlock2D(i === 0 ? inChannels : outChannels, outChannels, groups))),
    );
    const resampler = resample === 'down' ? new Downsample2D(outChannels) : resample === 'up' ? new Upsample2D(outChannels) : null;
    this.resampler = resampler;
    if (resampler) this.child(resample === 'down' ? 'downsamplers' : 'upsamplers', new ModuleList([resampler]));
  }

  forward(x: Tensor): Tensor {
    const resample = this.resampler ? [(t: Tensor) => this.resampler!.forward(t)] : [];
    return pipeline(x, [...this.resnets.items.map((r) => (t: Tensor) => r.forward(t)), ...resample]);
  }
}

/** diffusers `Encoder`: image (B, C_in, H, W) → [mean ; logvar] before quant_conv (B, 2L, H/f, W/f). */
export class VaeEncoder extends Module {
  readonly conv_in: Conv2d;
  readonly down_blocks: ModuleList<VaeLevel>;
  readonly mid_block: VaeMidBlock;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;

  constructor(c: AutoencoderKLConfig) {
    super();
    const widths = c.blockOutChannels;
    const top = widths[widths.length - 1]!;
    this.conv_in = this.child('conv_in', conv3x3(c.inChannels, widths[0]!));
    this.down_blocks = this.child(
      'down_blocks',
      new ModuleList(
        widths.map(
          (w, i) =>
            new VaeLevel(
              i === 0 ? widths[0]! : widths[i - 1]!,
              w,
              c.layersPerBlock,
              c.normNumGroups,
              i < widths.length - 1 ? 'down' : null,
            ),
        ),
      ),
    );
    this.mid_block = this.child('mid_block', new VaeMidBlock(top, c.normNumGroups));
    this.conv_norm_out = this.child('conv_norm_out', groupNorm(c.normNumGroups, top));
    this.conv_out = this.child('conv_out', conv3x3(top, 2 * c.latentChannels));
  }

  forward(x: Tensor): Tensor {
    return pipeline(x, [
      (t) => this.conv_in.forward(t),
      ...this.down_blocks.items.map((level) => (t: Tensor) => level.forward(t)),
      (t) => this.mid_block.forward(t),
      (t) => this.conv_norm_out.forward(t),
      F.silu,
      (t) => this.conv_out.forward(t),
    ]);
  }
}

/** diffusers `Decoder`: latent after post_quant_conv (B, L, h, w) → image (B, C_out, h·f, w·f). */
export class VaeDecoder extends Module {
  readonly conv_in: Conv2d;
  readonly up_blocks: ModuleList<VaeLevel>;
  readonly mid_block: VaeMidBlock;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;

  constructor(c: AutoencoderKLConfig) {
    super();
    const widths = [...c.blockOutChannels].reverse();
    this.conv_in = this.child('conv_in', conv3x3(c.latentChannels, widths[0]!));
    this.up_blocks = this.child(
      'up_blocks',
      new ModuleList(
        widths.map(
          (w, i) =>
            new VaeLevel(
              i === 0 ? widths[0]! : widths[i - 1]!,
              w,
              c.layersPerBlock + 1,
              c.normNumGroups,
              i < widths.length - 1 ? 'up' : null,
            ),
        ),
      ),
    );
    this.mid_block = this.child('mid_block', new VaeMidBlock(widths[0]!, c.normNumGroups));
    this.conv_norm_out = this.child('conv_norm_out', groupNorm(c.normNumGroups, widths[widths.length - 1]!));
    this.conv_out = this.child('conv_out', conv3x3(widths[widths.length - 1]!, c.outChannels));
  }

  forward(z: Tensor): Tensor {
    return pipeline(z, [
      (t) => this.conv_in.forward(t),
      (t) => this.mid_block.forward(t),
      ...this.up_blocks.items.map((level) => (t: Tensor) => level.forward(t)),
      (t) => this.conv_norm_out.forward(t),
      F.silu,
      (t) => this.conv_out.forward(t),
    ]);
  }
}

/** The posterior q(z | x) = N(mean, std²) per latent element, (B, L, H/f, W/f) each. */
export interface LatentPosterior {
  mean: Tensor;
  std: Tensor;
}

/** Options of {@link createAutoencoderKL}. */
export interface AutoencoderKLInitOptions {
  device?: Device;
  dtype?: DType;
  /** Stream of the random initialisation (default: the global generator). */
  generator?: torch.Generator;
}

/**
 * diffusers' AutoencoderKL (see the file comment). State-dict keys are diffusers': `encoder.*`,
 * `quant_conv.*`, `post_quant_conv.*`, `decoder.*` (e.g. `decoder.up_blocks.0.resnets.2.conv1.weight`,
 * `encoder.mid_block.attentions.0.to_q.weight`). Inputs of another floating dtype are converted to the
 * parameters' dtype; outputs have the parameters' dtype.
 */
export class AutoencoderKL extends Module {
  readonly config: Readonly<AutoencoderKLConfig>;
  readonly encoder: VaeEncoder;
  readonly decoder: VaeDecoder;
  readonly quant_conv: Conv2d;
  readonly post_quant_conv: Conv2d;

  constructor(config: AutoencoderKLConfig) {
    super();
    checkAutoencoderConfig(config);
    this.config = Object.freeze({ ...config, blockOutChannels: [...config.blockOutChannels] });
    const L = config.latentChannels;
    this.encoder = this.child('encoder', new VaeEncoder(this.config));
    this.decoder = this.child('decoder', new VaeDecoder(this.config));
    this.quant_conv = this.child('quant_conv', new Conv2d(2 * L, 2 * L, 1));
    this.post_quant_conv = this.child('post_quant_conv', new Conv2d(L, L, 1));
  }

  /** Spatial reduction f = 2^(levels − 1) (8 for SD-VAE: 256 px ↔ 32×32 latents). */
  get downsampleFactor(): number {
    return downsampleFactorOf(this.config);
  }

  /** dtype of the parameters. */
  get dtype(): DType {
    return this.quant_conv.weight.dtype;
  }

  /** Device of the parameters. */
  get device(): Device {
    return this.quant_conv.weight.device;
  }

  /** The posterior of images x ∈ [−1, 1] (B, C_in, H, W): mean and std = exp(clamp(logvar, −30, 20) / 2). */
  encode(x: Tensor): LatentPosterior {
    return torch.scope(() => {
      const moments = this.quant_conv.forward(this.encoder.forward(this.#asParams(x)));
      const [mean, logvar] = moments.chunk(2, 1) as [Tensor, Tensor];
      return { mean: mean.contiguous(), std: logvar.clamp(-30, 20).mul(0.5).exp() };
    });
  }

  /** Pixels (B, C_out, h·f, w·f), about [−1, 1] and not clamped, of unscaled latents z (B, L, h, w) (diffusers `decode(z).sample`). */
  decode(z: Tensor): Tensor {
    return torch.scope(() => this.decoder.forward(this.post_quant_conv.forward(this.#asParams(z))));
  }

  /**
   * Pixels of latents in the diffusion model's space, z_model = (z − shift)·scale: decode(z_model / scale + shift),
   * e.g. SD-VAE's decode(z / 0.18215) of the official sampling. Satisfies diffusion's `Autoencoder` interface
   * through {@link LatentDecoder}.
   */
  decodeLatents(zModel: Tensor): Tensor {
    return torch.scope(() => this.decode(zModel.div(this.config.scalingFactor).add(this.config.shiftFactor)));
  }

  /**
   * Fills every parameter as PyTorch's default initialisation does: Conv2d and Linear weight and bias
   * U(±1/√fan_in) (the weight's fan_in), GroupNorm γ = 1, β = 0; in module order, from `generator`.
   */
  initializeWeights(generator?: torch.Generator): void {
    torch.noGrad(() => {
      const visit = (m: Module): void => {
        if (m instanceof Conv2d || m instanceof Linear) {
          const bound = init.defaultUniformBound(m.weight);
          init.uniform_(m.weight, -bound, bound, generator);
          if (m.bias) init.uniform_(m.bias, -bound, bound, generator);
        } else if (m instanceof GroupNorm) {
          if (m.weight) init.ones_(m.weight);
          if (m.bias) init.zeros_(m.bias);
        }
        for (const [, ch] of m.children()) visit(ch);
      };
      visit(this);
    });
  }

  #asParams(x: Tensor): Tensor {
    return x.dtype === this.dtype ? x : x.to(this.dtype);
  }
}

/**
 * A randomly initialised AutoencoderKL (benchmarks, tests, training from scratch): PyTorch's default
 * initialisation from `generator`, then moved to `device` / `dtype`.
 */
export function createAutoencoderKL(
  config: AutoencoderKLConfig,
  { device, dtype, generator }: AutoencoderKLInitOptions = {},
): AutoencoderKL {
  const vae = init.skipInit(() => new AutoencoderKL(config));
  vae.initializeWeights(generator);
  if (device !== undefined || dtype !== undefined) vae.to({ device, dtype });
  return vae;
}

/**
 * diffusion's `Autoencoder` (src/diffusion/decode.ts) over an AutoencoderKL: `decode(latents)` maps
 * model-space latents to pixels with {@link AutoencoderKL.decodeLatents}.
 */
export class LatentDecoder {
  constructor(readonly vae: AutoencoderKL) {}

  decode(latents: Tensor): Tensor {
    return this.vae.decodeLatents(latents);
  }
}
