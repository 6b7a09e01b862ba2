/**
 * Autoencoders of latent diffusion: diffusers' AutoencoderKL (SD-VAE, the latent space of REPA/REG) at
 * any configuration, loaded from a diffusers folder (either attention naming) or a single-file LDM
 * checkpoint.
 *
 *   import { loadAutoencoder, LatentDecoder } from 'reg-ts/models';
 *   const vae = loadAutoencoder('sd-vae-ft-ema/', { device: 'cuda' });
 *   const { mean, std } = vae.encode(images);            // images in [−1, 1] → posterior (B, 4, H/8, W/8)
 *   const pixels = vae.decodeLatents(samples);            // decode(samples / 0.18215), about [−1, 1]
 */
export {
  type AutoencoderKLConfig,
  SD_VAE_CONFIG,
  SD_VAE_SCALING_FACTOR,
  AutoencoderConfigError,
  checkAutoencoderConfig,
  configFromDiffusers,
  configToDiffusers,
  downsampleFactorOf,
} from './config.js';
export {
  AutoencoderKL,
  LatentDecoder,
  createAutoencoderKL,
  ResnetBlock2D,
  Downsample2D,
  Upsample2D,
  VaeAttention,
  VaeMidBlock,
  VaeLevel,
  VaeEncoder,
  VaeDecoder,
  type LatentPosterior,
  type AutoencoderKLInitOptions,
} from './autoencoder-kl.js';
export { type AutoencoderLayout, LAYOUT_DESCRIPTIONS, guessLayout, layoutKey } from './layouts.js';
export {
  loadAutoencoder,
  readAutoencoder,
  saveAutoencoder,
  inferAutoencoderConfig,
  AutoencoderLoadError,
  DIFFUSERS_VAE_FILES,
  type LoadAutoencoderOptions,
  type AutoencoderContents,
} from './load.js';
