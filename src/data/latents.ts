/**
 * Latent-space training data, the paper's setting: every image is stored as its autoencoder posterior
 * N(mean, std²) and the model learns latents drawn afresh at every step, as REPA/REG's
 * `sample_posterior` does:
 *
 *   moments = [mean; std]                (2C, h, w) per image; SD-VAE at 256 px: (8, 32, 32) float32
 *   x       = (mean + std·ε − shift)·scale,   ε ~ N(0, I)
 *
 * SD-VAE: scale 0.18215, shift 0 (the official `latents_scale`; its `latents_bias` is −shift·scale).
 * ε comes from the source's own CPU generator, whose state travels in the source's position (and so in
 * every checkpoint): a resumed run draws exactly the ε an uninterrupted one would, on any device.
 */
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { decodeRng, encodeRng, type SavedRng } from '../train/checkpoint.js';
import { DataSourceError, mixSeed } from '../train/data.js';

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

/** x = (mean + std·ε − shift)·scale for moments (B, 2C, h, w), ε drawn from `generator`. */
export function samplePosterior(moments: Tensor, generator: torch.Generator, { scale, shift }: LatentScaling): Tensor {
  return torch.scope(() => {
    const c = moments.shape[1]! / 2;
    const mean = moments.slice(1, 0, c);
    const std = moments.slice(1, c, 2 * c);
    const z = mean.add(std.mul(torch.randn(mean.shape, { generator })));
    return (shift === 0 ? z : z.sub(shift)).mul(scale);
  });
}

/** Stream number of the posterior generator in mixSeed. */
const POSTERIOR_STREAM = 0x1a7e;

/**
 * The posterior sampler of a latent source: a CPU generator seeded from the run's seed, or restored
 * from the state a checkpoint saved ({@link PosteriorSampler.state}).
 */
export class PosteriorSampler {
  readonly #generator: torch.Generator;

  constructor(
    seed: number,
    readonly scaling: LatentScaling,
    saved?: unknown,
  ) {
    this.#generator = new torch.Generator(mixSeed(seed, POSTERIOR_STREAM));
    if (saved !== undefined) {
      const s = saved as Partial<SavedRng>;
      if (typeof s !== 'object' || s === null || s.device !== 'cpu' || typeof s.state !== 'string')
        throw new DataSourceError(`latent source: bad saved posterior generator ${JSON.stringify(saved)?.slice(0, 80)}`);
      torch.scope(() => this.#generator.setState(decodeRng(s as SavedRng)));
    }
  }

  /** Model inputs x for moments (B, 2C, h, w); advances the generator. */
  sample(moments: Tensor): Tensor {
    return samplePosterior(moments, this.#generator, this.scaling);
  }

  /** The generator's state (JSON), to hand back to the constructor. */
  state(): SavedRng {
    return torch.scope(() => encodeRng('cpu', this.#generator.getState()));
  }
}
