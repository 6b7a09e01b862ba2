/**
 * Latent-space training data, the paper's setting: every image is stored as its autoencoder posterior
 * N(mean, std²) and the model learns latents drawn afresh at every step, as REPA/REG's
 * `sample_posterior` does:
 *
 *   moments = [mean; std]                (2C, h, w) per image; SD-VAE at 256 px: (8, 32, 32) float32
 *   x       = (mean + std·ε − shift)·scale,   ε ~ N(0, I)
 *
 * SD-VAE: scale 0.18215, shift 0 (the official `latents_scale`; its `latents_bias` is −shift·scale).
 * ε of image i in epoch e is drawn from a CPU generator of its own, seeded from (seed, e·N + i) for a
 * dataset of N images (train/sample-random.ts): a resumed run draws exactly the ε an uninterrupted one
 * would, on any device and with any number of processes, and no generator state needs saving.
 */
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { drawPerSample } from '../train/sample-random.js';

/** How posterior samples become model inputs: x = (z − shift)·scale. */
export interface LatentScaling {
  readonly scale: number;
  readonly shift: number;
}

/** Maps images to posterior moments (an autoencoder's encoder; see vae-posterior.ts). */
export interface PosteriorEncoder {
  /** Plain JSON that determines the moments (stored in feature-cache manifests). */
  readonly info: Readonly<Record<string, string | number | boolean | readonly number[]>>;
  /** Latent channels C (the moments have 2C). */
  readonly latentChannels: number;
  /** Image side ÷ latent side. */
  readonly downsampling: number;
  /** uint8 (B, 3, H, W) → float32 (B, 2C, H/f, W/f) on the cpu: [mean; std] of the posterior of x/127.5 − 1. */
  moments(images: Tensor): Tensor;
  dispose(): void;
}

/** Where a latent source's posterior moments come from, by dataset index (and the batch's pixels). */
export interface MomentsProvider {
  readonly description: string;
  /** Moment shape (2C, h, w). */
  readonly shape: readonly [number, number, number];
  /** float32 (B, 2C, h, w) on the cpu for the dataset indices (images: the batch's uint8 pixels, or null when none are loaded). */
  moments(indices: Int32Array, images: Tensor | null): Tensor;
  close(): void;
}

/** x = (mean + std·ε − shift)·scale for moments (B, 2C, h, w) and ε of the same shape as the mean. */
export function samplePosterior(moments: Tensor, eps: Tensor, { scale, shift }: LatentScaling): Tensor {
  return torch.scope(() => {
    const c = moments.shape[1]! / 2;
    const mean = moments.slice(1, 0, c);
    const std = moments.slice(1, c, 2 * c);
    const z = mean.add(std.mul(eps));
    return (shift === 0 ? z : z.sub(shift)).mul(scale);
  });
}

/** Stream number of the posterior draws in mixSeed. */
const POSTERIOR_STREAM = 0x1a7e;

/** The posterior sampler of a latent source: ε per (epoch, image) from the run's seed. */
export class PosteriorSampler {
  constructor(
    readonly seed: number,
    readonly scaling: LatentScaling,
  ) {}

  /**
   * Model inputs x for the moments (B, 2C, h, w) of images `indices` of a dataset of `length` images
   * in epoch `epoch`.
   */
  sample(moments: Tensor, { indices, epoch, length }: { indices: Int32Array; epoch: number; length: number }): Tensor {
    const shape = [1, moments.shape[1]! / 2, ...moments.shape.slice(2)];
    const keys = Array.from(indices, (i) => epoch * length + i);
    return torch.scope(() => {
      const { eps } = drawPerSample(this.seed, POSTERIOR_STREAM, keys, (generator) => ({ eps: torch.randn(shape, { generator }) }));
      return samplePosterior(moments, eps, this.scaling);
    });
  }
}
