/**
 * Training an {@link AutoencoderKL} from scratch on images in memory, for latent-space REG where no
 * pretrained SD-VAE can be had. The loss of a batch x ∈ [−1, 1] (B, C, H, W), with the posterior
 * N(μ, σ²) = encode(x) and z = μ + σ·ε, ε ~ N(0, I), is
 *
 *   L = mean((decode(z) − x)²)  +  β · Σ ½(μ² + σ² − 1 − log σ²) / (B·C·H·W)
 *
 * i.e. LDM's KL-regularised autoencoder objective (per-image sums of the reconstruction and of
 * KL(N(μ, σ²) ‖ N(0, I)), β = kl_weight 1e-6) divided by the pixel count, with a squared error in
 * place of LDM's L1 + LPIPS (+ GAN). AdamW (src/train/adamw.ts) takes the steps; training stops after
 * `steps` or `budgetSeconds`, whichever comes first.
 *
 * Afterwards the latent scale is set as LDM does it: scalingFactor = 1 / std(z) over posterior samples
 * of (up to 1024) training images, shift 0, so that the diffusion model sees latents of unit variance.
 * The output folder is diffusers' layout (config.json + diffusion_pytorch_model.safetensors, which
 * `AutoencoderKL.from_pretrained` and {@link loadAutoencoder} read) plus {@link AUTOENCODER_RECORD_FILE};
 * it is assembled beside `out` and renamed into place, so `out` is either complete or absent.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { AutoencoderKL, createAutoencoderKL } from '../models/autoencoders/autoencoder-kl.js';
import type { AutoencoderKLConfig } from '../models/autoencoders/config.js';
import { saveAutoencoder } from '../models/autoencoders/load.js';
import { init } from '../nn/index.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import { regTsVersion } from '../util/version.js';
import { adamw } from './adamw.js';
import { mixSeed } from './data.js';

/** The record written beside the weights. */
export const AUTOENCODER_RECORD_FILE = 'autoencoder.json';

/** Training images used to measure the latent std (LDM uses one batch; more is steadier). */
const SCALE_IMAGES = 1024;

/** What {@link trainAutoencoder} needs. */
export interface AutoencoderTrainOptions {
  /** Shape of the autoencoder (its scalingFactor / shiftFactor are replaced by the measured ones). */
  config: AutoencoderKLConfig;
  /** Training images, uint8 (N, C, H, W) with C = config.inChannels. */
  train: Tensor;
  /** Held-out images for the reconstruction error, uint8 (M, C, H, W). */
  test: Tensor;
  /** Output folder (replaced when it exists). */
  out: string;
  /** Most optimizer steps. */
  steps: number;
  /** Training stops after this many seconds (checked between steps). */
  budgetSeconds: number;
  batchSize: number;
  learningRate: number;
  /** β of the KL term (see the file comment). */
  klWeight: number;
  /** Seeds the initialisation, the batch order and ε. */
  seed: number;
  /** Show a progress bar with ETA. */
  progress?: boolean;
  /** Extra JSON stored in the record (e.g. the command's settings and dataset). */
  info?: Readonly<Record<string, unknown>>;
}

/** {@link AUTOENCODER_RECORD_FILE}: what was trained and how well it reconstructs. */
export interface AutoencoderRecord {
  regTs: string;
  createdAt: string;
  info: Readonly<Record<string, unknown>>;
  config: AutoencoderKLConfig;
  parameters: number;
  training: {
    steps: number;
    seconds: number;
    batchSize: number;
    learningRate: number;
    klWeight: number;
    seed: number;
    /** Mean loss terms over the first and the last (up to) 50 steps. */
    reconstructionStart: number;
    reconstructionEnd: number;
    klStart: number;
    klEnd: number;
  };
  /** Held-out reconstruction decode(μ) vs x, pixels in [0, 1] (decoder output clamped to [−1, 1]). */
  reconstruction: { images: number; mse: number; psnr: number };
  /** Posterior samples z of the training images: their mean and std; scalingFactor = 1 / std. */
  latents: { images: number; shape: number[]; mean: number; std: number; scalingFactor: number; shiftFactor: number };
}

/** uint8 images → float x/127.5 − 1 in [−1, 1]. */
const toUnit = (images: Tensor): Tensor => images.to({ dtype: 'float32' }).div(127.5).sub(1);

/** Mean of the first and the last `n` entries. */
function ends(values: readonly number[], n = 50): [number, number] {
  const k = Math.max(1, Math.min(n, Math.floor(values.length / 2)));
  const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return [mean(values.slice(0, k)), mean(values.slice(-k))];
}

/**
 * The loss terms of one batch x ∈ [−1, 1] (see the file comment): reconstruction mean((decode(z) − x)²)
 * and the KL sum divided by the pixel count (unweighted).
 */
export function autoencoderLoss(vae: AutoencoderKL, x: Tensor, generator: torch.Generator): { reconstruction: Tensor; kl: Tensor } {
  const { mean, std } = vae.encode(x);
  const z = mean.add(std.mul(torch.randn(mean.shape, { generator })));
  const reconstruction = vae.decode(z).sub(x).square().mean();
  const variance = std.square();
  const kl = mean
    .square()
    .add(variance)
    .sub(1)
    .sub(variance.log())
    .sum()
    .mul(0.5 / x.numel);
  return { reconstruction, kl };
}

/** Held-out reconstruction error of decode(μ) in [0, 1] pixel units, and its PSNR = 10·log₁₀(1 / MSE). */
export function reconstructionError(vae: AutoencoderKL, images: Tensor, batch = 100): { images: number; mse: number; psnr: number } {
  const n = images.shape[0]!;
  let sum = 0;
  torch.noGrad(() => {
    for (let i = 0; i < n; i += batch) {
      sum += torch.scope(() => {
        const x = toUnit(images.narrow(0, i, Math.min(batch, n - i)));
        const y = vae.decode(vae.encode(x).mean).clamp(-1, 1);
        return y.sub(x).square().sum().item() as number;
      });
    }
  });
  const mse = sum / images.numel / 4; // [−1, 1] → [0, 1] halves the error, quarters its square
  return { images: n, mse, psnr: 10 * Math.log10(1 / mse) };
}

/** Mean and std of posterior samples z = μ + σ·ε of `images` (ε from `generator`). */
function latentStats(
  vae: AutoencoderKL,
  images: Tensor,
  generator: torch.Generator,
  batch = 100,
): { mean: number; std: number; shape: number[] } {
  const parts: Tensor[] = [];
  torch.noGrad(() => {
    for (let i = 0; i < images.shape[0]!; i += batch) {
      parts.push(
        torch.scope(() => {
          const { mean, std } = vae.encode(toUnit(images.narrow(0, i, Math.min(batch, images.shape[0]! - i))));
          return mean.add(std.mul(torch.randn(mean.shape, { generator })));
        }),
      );
    }
  });
  return torch.scope(() => {
    const z = torch.cat(parts, 0).double();
    for (const p of parts) p.dispose();
    return { mean: z.mean().item() as number, std: z.std().item() as number, shape: z.shape.slice(1) };
  });
}

/**
 * Trains an AutoencoderKL on `train` (see the file comment), writes `out` (diffusers layout + record)
 * and returns the trained autoencoder, whose config carries the measured scalingFactor, with its record.
 */
export function trainAutoencoder(o: AutoencoderTrainOptions): { vae: AutoencoderKL; record: AutoencoderRecord } {
  const [n, c] = o.train.shape as [number, number];
  if (c !== o.config.inChannels) throw new Error(`training images have ${c} channels but the autoencoder expects ${o.config.inChannels}`);
  if (n < 1) throw new Error('no training images');
  const vae = createAutoencoderKL(o.config, { generator: new torch.Generator(mixSeed(o.seed, 0xae01)) });
  vae.train();
  const order = new torch.Generator(mixSeed(o.seed, 0xae02));
  const noise = new torch.Generator(mixSeed(o.seed, 0xae03));
  const optimizer = adamw(vae.namedParameters(), { lr: o.learningRate });
  const batch = Math.min(o.batchSize, n);
  const progress = o.progress ? new Progress('train autoencoder', o.steps, { unit: 'steps', budgetSeconds: o.budgetSeconds }) : null;
  const recLosses: number[] = [];
  const klLosses: number[] = [];
  const start = performance.now();
  let perm: Tensor | null = null;
  let cursor = n;
  while (recLosses.length < o.steps && (performance.now() - start) / 1000 < o.budgetSeconds) {
    if (cursor + batch > n) {
      perm?.dispose();
      perm = torch.randperm(n, { generator: order });
      cursor = 0;
    }
    const indices = perm!.narrow(0, cursor, batch);
    cursor += batch;
    const [rec, kl] = torch.scope(() => {
      const x = toUnit(o.train.indexSelect(0, indices));
      const loss = autoencoderLoss(vae, x, noise);
      loss.reconstruction.add(loss.kl, o.klWeight).backward();
      return [loss.reconstruction.item() as number, loss.kl.item() as number];
    });
    indices.dispose();
    optimizer.step();
    optimizer.zeroGrad();
    recLosses.push(rec);
    klLosses.push(kl);
    progress?.tick(1, `mse ${rec.toFixed(4)} kl ${kl.toFixed(3)}`);
  }
  perm?.dispose();
  optimizer.dispose();
  const seconds = (performance.now() - start) / 1000;
  vae.eval();

  const scaleImages = o.train.narrow(0, 0, Math.min(SCALE_IMAGES, n));
  const stats = latentStats(vae, scaleImages, new torch.Generator(mixSeed(o.seed, 0xae04)));
  const scalingFactor = 1 / stats.std;
  const trained = init.skipInit(() => new AutoencoderKL({ ...o.config, scalingFactor, shiftFactor: 0 }));
  trained.loadStateDict(vae.stateDict());
  vae.dispose();
  trained.eval();

  const [reconstructionStart, reconstructionEnd] = ends(recLosses);
  const [klStart, klEnd] = ends(klLosses);
  const record: AutoencoderRecord = {
    regTs: regTsVersion(),
    createdAt: new Date().toISOString(),
    info: o.info ?? {},
    config: { ...trained.config, blockOutChannels: [...trained.config.blockOutChannels] },
    parameters: trained.numParameters(),
    training: {
      steps: recLosses.length,
      seconds,
      batchSize: batch,
      learningRate: o.learningRate,
      klWeight: o.klWeight,
      seed: o.seed,
      reconstructionStart,
      reconstructionEnd,
      klStart,
      klEnd,
    },
    reconstruction: reconstructionError(trained, o.test),
    latents: { images: scaleImages.shape[0]!, shape: stats.shape, mean: stats.mean, std: stats.std, scalingFactor, shiftFactor: 0 },
  };
  scaleImages.dispose();
  writeAutoencoderFolder(trained, record, o.out);
  return { vae: trained, record };
}

/** Writes weights, config and record into a fresh folder beside `out`, then renames it to `out`. */
function writeAutoencoderFolder(vae: AutoencoderKL, record: AutoencoderRecord, out: string): void {
  const dir = path.resolve(out);
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    saveAutoencoder(vae, partial);
    writeFileAtomic(path.join(partial, AUTOENCODER_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
}
