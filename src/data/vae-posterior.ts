/**
 * An AutoencoderKL as the {@link PosteriorEncoder} of latent-space data: uint8 RGB images →
 * x/127.5 − 1 → `encode(x)` → [mean; std] (REPA/REG's preprocessing `encode` step, which uses
 * sd-vae-ft-mse), float32 on the cpu.
 */
import type { AutoencoderKL } from '../models/autoencoders/autoencoder-kl.js';
import { stateDigest } from '../models/encoders/mobilenetv2-weights.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { PosteriorEncoder } from './latents.js';

/** The posterior encoder of `vae`, loaded from `source` (recorded in its info). */
export function vaePosterior(vae: AutoencoderKL, source: string): PosteriorEncoder {
  const { latentChannels, blockOutChannels, scalingFactor, shiftFactor } = vae.config;
  return {
    info: {
      name: 'AutoencoderKL',
      weights: source,
      weightsSha256: torch.scope(() => stateDigest(vae.stateDict())),
      latentChannels,
      blockOutChannels,
      scalingFactor,
      shiftFactor,
      input: 'x/127.5 − 1',
      moments: '[mean; std], std = exp(clamp(logvar, −30, 20)/2)',
    },
    latentChannels,
    downsampling: vae.downsampleFactor,
    moments(images: Tensor): Tensor {
      return torch.noGrad(() =>
        torch.scope(() => {
          const x = images.to({ device: vae.device, dtype: 'float32' }).div(127.5).sub(1);
          const { mean, std } = vae.encode(x);
          return torch.cat([mean, std], 1).to({ dtype: 'float32', device: 'cpu' }).contiguous();
        }),
      );
    },
    dispose: () => vae.dispose(),
  };
}
