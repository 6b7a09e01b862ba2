/**
 * The spec of a study (`reg study <spec.json>`): configurations × seeds trained at equal steps on an
 * embedded dataset, each evaluated every `evalEvery` steps. Example (a smaller configs/studies/default.json):
 *
 *   { "name": "variants", "dataset": "fashion-mnist", "seeds": [0, 1], "steps": 600, "evalEvery": 200,
 *     "trainImages": 4096, "train": { "model": "SiT-T/2", "batchSize": 64, "learningRate": 0.001 },
 *     "eval": { "samples": 200, "samplingSteps": 25 },
 *     "configs": [ { "name": "sit", "train": { "variant": "sit" } }, { "name": "reg", "train": { "variant": "reg" } } ] }
 *
 * A config's `train` overrides the study's `train`, its `eval` the study's sampling settings; `group`
 * names the ablation a config belongs to (a bar chart per group). A config with `runsOf` trains nothing:
 * it evaluates the runs of an earlier configuration with its own `eval` (a sampling ablation, or the
 * baseline of an ablation group without training it twice). Every error names the file and the field.
 */
import { readFileSync } from 'node:fs';
import { SAMPLERS, type SamplerKind } from '../diffusion/samplers.js';
import type { TrainConfig } from '../train/config.js';
import { VIT_ENCODER_DEFAULTS, type VitEncoderSettings } from './vit-encoder.js';

/** Training settings a spec may set (the rest come from the study: data, encoder, steps, seed, output). */
export type StudyTrainSettings = Partial<Omit<TrainConfig, 'outputDir' | 'seed' | 'maxTrainSteps' | 'checkpointingSteps' | 'data'>>;

/** One configuration of a study. */
export interface StudyConfig {
  /** Unique name (letters, digits, `-`, `_`, `.`): its runs are `<name>-s<seed>`. */
  name: string;
  /** The ablation it belongs to (a bar chart of the last evaluation per group); default 'variants'. */
  group: string;
  train: StudyTrainSettings;
  /** Sampling settings of this configuration's evaluations (override the study's `eval`). */
  eval: Partial<Pick<StudyEvalSettings, StudySamplingKey>>;
  /** Evaluate the runs of this earlier configuration instead of training (null: train its own). */
  runsOf: string | null;
  /** The study's seeds this configuration runs at (default: all of them). */
  seeds: number[];
}

/** The evaluation settings a configuration may override: how its samples are drawn. */
const SAMPLING_KEYS = ['sampler', 'samplingSteps', 'cfg', 'clsCfg', 'guidanceHigh'] as const;
type StudySamplingKey = (typeof SAMPLING_KEYS)[number];

/** How each checkpoint is evaluated. */
export interface StudyEvalSettings {
  /** Samples (and as many real test images) for FD-MobileNetV2 and class consistency. */
  samples: number;
  sampler: SamplerKind;
  samplingSteps: number;
  /** Classifier-free guidance scale of the image. */
  cfg: number;
  /** Guidance scale of the class token (null: the same as `cfg`; 1: no guidance on the token). */
  clsCfg: number | null;
  /** Guidance applies for t ≤ this. */
  guidanceHigh: number;
  /** Seed of the samples (the same for every run: common random numbers). */
  seed: number;
  /** CKNNA: images (half train the linear probe, half test it), neighbours and noise level t. */
  cknnaImages: number;
  cknnaTopk: number;
  cknnaT: number;
}

/** A whole study spec, defaults filled in. */
export interface StudySpec {
  name: string;
  dataset: 'fashion-mnist' | 'emoji';
  seeds: number[];
  /** Training steps of every run. */
  steps: number;
  /** Evaluate (and checkpoint) every this many steps, and at the last. */
  evalEvery: number;
  /** Training images (the first N of the train split, with their encoder targets). */
  trainImages: number;
  imageSize: number;
  encoderInputSize: number;
  /**
   * The encoder's architecture and training when the study trains its own ViT (src/pipelines/vit-encoder.ts)
   * instead of using MobileNetV2; its input side is `encoderInputSize`. FD stays FD-MobileNetV2 either way.
   */
  vitEncoder: VitEncoderSettings | null;
  /** Settings shared by every configuration. */
  train: StudyTrainSettings;
  eval: StudyEvalSettings;
  configs: StudyConfig[];
}

const EVAL_DEFAULTS: StudyEvalSettings = {
  samples: 200,
  sampler: 'sde',
  samplingSteps: 25,
  cfg: 4,
  clsCfg: null,
  guidanceHigh: 0.85,
  seed: 1000,
  cknnaImages: 256,
  cknnaTopk: 10,
  cknnaT: 0.5,
};

/** A spec field that is wrong: names the file and the field. */
export class StudySpecError extends Error {
  constructor(file: string, field: string, message: string) {
    super(`${file}: ${field}: ${message}`);
    this.name = 'StudySpecError';
  }
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function integer(file: string, o: Json, key: string, fallback: number | undefined, min: number, prefix = ''): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new StudySpecError(file, `${prefix}${key}`, `must be an integer ≥ ${min} (got ${JSON.stringify(v)})`);
  return v;
}

/** Checks the sampling settings `e` (at `field` of `file`). */
function checkEval(file: string, field: string, e: StudyEvalSettings): void {
  if (!SAMPLERS.includes(e.sampler)) throw new StudySpecError(file, `${field}.sampler`, `must be one of ${SAMPLERS.join(', ')}`);
  integer(file, e as unknown as Json, 'samplingSteps', undefined, 2, `${field}.`);
  for (const k of ['cfg', 'clsCfg', 'guidanceHigh'] as const) {
    const v = e[k];
    if (v === null && k === 'clsCfg') continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new StudySpecError(file, `${field}.${k}`, `must be a number ≥ 0 (got ${JSON.stringify(v)})`);
  }
}

/** The `vitEncoder` field: ViT settings over the defaults, at the study's encoder input side. */
function parseVitEncoder(file: string, raw: unknown, inputSize: number): VitEncoderSettings {
  if (!isObject(raw)) throw new StudySpecError(file, 'vitEncoder', 'must be an object of ViT settings');
  const keys = Object.keys(VIT_ENCODER_DEFAULTS).filter((k) => k !== 'inputSize');
  for (const k of Object.keys(raw))
    if (!keys.includes(k))
      throw new StudySpecError(
        file,
        `vitEncoder.${k}`,
        k === 'inputSize' ? 'is encoderInputSize (set that instead)' : `unknown field (known: ${keys.join(', ')})`,
      );
  const s = { ...VIT_ENCODER_DEFAULTS, ...raw, inputSize } as VitEncoderSettings;
  for (const k of ['width', 'depth', 'patchSize', 'epochs', 'batchSize'] as const)
    integer(file, s as unknown as Json, k, undefined, 1, 'vitEncoder.');
  integer(file, s as unknown as Json, 'seed', undefined, 0, 'vitEncoder.');
  for (const k of ['learningRate', 'weightDecay'] as const)
    if (typeof s[k] !== 'number' || !Number.isFinite(s[k]) || s[k] < 0)
      throw new StudySpecError(file, `vitEncoder.${k}`, `must be a number ≥ 0 (got ${JSON.stringify(s[k])})`);
  if (s.width % 64 !== 0)
    throw new StudySpecError(file, 'vitEncoder.width', `must be a multiple of 64 (heads of 64 channels; got ${s.width})`);
  if (inputSize % s.patchSize !== 0)
    throw new StudySpecError(file, 'vitEncoder.patchSize', `must divide encoderInputSize ${inputSize} (got ${s.patchSize})`);
  return s;
}

/** Validates a parsed spec (`file` names it in errors) and fills in the defaults. */
export function parseStudySpec(raw: unknown, file: string): StudySpec {
  if (!isObject(raw)) throw new StudySpecError(file, '(top level)', 'must be a JSON object');
  const known = new Set([
    '$comment',
    'name',
    'dataset',
    'seeds',
    'steps',
    'evalEvery',
    'trainImages',
    'imageSize',
    'encoderInputSize',
    'vitEncoder',
    'train',
    'eval',
    'configs',
  ]);
  for (const k of Object.keys(raw)) if (!known.has(k)) throw new StudySpecError(file, k, `unknown field (known: ${[...known].join(', ')})`);
  const name = raw.name ?? 'study';
  if (typeof name !== 'string' || !name) throw new StudySpecError(file, 'name', 'must be a non-empty string');
  const dataset = raw.dataset ?? 'fashion-mnist';
  if (dataset !== 'fashion-mnist' && dataset !== 'emoji')
    throw new StudySpecError(file, 'dataset', `must be "fashion-mnist" or "emoji" (got ${JSON.stringify(dataset)})`);
  const seeds = raw.seeds ?? [0];
  if (
    !Array.isArray(seeds) ||
    seeds.length === 0 ||
    !seeds.every((s) => Number.isInteger(s) && (s as number) >= 0) ||
    new Set(seeds).size !== seeds.length
  )
    throw new StudySpecError(file, 'seeds', 'must be a non-empty list of distinct integers ≥ 0');
  const steps = integer(file, raw, 'steps', undefined, 1);
  const evalEvery = integer(file, raw, 'evalEvery', steps, 1);
  const train = raw.train ?? {};
  if (!isObject(train)) throw new StudySpecError(file, 'train', 'must be an object of training settings');
  const evalRaw = raw.eval ?? {};
  if (!isObject(evalRaw)) throw new StudySpecError(file, 'eval', 'must be an object');
  for (const k of Object.keys(evalRaw))
    if (!(k in EVAL_DEFAULTS))
      throw new StudySpecError(file, `eval.${k}`, `unknown field (known: ${Object.keys(EVAL_DEFAULTS).join(', ')})`);
  const evalSettings = { ...EVAL_DEFAULTS, ...evalRaw } as StudyEvalSettings;
  checkEval(file, 'eval', evalSettings);
  for (const k of ['samples', 'cknnaImages', 'cknnaTopk'] as const) integer(file, evalSettings as unknown as Json, k, undefined, 2);
  if (!Array.isArray(raw.configs) || raw.configs.length === 0) throw new StudySpecError(file, 'configs', 'must be a non-empty list');
  const earlier = new Map<string, StudyConfig>();
  const configs = raw.configs.map((c: unknown, i): StudyConfig => {
    const where = `configs[${i}]`;
    if (!isObject(c)) throw new StudySpecError(file, where, 'must be an object { name, group?, train }');
    if (typeof c.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(c.name))
      throw new StudySpecError(file, `${where}.name`, 'must be a name of letters, digits, ".", "-", "_"');
    if (earlier.has(c.name)) throw new StudySpecError(file, `${where}.name`, `"${c.name}" appears twice`);
    const t = c.train ?? {};
    if (!isObject(t)) throw new StudySpecError(file, `${where}.train`, 'must be an object of training settings');
    for (const k of ['outputDir', 'seed', 'maxTrainSteps', 'checkpointingSteps', 'data'])
      if (k in t || k in train) throw new StudySpecError(file, k in t ? `${where}.train.${k}` : `train.${k}`, 'is set by the study itself');
    const ev = c.eval ?? {};
    if (!isObject(ev)) throw new StudySpecError(file, `${where}.eval`, 'must be an object of sampling settings');
    for (const k of Object.keys(ev))
      if (!(SAMPLING_KEYS as readonly string[]).includes(k))
        throw new StudySpecError(file, `${where}.eval.${k}`, `not a per-configuration setting (these are: ${SAMPLING_KEYS.join(', ')})`);
    checkEval(file, `${where}.eval`, { ...evalSettings, ...ev } as StudyEvalSettings);
    const ownSeeds = c.seeds ?? seeds;
    if (!Array.isArray(ownSeeds) || ownSeeds.length === 0 || !ownSeeds.every((x) => (seeds as unknown[]).includes(x)))
      throw new StudySpecError(file, `${where}.seeds`, `must be a non-empty subset of the study's seeds ${JSON.stringify(seeds)}`);
    const runsOf = c.runsOf ?? null;
    if (runsOf !== null) {
      const source = typeof runsOf === 'string' ? earlier.get(runsOf) : undefined;
      if (!source) throw new StudySpecError(file, `${where}.runsOf`, `must name an earlier configuration (got ${JSON.stringify(runsOf)})`);
      if (source.runsOf !== null)
        throw new StudySpecError(file, `${where}.runsOf`, `"${runsOf}" itself evaluates the runs of "${source.runsOf}"`);
      if (Object.keys(t).length)
        throw new StudySpecError(file, `${where}.train`, 'must be empty: the configuration trains nothing (runsOf)');
      if (!ownSeeds.every((x) => source.seeds.includes(x as number)))
        throw new StudySpecError(file, `${where}.seeds`, `"${runsOf}" has no runs at some of these seeds`);
    }
    const config: StudyConfig = {
      name: c.name,
      group: typeof c.group === 'string' ? c.group : 'variants',
      train: t as StudyTrainSettings,
      eval: ev as StudyConfig['eval'],
      runsOf: runsOf as string | null,
      seeds: ownSeeds as number[],
    };
    earlier.set(c.name, config);
    return config;
  });
  const encoderInputSize = integer(file, raw, 'encoderInputSize', 64, 1);
  return {
    name,
    dataset,
    seeds: seeds as number[],
    steps,
    evalEvery,
    trainImages: integer(file, raw, 'trainImages', 4096, 1),
    imageSize: integer(file, raw, 'imageSize', 32, 1),
    encoderInputSize,
    vitEncoder: raw.vitEncoder === undefined ? null : parseVitEncoder(file, raw.vitEncoder, encoderInputSize),
    train: train as StudyTrainSettings,
    eval: evalSettings,
    configs,
  };
}

/** The evaluation settings of `config`: the study's, with the configuration's sampling overrides. */
export function evalSettingsOf(spec: Pick<StudySpec, 'eval'>, config: Pick<StudyConfig, 'eval'>): StudyEvalSettings {
  return { ...spec.eval, ...config.eval };
}

/** Whether two configurations draw their samples alike (same sampler, steps and guidance). */
export function sameSampling(spec: Pick<StudySpec, 'eval'>, a: Pick<StudyConfig, 'eval'>, b: Pick<StudyConfig, 'eval'>): boolean {
  const [x, y] = [evalSettingsOf(spec, a), evalSettingsOf(spec, b)];
  return SAMPLING_KEYS.every((k) => x[k] === y[k]);
}

/** Reads and validates the spec file `file`. */
export function readStudySpec(file: string): StudySpec {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new StudySpecError(file, '(file)', `cannot read it as JSON: ${(e as Error).message}`);
  }
  return parseStudySpec(raw, file);
}

/** The steps at which every run is evaluated: each multiple of evalEvery up to steps, and steps itself. */
export function evaluationSteps(spec: Pick<StudySpec, 'steps' | 'evalEvery'>): number[] {
  const out: number[] = [];
  for (let s = spec.evalEvery; s < spec.steps; s += spec.evalEvery) out.push(s);
  out.push(spec.steps);
  return out;
}
