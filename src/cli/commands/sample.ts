/**
 * `reg sample`: generate images (and, for REG models, their class tokens) from a checkpoint with the
 * SDE or an ODE sampler, classifier-free guidance in a time interval, per-image reproducible noise, and
 * resumable streaming outputs: <out>/images/NNNNNN.png, <out>/samples.npz (arr_0 uint8 N×H×W×3, the
 * ADM evaluator's input), <out>/grid.png and <out>/samples.json. Latent models are decoded with their
 * autoencoder (--vae, or the one the run recorded): decode(z / scaling_factor), as the official
 * generate.py. Every argument is checked before any work starts, the autoencoder against the model
 * before any sampling.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError, type Command, type ParsedArgs } from '../args.js';
import * as torch from '../../torch/index.js';
import { regTsVersion } from '../../util/version.js';
import type { Device, DType } from '../../torch/index.js';
import { checkDevice } from '../../torch/device.js';
import { readCheckpointConfig, type WeightsKind } from '../../models/checkpoint.js';
import { loadModel } from '../../models/pretrained.js';
import { resolveConfig, type SiTConfig } from '../../models/configs.js';
import { PixelDecoder, type Autoencoder } from '../../diffusion/decode.js';
import { generateSamples, type RunSettings } from '../../pipelines/generate.js';
import type { ProcessGroup } from '../../torch/distributed.js';
import { joinLaunchedRun } from '../launch-group.js';
import { checkAutoencoderFits } from '../../pipelines/latent-decoding.js';
import { LatentDecoder, loadAutoencoder, type AutoencoderKL } from '../../models/autoencoders/index.js';
import type { VelocityModelConfig } from '../../diffusion/model.js';
import { hasClsInput } from '../../models/variant.js';
import { checkLabel, sampleLabels } from '../../diffusion/noise.js';
import { SAMPLERS, type SamplerKind } from '../../diffusion/samplers.js';
import { PATH_TYPES, type PathType } from '../../diffusion/interpolants.js';
import { TRAIN_SETTINGS, type MixedPrecision } from '../../train/config.js';
import { autocastDtype } from '../../train/precision.js';
import { NUM_HEADS_OPTION } from './convert.js';

/** Validated `reg sample` arguments. */
export interface SampleArgs {
  ckpt: string;
  out: string;
  num: number;
  sampler: SamplerKind;
  steps: number;
  cfg: number;
  /** Undefined: same as cfg. */
  clsCfg: number | undefined;
  guidanceLow: number;
  guidanceHigh: number;
  seed: number;
  labels: 'uniform' | 'balanced' | number[];
  batch: number;
  weights: WeightsKind;
  device: Device;
  path: PathType;
  grid: number;
  /** Autocast dtype of --mixed-precision (null: none). */
  amp: 'bfloat16' | 'float16' | null;
  pixelScale: number;
  pixelShift: number;
  /** --vae: the autoencoder that decodes latents (undefined: the run's recorded one, if any). */
  vae: string | undefined;
  /** --num-heads: head count of an official checkpoint whose width does not show it. */
  numHeads: number | undefined;
}

const int = (o: ParsedArgs['options'], k: string) => o[k] as number;

/** Checks every argument that does not need the checkpoint's contents (throws UsageError). */
export function validateSampleArgs(o: ParsedArgs['options']): SampleArgs {
  const posInt = (name: string, key: string) => {
    const v = int(o, key);
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${name} must be a positive integer, got ${v}`);
    return v;
  };
  const num = posInt('num', 'num');
  const steps = posInt('steps', 'steps');
  const batch = posInt('batch', 'batch');
  const grid = int(o, 'grid');
  if (!Number.isInteger(grid) || grid < 0) throw new UsageError(`--grid must be a non-negative integer, got ${grid}`);
  const cfg = o.cfg as number;
  if (!(cfg >= 0)) throw new UsageError(`--cfg must be ≥ 0 (1 = no guidance), got ${cfg}`);
  const clsCfg = o.clsCfg as number | undefined;
  if (clsCfg !== undefined && !(clsCfg >= 0))
    throw new UsageError(`--cls-cfg must be ≥ 0 (0 = conditional class-token drift), got ${clsCfg}`);
  const low = o.guidanceLow as number;
  const high = o.guidanceHigh as number;
  for (const [n, v] of [
    ['guidance-low', low],
    ['guidance-high', high],
  ] as const) {
    if (!(v >= 0 && v <= 1)) throw new UsageError(`--${n} must lie in [0, 1] (t = 1 is noise), got ${v}`);
  }
  if (low > high) throw new UsageError(`guidance interval is empty: --guidance-low ${low} > --guidance-high ${high}`);
  const seed = int(o, 'seed');
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got ${seed}`);
  const rawLabels = String(o.labels);
  let labels: SampleArgs['labels'];
  if (rawLabels === 'uniform' || rawLabels === 'balanced') labels = rawLabels;
  else {
    const parts = rawLabels.split(',').map((s) => s.trim());
    if (parts.length === 0 || parts.some((s) => !/^\d+$/.test(s))) {
      throw new UsageError(
        `--labels must be uniform, balanced or a comma-separated list of class indices (e.g. 3,207,980), got '${rawLabels}'`,
      );
    }
    labels = parts.map(Number);
  }
  let device: Device;
  const rawDevice = String(o.device);
  if (rawDevice === 'auto') device = torch.cudaAvailable() ? 'cuda' : 'cpu';
  else {
    try {
      device = checkDevice(rawDevice);
    } catch (e) {
      // a malformed name, or a CUDA device this machine does not have (none at all, or not that index)
      if (e instanceof TypeError) throw new UsageError(`--device must be auto, cpu, cuda or cuda:N, got '${rawDevice}'`);
      throw new UsageError(`--device ${rawDevice}: ${(e as Error).message}`);
    }
  }
  let amp: SampleArgs['amp'];
  try {
    amp = autocastDtype(o.mixedPrecision as MixedPrecision, device) as SampleArgs['amp'];
  } catch (e) {
    throw new UsageError(`--mixed-precision: ${(e as Error).message}`);
  }
  const pixelScale = o.pixelScale as number;
  if (!(Number.isFinite(pixelScale) && pixelScale !== 0))
    throw new UsageError(`--pixel-scale must be a non-zero number, got ${pixelScale}`);
  const ckpt = String(o.ckpt);
  if (!existsSync(ckpt)) throw new UsageError(`checkpoint not found: ${ckpt}`);
  const out = String(o.out);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out ${out} exists and is not a directory`);
  const vae = o.vae === undefined ? undefined : String(o.vae);
  if (vae !== undefined && !existsSync(vae)) throw new UsageError(`--vae: autoencoder not found: ${vae}`);
  if (vae !== undefined && (pixelScale !== 1 || o.pixelShift !== 0))
    throw new UsageError('--pixel-scale and --pixel-shift apply to pixel-space runs, not to runs decoded with --vae');
  const numHeads = o.numHeads === undefined ? undefined : posInt('num-heads', 'numHeads');
  return {
    ckpt,
    out,
    num,
    sampler: o.sampler as SamplerKind,
    steps,
    cfg,
    clsCfg,
    guidanceLow: low,
    guidanceHigh: high,
    seed,
    labels,
    batch,
    weights: o.weights as WeightsKind,
    device,
    path: o.path as PathType,
    grid,
    amp,
    pixelScale,
    pixelShift: o.pixelShift as number,
    vae,
    numHeads,
  };
}

/**
 * Checks the arguments that depend on the model (class indices, class-token guidance, channels); `vae` is
 * the autoencoder that will decode its samples, if one is known.
 */
export function validateAgainstModel(a: SampleArgs, config: VelocityModelConfig, vae: string | undefined): void {
  if (Array.isArray(a.labels)) {
    for (const l of a.labels) {
      try {
        checkLabel(l, config.numClasses);
      } catch (e) {
        throw new UsageError(`--labels: ${(e as Error).message}`);
      }
    }
  }
  if (a.clsCfg !== undefined && !hasClsInput(config)) {
    throw new UsageError(
      `--cls-cfg: this checkpoint's model (variant '${config.variant ?? 'reg'}'${config.entangledSignal === 'learnable' ? ', learnable token' : ''}) has no class-token head to guide`,
    );
  }
  if (vae === undefined && config.inChannels !== 1 && config.inChannels !== 3) {
    throw new UsageError(
      `the model generates ${config.inChannels}-channel latents and no autoencoder is known to decode them: pass --vae <dir|file> (the run's autoencoder, e.g. stabilityai/sd-vae-ft-ema in the diffusers layout)`,
    );
  }
}

/** The autoencoder that decodes a run's samples, and the latent scale x = (z − shift)·scale the model saw. */
interface AutoencoderChoice {
  path: string;
  /** The scale and shift the run was trained with (undefined: the autoencoder's own config). */
  latentScale?: { scalingFactor: number; shiftFactor: number };
  /** Where the choice came from, for messages. */
  from: string;
}

/** What a native checkpoint directory says without reading its weights (null for single files). */
function peekCheckpoint(ckpt: string): { model: SiTConfig; vae: AutoencoderChoice | undefined } | null {
  if (!statSync(ckpt).isDirectory()) return null;
  try {
    const c = readCheckpointConfig(ckpt);
    return { model: resolveConfig(c.model), vae: recordedAutoencoder(c.train) };
  } catch (e) {
    throw new UsageError(`--ckpt ${ckpt}: ${(e as Error).message}`);
  }
}

/** The autoencoder a training run recorded (`vae`, `vaeScalingFactor`, `vaeShiftFactor` of its config), if any. */
function recordedAutoencoder(train: Record<string, unknown> | undefined): AutoencoderChoice | undefined {
  if (typeof train?.vae !== 'string' || train.vae === '') return undefined;
  const { vaeScalingFactor, vaeShiftFactor } = train;
  const latentScale =
    typeof vaeScalingFactor === 'number'
      ? { scalingFactor: vaeScalingFactor, shiftFactor: typeof vaeShiftFactor === 'number' ? vaeShiftFactor : 0 }
      : undefined;
  return { path: train.vae, latentScale, from: "the run's recorded autoencoder" };
}

/**
 * The autoencoder of `choice` (with the run's latent scale, when it recorded one) on the sampling device,
 * checked against the model (UsageError naming both numbers otherwise), as the sampler's decoder, and
 * what the record says of it. Under --mixed-precision its parameters are in the autocast dtype: libtorch's
 * CPU autocast cannot run GroupNorm on bf16 activations with float32 weights (PyTorch 1.13 neither), so
 * the VAE is cast rather than autocast.
 */
function loadDecoder(
  choice: AutoencoderChoice,
  config: SiTConfig,
  a: SampleArgs,
): { decoder: Autoencoder; record: Record<string, unknown> } {
  const vaePath = choice.path;
  if (!existsSync(vaePath)) throw new UsageError(`${choice.from} ${vaePath} is not found; pass --vae <dir|file>`);
  let vae: AutoencoderKL;
  try {
    vae = loadAutoencoder(vaePath, { device: a.device, dtype: a.amp ?? 'float32', config: choice.latentScale });
  } catch (e) {
    throw new UsageError(`${choice.from} ${vaePath}: ${(e as Error).message}`);
  }
  try {
    checkAutoencoderFits(vae.config, config, `the autoencoder ${vaePath}`);
  } catch (e) {
    vae.dispose();
    throw new UsageError((e as Error).message);
  }
  const { scalingFactor, shiftFactor } = vae.config;
  return {
    decoder: new LatentDecoder(vae),
    record: { kind: 'vae', path: path.resolve(vaePath), scalingFactor, shiftFactor, dtype: vae.dtype },
  };
}

export const sampleCommand: Command = {
  name: 'sample',
  compute: true,
  summary:
    'generate images from a checkpoint (SDE / Euler / Heun, CFG with interval); PNGs, .npz for the ADM evaluator, grid, JSON record; resumable',
  options: {
    ckpt: { type: 'string', required: true, help: 'checkpoint: reg-ts directory (or run directory), official .pt, or .safetensors' },
    out: { type: 'string', required: true, help: 'output directory (rerun the same command to resume)' },
    num: { type: 'integer', default: 64, help: 'number of images (the paper evaluates 50000)' },
    sampler: { type: 'string', default: 'sde', choices: SAMPLERS, help: 'Euler–Maruyama SDE (official) or ODE Euler / Heun' },
    steps: { type: 'integer', default: 50, help: 'sampling steps (the paper uses 250 SDE steps)' },
    cfg: { type: 'number', default: 1, help: 'classifier-free guidance scale of the image (1 = none; paper 2.3 with interval [0, 0.85])' },
    clsCfg: { type: 'number', help: 'guidance scale of the class token on guided steps (0 = its conditional drift; default: --cfg)' },
    guidanceLow: { type: 'number', default: 0, help: 'guide only when guidance-low ≤ t ≤ guidance-high (t = 1 is noise)' },
    guidanceHigh: { type: 'number', default: 1, help: 'upper end of the guidance interval' },
    seed: { type: 'integer', default: 0, help: 'global seed: image i depends only on (seed, i), not on batch size or device' },
    labels: {
      type: 'string',
      default: 'uniform',
      help: 'uniform (official, from the seed), balanced (each class equally often), or a comma list of classes (repeated)',
    },
    batch: { type: 'integer', default: 32, help: 'images per network batch (does not change the images)' },
    weights: { type: 'string', default: 'ema', choices: ['ema', 'model'], help: 'EMA or raw trained weights' },
    device: { type: 'string', default: 'auto', help: 'auto, cpu, cuda or cuda:N' },
    path: { type: 'string', default: 'linear', choices: PATH_TYPES, help: 'interpolant the model was trained with' },
    mixedPrecision: { ...TRAIN_SETTINGS.mixedPrecision, help: 'run the network under autocast (state stays float64; fp16: CUDA only)' },
    grid: { type: 'integer', default: 64, help: 'images in grid.png (0: no grid)' },
    pixelScale: { type: 'number', default: 1, help: 'pixel-space runs: the model saw (image − shift)·scale, image in [−1, 1]' },
    pixelShift: { type: 'number', default: 0, help: 'pixel-space runs: see --pixel-scale' },
    vae: {
      type: 'string',
      help: "autoencoder that decodes a latent model's samples, decode(z / scaling_factor): diffusers directory (config.json + diffusion_pytorch_model.safetensors|.bin) or single file (default: the one the training run recorded)",
    },
    numHeads: NUM_HEADS_OPTION,
  },
  async run({ options, positionals }) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (options only; see --help)`);
    const a = validateSampleArgs(options);
    const { group, device } = await joinLaunchedRun(a.device);
    try {
      await sampleRun({ ...a, device: device as Device }, group);
    } finally {
      await group?.destroy();
    }
  },
};

/** `reg sample` with validated arguments, alone or as one rank of a launched run (rank 0 reports). */
async function sampleRun(a: SampleArgs, group: ProcessGroup | null): Promise<void> {
  const peeked = peekCheckpoint(a.ckpt);
  const vae: AutoencoderChoice | undefined = a.vae === undefined ? peeked?.vae : { ...peeked?.vae, path: a.vae, from: '--vae' };
  if (peeked) validateAgainstModel(a, peeked.model, vae?.path);
  if (a.cfg <= 1 && a.clsCfg !== undefined && a.clsCfg > 0)
    console.error('reg sample: note: --cls-cfg only acts on guided steps, and --cfg ≤ 1 guides none');

  const overrides = a.numHeads === undefined ? {} : { numHeads: a.numHeads };
  const model = loadModel(a.ckpt, { weights: a.weights, device: a.device, overrides });
  validateAgainstModel(a, model.config, vae?.path);
  const config = model.config;
  const decoder = vae === undefined ? null : loadDecoder(vae, config, a);
  const token = hasClsInput(config);
  const labelMode = Array.isArray(a.labels) ? 'list' : a.labels;
  const labels = sampleLabels(a.labels, a.num, config.numClasses, a.seed);
  const settings: RunSettings = {
    sampler: a.sampler,
    steps: a.steps,
    cfgScale: a.cfg,
    clsCfgScale: token ? (a.clsCfg ?? a.cfg) : 0,
    guidanceLow: a.guidanceLow,
    guidanceHigh: a.guidanceHigh,
    path: a.path,
    seed: a.seed,
    num: a.num,
    labelMode,
    checkpoint: path.resolve(a.ckpt),
    weights: a.weights,
    amp: a.amp,
    decoder: decoder?.record ?? { kind: 'pixel', scale: a.pixelScale, shift: a.pixelShift },
    noise: 'per-image streams seeded by (seed, index): latent x_T then SDE noises; class token c_T then SDE noises',
  };
  const dtype: DType = model.parameters()[0]?.dtype ?? 'float32';
  const res = await generateSamples({
    ...(group ? { group } : {}),
    model,
    decoder: decoder?.decoder ?? new PixelDecoder({ scale: a.pixelScale, shift: a.pixelShift }),
    outDir: a.out,
    labels,
    settings,
    batchSize: a.batch,
    sampler: { dtype, amp: a.amp },
    gridSize: a.grid,
    info: {
      'reg-ts': regTsVersion(),
      model: config,
      device: a.device,
      batch: a.batch,
      labelsArg: Array.isArray(a.labels) ? a.labels.join(',') : a.labels,
    },
  });
  if ((group?.rank ?? 0) !== 0) return;
  const rate = res.generated / Math.max(res.seconds, 1e-9);
  console.log(
    `${a.out}: ${res.generated} images generated${res.reused ? `, ${res.reused} reused from an earlier run` : ''} (${rate.toFixed(2)} images/s)`,
  );
  if (res.files.npz) console.log(`  ${res.files.npz}: arr_0 uint8 [${a.num}, ${res.imageSize![0]}, ${res.imageSize![1]}, 3]`);
  if (res.files.grid) console.log(`  ${res.files.grid}`);
  console.log(`  ${res.files.record}`);
}
