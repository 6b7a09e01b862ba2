/**
 * The training configuration: one flat, typed record whose every key is also a `reg train` option
 * (`batchSize` ↔ `--batch-size`). Each setting is declared once, in {@link TRAIN_SETTINGS}; its type
 * ({@link TrainConfig}), defaults, validation, the keys a resume may change and the CLI options are all
 * derived from that table. Values come from, in increasing priority: the defaults below (the
 * official REG code's, with the paper's batch 256 and 400K steps), a JSON config file (presets in
 * configs/), and command-line overrides. The names follow the official train.py flags where one exists
 * (`--learning-rate`, `--adam-beta1`, `--max-grad-norm`, `--proj-coeff`, …); the official `--cls` (β)
 * is `clsCoeff` here and `--cfg-prob` is `labelDropout`.
 */
import { readFileSync } from 'node:fs';
import {
  ENTANGLED_SIGNALS,
  modelNames,
  SIT_VARIANTS,
  type SiTConfig,
  UnknownModelError,
  resolveConfig,
  SIT_CONFIGS,
  SIT_CONFIG_RANGES,
  Z_DIM_RANGE,
} from '../models/configs.js';
import { PATH_TYPES } from '../diffusion/interpolants.js';
import { TIME_SAMPLINGS } from '../diffusion/time.js';
import { camelCase } from '../util/case.js';
import { defaultsOf, settingProblem, type Setting, type SettingValues } from '../util/settings.js';
import { SCHEDULES } from './schedule.js';

/** Mixed-precision modes (the official `--mixed-precision`). */
export const MIXED_PRECISION = ['no', 'bf16', 'fp16'] as const;
export type MixedPrecision = (typeof MIXED_PRECISION)[number];

/** A training setting: a {@link Setting} plus what a resume and the model config make of it. */
export interface TrainSetting extends Setting {
  /** A resumed run may change it: it does not affect the computation (see {@link SESSION_KEYS}). */
  readonly resumeMayChange?: true;
  /** The SiTConfig field it sets (see {@link modelConfigOf}). */
  readonly modelField?: keyof SiTConfig;
  /** 0 leaves the model preset's value. */
  readonly zeroMeansPreset?: true;
}

const PRESET = "(0: the model's preset)";

/**
 * Every training setting, declared once. Defaults: the official code's, with the paper's batch size
 * and step count (docs/method.md#training-setup). Ranges keep a typo from allocating a model of a billion blocks.
 */
export const TRAIN_SETTINGS = {
  // ---- run
  outputDir: {
    type: 'string',
    default: 'runs/reg',
    resumeMayChange: true,
    help: 'run directory (metrics.jsonl, config.json, checkpoints/)',
  },
  seed: { type: 'integer', default: 0, min: 0, help: 'global seed (model init, noise, label dropout, data order)' },
  device: { type: 'string', default: 'cpu', help: 'cpu, cuda or cuda:N' },
  threads: {
    type: 'integer',
    default: 0,
    min: 0,
    max: 1024,
    resumeMayChange: true,
    help: "libtorch intra-op threads (0: reg-ts's default, one per physical core with short spin waits, see reg version; OpenBLAS runs its own threads)",
  },
  // ---- model
  model: { type: 'string', default: 'SiT-B/2', help: `model name (${modelNames().join(', ')})` },
  variant: {
    type: 'string',
    default: 'reg',
    choices: SIT_VARIANTS,
    modelField: 'variant',
    help: 'reg (token + alignment), repa (alignment), sit (neither), entangle (token only)',
  },
  entangledSignal: {
    type: 'string',
    default: 'cls',
    choices: ENTANGLED_SIGNALS,
    modelField: 'entangledSignal',
    help: 'what the extra token carries',
  },
  depth: {
    type: 'integer',
    default: 0,
    min: 0,
    max: SIT_CONFIG_RANGES.depth.max,
    modelField: 'depth',
    zeroMeansPreset: true,
    help: `number of SiT blocks ${PRESET}`,
  },
  hiddenSize: {
    type: 'integer',
    default: 0,
    min: 0,
    max: SIT_CONFIG_RANGES.hiddenSize.max,
    modelField: 'hiddenSize',
    zeroMeansPreset: true,
    help: `transformer width ${PRESET}`,
  },
  numHeads: {
    type: 'integer',
    default: 0,
    min: 0,
    max: SIT_CONFIG_RANGES.numHeads.max,
    modelField: 'numHeads',
    zeroMeansPreset: true,
    help: `attention heads ${PRESET}`,
  },
  patchSize: {
    type: 'integer',
    default: 0,
    min: 0,
    max: SIT_CONFIG_RANGES.patchSize.max,
    modelField: 'patchSize',
    zeroMeansPreset: true,
    help: `patch size ${PRESET}`,
  },
  encoderDepth: {
    type: 'integer',
    default: 0,
    min: 0,
    max: SIT_CONFIG_RANGES.depth.max,
    modelField: 'encoderDepth',
    zeroMeansPreset: true,
    help: "block aligned to the encoder (0: the model's preset: 4 for S/B, 8 for L/XL)",
  },
  encoderDim: {
    type: 'integer',
    default: 768,
    min: 1,
    max: Z_DIM_RANGE.max,
    help: 'encoder feature width: class token and patch features (DINOv2-B: 768)',
  },
  projectorDim: {
    type: 'integer',
    default: 0,
    min: 0,
    max: SIT_CONFIG_RANGES.projectorDim.max,
    modelField: 'projectorDim',
    zeroMeansPreset: true,
    help: "projector MLP hidden width (0: the model's preset, 2048 for S/B/L/XL)",
  },
  inputSize: {
    type: 'integer',
    default: 32,
    min: 1,
    max: SIT_CONFIG_RANGES.inputSize.max,
    modelField: 'inputSize',
    help: 'latent/pixel side length fed to the model',
  },
  inChannels: {
    type: 'integer',
    default: 4,
    min: 1,
    max: SIT_CONFIG_RANGES.inChannels.max,
    modelField: 'inChannels',
    help: 'latent/pixel channels',
  },
  numClasses: {
    type: 'integer',
    default: 1000,
    min: 1,
    max: SIT_CONFIG_RANGES.numClasses.max,
    modelField: 'numClasses',
    help: 'number of classes (a null class is added for label dropout)',
  },
  labelDropout: {
    type: 'number',
    default: 0.1,
    min: 0,
    below: 1,
    modelField: 'classDropoutProb',
    help: 'label dropout probability (official --cfg-prob)',
  },
  // ---- data
  data: { type: 'string', default: 'synthetic', help: 'batch source: synthetic, or a registered dataset (e.g. fashion-mnist)' },
  dataDir: { type: 'string', default: '', resumeMayChange: true, help: "dataset directory (empty: the source's default)" },
  encoder: { type: 'string', default: 'dinov2-vit-b', help: 'encoder for class tokens and alignment targets (used by the data source)' },
  encoderWeights: {
    type: 'string',
    default: '',
    help: "local weights of --encoder (DINOv2: torch.hub .pth or Hugging Face safetensors; empty: the encoder's default)",
  },
  // ---- latent space (the paper's setting): x = (z − shift)·scale, z ~ the autoencoder's posterior
  vae: {
    type: 'string',
    default: '',
    help: 'autoencoder whose latents the model learns (diffusers folder or file); recorded so that reg sample can decode',
  },
  vaeScalingFactor: {
    type: 'number',
    default: 0.18215,
    above: 0,
    help: "latent scale: x = (z − shift)·scale (SD-VAE 0.18215, the official latents_scale; must match the VAE's scaling_factor)",
  },
  vaeShiftFactor: { type: 'number', default: 0, help: 'latent shift (SD-VAE 0; the official latents_bias is −shift·scale)' },
  // ---- objective
  pathType: { type: 'string', default: 'linear', choices: PATH_TYPES, help: 'interpolant' },
  weighting: { type: 'string', default: 'uniform', choices: TIME_SAMPLINGS, help: 'time distribution (official --weighting)' },
  projCoeff: { type: 'number', default: 0.5, min: 0, help: 'λ, alignment loss weight' },
  clsCoeff: { type: 'number', default: 0.03, min: 0, help: 'β, class-token velocity loss weight (official --cls)' },
  // ---- optimisation
  batchSize: { type: 'integer', default: 256, min: 1, max: 65536, help: 'global batch size per optimizer step (over all micro-batches)' },
  gradientAccumulationSteps: {
    type: 'integer',
    default: 1,
    min: 1,
    max: 65536,
    help: 'micro-batches per optimizer step (must divide the batch size)',
  },
  learningRate: { type: 'number', default: 1e-4, min: 0, help: 'AdamW learning rate' },
  adamBeta1: { type: 'number', default: 0.9, min: 0, below: 1, help: 'AdamW β₁' },
  adamBeta2: { type: 'number', default: 0.999, min: 0, below: 1, help: 'AdamW β₂' },
  adamEpsilon: { type: 'number', default: 1e-8, min: 0, help: 'AdamW ε' },
  adamWeightDecay: { type: 'number', default: 0, min: 0, help: 'AdamW decoupled weight decay' },
  lrSchedule: { type: 'string', default: 'constant', choices: SCHEDULES, help: 'learning-rate schedule after warmup' },
  warmupSteps: { type: 'integer', default: 0, min: 0, help: 'linear warmup steps' },
  minLearningRate: { type: 'number', default: 0, min: 0, help: 'final learning rate of the cosine schedule' },
  maxGradNorm: { type: 'number', default: 1, help: 'gradient-norm clipping threshold (≤ 0: off; the norm is still logged)' },
  emaDecay: { type: 'number', default: 0.9999, min: 0, max: 1, help: 'EMA decay (every step)' },
  mixedPrecision: { type: 'string', default: 'no', choices: MIXED_PRECISION, help: 'autocast precision (fp16: CUDA, with loss scaling)' },
  maxTrainSteps: {
    type: 'integer',
    default: 400_000,
    min: 1,
    resumeMayChange: true,
    help: 'optimizer steps to train (official --max-train-steps)',
  },
  // ---- output
  checkpointingSteps: {
    type: 'integer',
    default: 10_000,
    min: 1,
    resumeMayChange: true,
    help: 'checkpoint every N steps (and always at the end)',
  },
  keepCheckpoints: { type: 'integer', default: 0, min: 0, resumeMayChange: true, help: 'keep the newest K checkpoints (0: all)' },
  timeBudget: {
    type: 'number',
    default: 0,
    min: 0,
    resumeMayChange: true,
    help: 'stop with a checkpoint before this session exceeds this many seconds (0: none)',
  },
  progress: { type: 'boolean', default: true, resumeMayChange: true, help: 'progress bar on a terminal, progress lines otherwise' },
} as const satisfies Readonly<Record<string, TrainSetting>>;

/** Everything a training run is configured by: one value per {@link TRAIN_SETTINGS} entry. */
export type TrainConfig = SettingValues<typeof TRAIN_SETTINGS>;

/** The table with each entry seen as a {@link TrainSetting} (for code that reads any key). */
const SETTINGS: Readonly<Record<keyof TrainConfig, TrainSetting>> = TRAIN_SETTINGS;

/** The defaults of every setting. */
export const DEFAULT_TRAIN_CONFIG: Readonly<TrainConfig> = Object.freeze(defaultsOf(TRAIN_SETTINGS));

/** Every config key, in declaration order. */
export const TRAIN_CONFIG_KEYS = Object.keys(TRAIN_SETTINGS) as (keyof TrainConfig)[];

/** Settings that a resumed run may change: they do not affect the computation. */
export const SESSION_KEYS: ReadonlySet<keyof TrainConfig> = new Set(TRAIN_CONFIG_KEYS.filter((k) => SETTINGS[k].resumeMayChange));

/** Thrown for an invalid configuration (the CLI reports it as a usage error). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Throws a ConfigError unless `value` is a value of setting `key` (type, choices, range). */
function checkValue(key: keyof TrainConfig, value: unknown, where: string): void {
  const problem = settingProblem(SETTINGS[key], value);
  if (problem !== null) throw new ConfigError(`${where}: '${key}' must be ${problem}, got ${JSON.stringify(value)}`);
}

/**
 * A complete config from `partial` over the defaults; unknown keys and ill-typed values throw a
 * ConfigError naming the key and `where` the value came from. Keys may be camelCase or kebab-case;
 * keys starting with `$` or `_` (comments) are ignored.
 */
export function resolveTrainConfig(
  partial: Record<string, unknown>,
  where = 'config',
  base: Readonly<TrainConfig> = DEFAULT_TRAIN_CONFIG,
): TrainConfig {
  const out: TrainConfig = { ...base };
  for (const [rawKey, value] of Object.entries(partial)) {
    if (rawKey.startsWith('$') || rawKey.startsWith('_')) continue;
    const key = camelCase(rawKey) as keyof TrainConfig;
    if (!Object.hasOwn(SETTINGS, key)) {
      const near = TRAIN_CONFIG_KEYS.filter((k) => k.toLowerCase().includes(key.toLowerCase().slice(0, 5)));
      throw new ConfigError(`${where}: unknown key '${rawKey}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`);
    }
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return validateTrainConfig(out, where);
}

/** Reads a JSON config file (flat TrainConfig keys); throws a ConfigError that names the file. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ConfigError(`config file ${file} must hold a JSON object of training options`);
  return parsed as Record<string, unknown>;
}

/**
 * Checks every setting against its declaration (type, choices, range), then the constraints between
 * settings, before anything is allocated; returns the config.
 */
export function validateTrainConfig(c: TrainConfig, where = 'config'): TrainConfig {
  const fail = (msg: string): never => {
    throw new ConfigError(`${where}: ${msg}`);
  };
  for (const k of TRAIN_CONFIG_KEYS) checkValue(k, c[k], where);
  if (!SIT_CONFIGS[c.model]) fail(new UnknownModelError(c.model).message);
  if (c.batchSize % c.gradientAccumulationSteps !== 0)
    fail(`batchSize ${c.batchSize} is not divisible by gradientAccumulationSteps ${c.gradientAccumulationSteps}`);
  if (!/^(cpu|cuda|cuda:\d+)$/.test(c.device)) fail(`'device' must be cpu, cuda or cuda:N, got '${c.device}'`);
  return c;
}

/** The model configuration a training config describes (validated; unknown model names throw). */
export function modelConfigOf(c: TrainConfig): SiTConfig {
  try {
    return resolveModel(c);
  } catch (e) {
    throw e instanceof UnknownModelError ? new ConfigError(e.message) : new ConfigError(`invalid model settings: ${(e as Error).message}`);
  }
}

/** The preset `c.model` with the settings that declare a `modelField` (zero ones left when `zeroMeansPreset`). */
function resolveModel(c: TrainConfig): SiTConfig {
  const overrides: Record<string, unknown> = { zDims: [c.encoderDim] };
  for (const k of TRAIN_CONFIG_KEYS) {
    const { modelField, zeroMeansPreset } = SETTINGS[k];
    if (modelField !== undefined && !(zeroMeansPreset && c[k] === 0)) overrides[modelField] = c[k];
  }
  return resolveConfig(c.model, overrides as Partial<SiTConfig>);
}
