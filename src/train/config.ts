/**
 * The training configuration: one flat, typed record whose every key is also a `reg train` option
 * (`batchSize` ↔ `--batch-size`). Values come from, in increasing priority: the defaults below (the
 * official REG code's, with the paper's batch 256 and 400K steps), a JSON config file (presets in
 * configs/), and command-line overrides. The names follow the official train.py flags where one exists
 * (`--learning-rate`, `--adam-beta1`, `--max-grad-norm`, `--proj-coeff`, …); the official `--cls` (β)
 * is `clsCoeff` here and `--cfg-prob` is `labelDropout`.
 */
import { readFileSync } from 'node:fs';
import type { OptionSpec } from '../cli/args.js';
import { ENTANGLED_SIGNALS, modelNames, SIT_VARIANTS, type SiTConfig, UnknownModelError, resolveConfig, SIT_CONFIGS } from '../models/configs.js';
import { SCHEDULES, type ScheduleName } from './schedule.js';

/** Mixed-precision modes (the official `--mixed-precision`). */
export const MIXED_PRECISION = ['no', 'bf16', 'fp16'] as const;
export type MixedPrecision = (typeof MIXED_PRECISION)[number];

/** Everything a training run is configured by. */
export interface TrainConfig {
  // ---- run
  /** Run directory: metrics.jsonl, config.json and checkpoints/ go here. */
  outputDir: string;
  /** Global seed (model init, noise, label dropout, data order). */
  seed: number;
  /** Device: cpu, cuda or cuda:N. */
  device: string;
  /** libtorch intra-op threads (0: leave libtorch's default). */
  threads: number;
  // ---- model
  /** Registry name (SiT-S/B/L/XL × /2 /4 /8, SiT-T/2, SiT-Mini/2). */
  model: string;
  /** reg (token + alignment), repa (alignment), sit (neither), entangle (token only). */
  variant: SiTConfig['variant'];
  /** What the extra token carries: cls, patch-mean or learnable. */
  entangledSignal: SiTConfig['entangledSignal'];
  /** Overrides of the preset's size (0: the preset's value). */
  depth: number;
  hiddenSize: number;
  numHeads: number;
  patchSize: number;
  /** Block whose output is aligned to the encoder (0: the model preset's, 4 for S/B, 8 for L/XL). */
  encoderDepth: number;
  /** Encoder feature width (class token and patch features; DINOv2-B: 768). */
  encoderDim: number;
  /** Projector MLP hidden width (0: the model preset's, 2048 for the official sizes). */
  projectorDim: number;
  /** Latent (or pixel) side length fed to the model. */
  inputSize: number;
  /** Latent (or pixel) channels. */
  inChannels: number;
  /** Number of classes (a null class is added for label dropout). */
  numClasses: number;
  /** Label dropout probability (the official --cfg-prob / class_dropout_prob). */
  labelDropout: number;
  // ---- data
  /** Batch source by name: synthetic, or a dataset registered by src/data (e.g. fashion-mnist). */
  data: string;
  /** Dataset directory (meaning depends on the source; empty: the source's default). */
  dataDir: string;
  /** Encoder producing the class token and alignment targets (meaning depends on the source). */
  encoder: string;
  // ---- objective
  /** Interpolant: linear (official) or cosine. */
  pathType: 'linear' | 'cosine';
  /** Time distribution (the official --weighting): uniform or lognormal. */
  weighting: 'uniform' | 'lognormal';
  /** λ, weight of the alignment loss. */
  projCoeff: number;
  /** β, weight of the class-token velocity loss (the official --cls). */
  clsCoeff: number;
  // ---- optimisation
  /** Global batch size (images per optimizer step, over all micro-batches). */
  batchSize: number;
  /** Micro-batches per optimizer step (batchSize must be divisible by it). */
  gradientAccumulationSteps: number;
  /** AdamW learning rate (peak, for schedules). */
  learningRate: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
  /** Decoupled weight decay. */
  adamWeightDecay: number;
  /** constant or cosine (both after optional linear warmup). */
  lrSchedule: ScheduleName;
  /** Linear warmup steps (0: none). */
  warmupSteps: number;
  /** Final learning rate of the cosine schedule. */
  minLearningRate: number;
  /** Gradient-norm clipping threshold (0 or less: no clipping, the norm is still logged). */
  maxGradNorm: number;
  /** EMA decay, updated after every step. */
  emaDecay: number;
  /** no, bf16 (autocast) or fp16 (autocast + dynamic loss scaling, CUDA only). */
  mixedPrecision: MixedPrecision;
  /** Optimizer steps to train for (the official --max-train-steps). */
  maxTrainSteps: number;
  // ---- output
  /** Checkpoint every N steps (and always at the end). */
  checkpointingSteps: number;
  /** Keep only the newest K checkpoints (0: keep all). */
  keepCheckpoints: number;
  /** Stop (with a checkpoint) after this many seconds of training (0: no limit). */
  timeBudget: number;
  /** Show a progress bar / progress lines. */
  progress: boolean;
}

/** Where a key is documented in `--help`: type, help text and allowed values. */
interface KeySpec {
  type: OptionSpec['type'];
  help: string;
  choices?: readonly string[];
}

/** Defaults: the official code's, with the paper's batch size and step count (spec §5, §10.2). */
export const DEFAULT_TRAIN_CONFIG: Readonly<TrainConfig> = Object.freeze({
  outputDir: 'runs/reg',
  seed: 0,
  device: 'cpu',
  threads: 0,
  model: 'SiT-B/2',
  variant: 'reg',
  entangledSignal: 'cls',
  depth: 0,
  hiddenSize: 0,
  numHeads: 0,
  patchSize: 0,
  encoderDepth: 0,
  encoderDim: 768,
  projectorDim: 0,
  inputSize: 32,
  inChannels: 4,
  numClasses: 1000,
  labelDropout: 0.1,
  data: 'synthetic',
  dataDir: '',
  encoder: 'dinov2-vit-b',
  pathType: 'linear',
  weighting: 'uniform',
  projCoeff: 0.5,
  clsCoeff: 0.03,
  batchSize: 256,
  gradientAccumulationSteps: 1,
  learningRate: 1e-4,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  adamWeightDecay: 0,
  lrSchedule: 'constant',
  warmupSteps: 0,
  minLearningRate: 0,
  maxGradNorm: 1,
  emaDecay: 0.9999,
  mixedPrecision: 'no',
  maxTrainSteps: 400_000,
  checkpointingSteps: 10_000,
  keepCheckpoints: 0,
  timeBudget: 0,
  progress: true,
} satisfies TrainConfig);

const KEYS: Record<keyof TrainConfig, KeySpec> = {
  outputDir: { type: 'string', help: 'run directory (metrics.jsonl, config.json, checkpoints/)' },
  seed: { type: 'integer', help: 'global seed' },
  device: { type: 'string', help: 'cpu, cuda or cuda:N' },
  threads: { type: 'integer', help: "libtorch intra-op threads (0: libtorch's default)" },
  model: { type: 'string', help: `model name (${modelNames().join(', ')})` },
  variant: { type: 'string', help: 'model variant', choices: SIT_VARIANTS },
  entangledSignal: { type: 'string', help: 'what the extra token carries', choices: ENTANGLED_SIGNALS },
  depth: { type: 'integer', help: "number of SiT blocks (0: the model's preset)" },
  hiddenSize: { type: 'integer', help: "transformer width (0: the model's preset)" },
  numHeads: { type: 'integer', help: "attention heads (0: the model's preset)" },
  patchSize: { type: 'integer', help: "patch size (0: the model's preset)" },
  encoderDepth: { type: 'integer', help: "block aligned to the encoder (0: the model's preset: 4 for S/B, 8 for L/XL)" },
  encoderDim: { type: 'integer', help: 'encoder feature width (DINOv2-B: 768)' },
  projectorDim: { type: 'integer', help: "projector MLP hidden width (0: the model's preset, 2048 for S/B/L/XL)" },
  inputSize: { type: 'integer', help: 'latent/pixel side length' },
  inChannels: { type: 'integer', help: 'latent/pixel channels' },
  numClasses: { type: 'integer', help: 'number of classes' },
  labelDropout: { type: 'number', help: 'label dropout probability (official --cfg-prob)' },
  data: { type: 'string', help: 'batch source: synthetic, or a registered dataset (e.g. fashion-mnist)' },
  dataDir: { type: 'string', help: "dataset directory (empty: the source's default)" },
  encoder: { type: 'string', help: 'encoder for class tokens and alignment targets (used by the data source)' },
  pathType: { type: 'string', help: 'interpolant', choices: ['linear', 'cosine'] },
  weighting: { type: 'string', help: 'time distribution', choices: ['uniform', 'lognormal'] },
  projCoeff: { type: 'number', help: 'λ, alignment loss weight' },
  clsCoeff: { type: 'number', help: 'β, class-token velocity loss weight (official --cls)' },
  batchSize: { type: 'integer', help: 'global batch size per optimizer step' },
  gradientAccumulationSteps: { type: 'integer', help: 'micro-batches per optimizer step' },
  learningRate: { type: 'number', help: 'AdamW learning rate' },
  adamBeta1: { type: 'number', help: 'AdamW β₁' },
  adamBeta2: { type: 'number', help: 'AdamW β₂' },
  adamEpsilon: { type: 'number', help: 'AdamW ε' },
  adamWeightDecay: { type: 'number', help: 'AdamW decoupled weight decay' },
  lrSchedule: { type: 'string', help: 'learning-rate schedule after warmup', choices: SCHEDULES },
  warmupSteps: { type: 'integer', help: 'linear warmup steps' },
  minLearningRate: { type: 'number', help: 'final learning rate of the cosine schedule' },
  maxGradNorm: { type: 'number', help: 'gradient-norm clipping threshold (≤ 0: off)' },
  emaDecay: { type: 'number', help: 'EMA decay (every step)' },
  mixedPrecision: { type: 'string', help: 'autocast precision (fp16: CUDA, with loss scaling)', choices: MIXED_PRECISION },
  maxTrainSteps: { type: 'integer', help: 'optimizer steps to train' },
  checkpointingSteps: { type: 'integer', help: 'checkpoint every N steps' },
  keepCheckpoints: { type: 'integer', help: 'keep the newest K checkpoints (0: all)' },
  timeBudget: { type: 'number', help: 'stop with a checkpoint before this session exceeds this many seconds (0: none)' },
  progress: { type: 'boolean', help: 'progress bar on a terminal, progress lines otherwise' },
};

/** Every config key, in declaration order. */
export const TRAIN_CONFIG_KEYS = Object.keys(KEYS) as (keyof TrainConfig)[];

/** `batchSize` → `batch-size`. */
export const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const showDefault = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : JSON.stringify(v));

/**
 * One CLI option per config key. The built-in default is shown in `--help` but not set as the option's
 * default, so that only options given on the command line override the config file.
 */
export function trainOptionSpecs(): OptionSpec[] {
  return TRAIN_CONFIG_KEYS.map((k) => ({
    name: kebab(k),
    type: KEYS[k].type,
    help: `${KEYS[k].help} (default: ${showDefault(DEFAULT_TRAIN_CONFIG[k])})`,
    ...(KEYS[k].choices ? { choices: KEYS[k].choices } : {}),
  }));
}

/** Thrown for an invalid configuration (the CLI reports it as a usage error). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function checkValue(key: keyof TrainConfig, value: unknown, where: string): void {
  const spec = KEYS[key];
  const bad = (want: string): never => {
    throw new ConfigError(`${where}: '${key}' must be ${want}, got ${JSON.stringify(value)}`);
  };
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') bad('a string');
      if (spec.choices && !spec.choices.includes(value as string)) bad(`one of ${spec.choices.join(', ')}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') bad('true or false');
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) bad('an integer');
      break;
    default:
      if (typeof value !== 'number' || !Number.isFinite(value)) bad('a finite number');
  }
}

/**
 * A complete config from `partial` over the defaults; unknown keys and ill-typed values throw a
 * ConfigError naming the key and `where` the value came from. Keys may be camelCase or kebab-case;
 * keys starting with `$` or `_` (comments) are ignored.
 */
export function resolveTrainConfig(partial: Record<string, unknown>, where = 'config', base: Readonly<TrainConfig> = DEFAULT_TRAIN_CONFIG): TrainConfig {
  const out: TrainConfig = { ...base };
  for (const [rawKey, value] of Object.entries(partial)) {
    if (rawKey.startsWith('$') || rawKey.startsWith('_')) continue;
    const key = rawKey.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()) as keyof TrainConfig;
    if (!(key in KEYS)) {
      const near = TRAIN_CONFIG_KEYS.filter((k) => k.toLowerCase().includes(key.toLowerCase().slice(0, 5)));
      throw new ConfigError(`${where}: unknown key '${rawKey}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`);
    }
    if (value === undefined) continue;
    checkValue(key, value, where);
    (out as unknown as Record<string, unknown>)[key] = value;
  }
  return validateTrainConfig(out, where);
}

/** Reads a JSON config file (flat TrainConfig keys); throws a ConfigError that names the file. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${file} must hold a JSON object of training options`);
  return parsed as Record<string, unknown>;
}

/** Range checks across keys; returns the config. */
export function validateTrainConfig(c: TrainConfig, where = 'config'): TrainConfig {
  const fail = (msg: string): never => {
    throw new ConfigError(`${where}: ${msg}`);
  };
  if (!SIT_CONFIGS[c.model]) fail(new UnknownModelError(c.model).message);
  for (const k of ['batchSize', 'gradientAccumulationSteps', 'maxTrainSteps', 'checkpointingSteps', 'encoderDim', 'inputSize', 'inChannels', 'numClasses'] as const) {
    if (!(c[k] >= 1)) fail(`'${k}' must be at least 1, got ${c[k]}`);
  }
  for (const k of ['seed', 'threads', 'depth', 'hiddenSize', 'numHeads', 'patchSize', 'encoderDepth', 'projectorDim', 'warmupSteps', 'keepCheckpoints', 'timeBudget', 'learningRate', 'adamEpsilon', 'adamWeightDecay', 'minLearningRate', 'projCoeff', 'clsCoeff'] as const) {
    if (!(c[k] >= 0)) fail(`'${k}' must not be negative, got ${c[k]}`);
  }
  if (c.batchSize % c.gradientAccumulationSteps !== 0) fail(`batchSize ${c.batchSize} is not divisible by gradientAccumulationSteps ${c.gradientAccumulationSteps}`);
  for (const k of ['adamBeta1', 'adamBeta2', 'emaDecay', 'labelDropout'] as const) {
    if (!(c[k] >= 0 && c[k] < 1) && !(k === 'emaDecay' && c[k] === 1)) fail(`'${k}' must be in [0, 1), got ${c[k]}`);
  }
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

function resolveModel(c: TrainConfig): SiTConfig {
  return resolveConfig(c.model, {
    variant: c.variant,
    entangledSignal: c.entangledSignal,
    ...(c.depth > 0 ? { depth: c.depth } : {}),
    ...(c.hiddenSize > 0 ? { hiddenSize: c.hiddenSize } : {}),
    ...(c.numHeads > 0 ? { numHeads: c.numHeads } : {}),
    ...(c.patchSize > 0 ? { patchSize: c.patchSize } : {}),
    ...(c.encoderDepth > 0 ? { encoderDepth: c.encoderDepth } : {}),
    zDims: [c.encoderDim],
    ...(c.projectorDim > 0 ? { projectorDim: c.projectorDim } : {}),
    inputSize: c.inputSize,
    inChannels: c.inChannels,
    numClasses: c.numClasses,
    classDropoutProb: c.labelDropout,
  });
}
