/**
 * Tiny random weights in the real file layouts, written at test time (too large to commit at the
 * paper's 768-d width): an AutoencoderKL in the diffusers layout and a DINOv2 in the Hugging Face
 * layout, plus the committed tiny ImageNet-layout folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig, type SiTConfig } from '../src/models/configs.js';
import { createAutoencoderKL, saveAutoencoder, SD_VAE_CONFIG, type AutoencoderKLConfig } from '../src/models/autoencoders/index.js';
import { Dinov2, type Dinov2Config } from '../src/models/encoders/dinov2.js';
import * as torch from '../src/torch/index.js';
import { saveSafetensors } from '../src/torch/io/index.js';
import { fixturePath } from './fixture-path.js';

/** A small REG SiT on 4×32×32 latents with 24-d targets and 3 classes (the tiny folder's), with overrides. */
export function tinyLatentModel(over: Partial<SiTConfig> = {}): SiTConfig {
  return resolveConfig('SiT-S/2', {
    depth: 2,
    hiddenSize: 32,
    numHeads: 2,
    encoderDepth: 1,
    zDims: [24],
    projectorDim: 16,
    numClasses: 3,
    ...over,
  });
}

/** test/fixtures/data/imagenet-tiny/train: 3 wnid folders × 2 JPEGs (make-imagenet-tiny.ts). */
export const IMAGENET_TINY = fixturePath('data', 'imagenet-tiny', 'train');

/** A random AutoencoderKL (default: SD-VAE's ×8 and 4 latent channels at width 8) saved as `dir/{config.json, diffusion_pytorch_model.safetensors}`. */
export function writeTinyVae(dir: string, config: Partial<AutoencoderKLConfig> = {}, seed = 1): string {
  const vae = createAutoencoderKL(
    { ...SD_VAE_CONFIG, blockOutChannels: [8, 8, 8, 8], layersPerBlock: 1, normNumGroups: 4, ...config },
    { generator: new torch.Generator(seed) },
  );
  saveAutoencoder(vae, dir);
  vae.dispose();
  return dir;
}

/**
 * A random DINOv2 (default: ViT-B's width 768, 12 heads and patch 14, one layer, MLP 64, 2×2 stored
 * positions) saved in the Hugging Face layout `dir/{config.json, model.safetensors}`; returns the weights file.
 */
export function writeTinyDinov2(dir: string, config: Partial<Dinov2Config> = {}, seed = 2): string {
  const c: Dinov2Config = {
    hiddenSize: 768,
    numLayers: 1,
    numHeads: 12,
    mlpDim: 64,
    patchSize: 14,
    posGrid: 2,
    numRegisters: 0,
    layerNormEps: 1e-6,
    ...config,
  };
  mkdirSync(dir, { recursive: true });
  const net = new Dinov2(c);
  const g = new torch.Generator(seed);
  torch.scope(() => {
    const state = new Map([...net.stateDict()].map(([k, t]) => [k, torch.randn(t.shape, { generator: g }).mul(0.1)] as const));
    saveSafetensors(join(dir, 'model.safetensors'), state);
  });
  net.dispose();
  const hf = { model_type: 'dinov2', hidden_size: c.hiddenSize, num_hidden_layers: c.numLayers, num_attention_heads: c.numHeads };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify({ ...hf, patch_size: c.patchSize, layer_norm_eps: c.layerNormEps })}\n`);
  return join(dir, 'model.safetensors');
}
