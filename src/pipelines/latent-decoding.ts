/**
 * Decoding a latent diffusion model's samples with its autoencoder, as the official generate.py does:
 *
 *   images = vae.decode(z / scaling_factor + shift)        (SD-VAE: decode(z / 0.18215))
 *
 * then the packaging of diffusion/decode.ts (uint8 truncation). This file checks that an autoencoder
 * fits a model before any sampling.
 */
import { downsampleFactorOf, type AutoencoderKLConfig } from '../models/autoencoders/index.js';
import type { VelocityModelConfig } from '../diffusion/model.js';

/** An autoencoder that does not fit the model it should decode (latent channels or image size differ). */
export class AutoencoderMismatchError extends Error {
  override name = 'AutoencoderMismatchError';
}

/**
 * Throws an {@link AutoencoderMismatchError} naming both numbers unless the autoencoder decodes the model's
 * samples: latent channels = the model's in_channels, and model input_size × 2^(levels − 1) = the
 * autoencoder's sample_size (SD-VAE: 32 × 8 = 256).
 */
export function checkAutoencoderFits(vae: Readonly<AutoencoderKLConfig>, model: VelocityModelConfig, what = 'the autoencoder'): void {
  if (vae.latentChannels !== model.inChannels) {
    throw new AutoencoderMismatchError(
      `${what} has ${vae.latentChannels} latent channels but the model generates ${model.inChannels}-channel latents; use the autoencoder the model was trained with`,
    );
  }
  const factor = downsampleFactorOf(vae);
  const side = model.inputSize * factor;
  if (side !== vae.sampleSize) {
    throw new AutoencoderMismatchError(
      `${what} works on ${vae.sampleSize}×${vae.sampleSize} images but the model's ${model.inputSize}×${model.inputSize} latents decode to ${side}×${side} (×${factor}); use the autoencoder of the model's image size`,
    );
  }
}
