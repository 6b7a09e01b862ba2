/**
 * The spec of a study (`reg study <spec.json>`): configurations × seeds trained at equal steps on an
 * embedded dataset, each evaluated every `evalEvery` steps. Example (configs/studies/variants.json):
 *
 *   { "name": "variants", "dataset": "fashion-mnist", "seeds": [0, 1], "steps": 600, "evalEvery": 200,
 *     "trainImages": 4096, "train": { "model": "SiT-T/2", "batchSize": 64, "learningRate": 0.001 },
 *     "eval": { "samples": 200, "samplingSteps": 25 },
 *     "configs": [ { "name": "sit", "train": { "variant": "sit" } }, { "name": "reg", "train": { "variant": "reg" } } ] }
 *
 * A config's `train` overrides the study's `train`; `group` names the ablation a config belongs to (a
 * bar chart per group). Every error names the file and the field.
 */
import { readFileSync } from 'node:fs';
import { SAMPLERS, type SamplerKind } from '../diffusion/samplers.js';
import type { TrainConfig } from '../train/config.js';

/** Training settings a spec may set (the rest come from the study: data, encoder, steps, seed, output). */
export type StudyTrainSettings = Partial<Omit<TrainConfig, 'outputDir' | 'seed' | 'maxTrainSteps' | 'checkpointingSteps' | 'data'>>;

/** One configuration of a study. */
export interface StudyConfig {
  /** Unique name (letters, digits, `-`, `_`, `.`): its runs are `<name>-s<seed>`. */
  name: string;
  /** The ablation it belongs to (a bar chart of the last evaluation per group); default 'variants'. */
  group: string;
  train: StudyTrainSettings;
}

/** How each checkpoint is evaluated. */
export interface StudyEvalSettings {
  /** Samples (and as many real test images) for FD-MobileNetV2 and class consistency. */
  samples: number;
  sampler: SamplerKind;
  samplingSteps: number;
  /** Classifier-free guidance scale (image and class token). */
  cfg: number;
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

function integer(file: string, o: Json, key: string, fallback: number | undefined, min: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new StudySpecError(file, key, `must be an integer ≥ ${min} (got ${JSON.stringify(v)})`);
  return v;
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
  if (!SAMPLERS.includes(evalSettings.sampler)) throw new StudySpecError(file, 'eval.sampler', `must be one of ${SAMPLERS.join(', ')}`);
  for (const k of ['samples', 'samplingSteps', 'cknnaImages', 'cknnaTopk'] as const)
    integer(file, evalSettings as unknown as Json, k, undefined, 2);
  if (!Array.isArray(raw.configs) || raw.configs.length === 0) throw new StudySpecError(file, 'configs', 'must be a non-empty list');
  const names = new Set<string>();
  const configs = raw.configs.map((c: unknown, i): StudyConfig => {
    const where = `configs[${i}]`;
    if (!isObject(c)) throw new StudySpecError(file, where, 'must be an object { name, group?, train }');
    if (typeof c.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(c.name))
      throw new StudySpecError(file, `${where}.name`, 'must be a name of letters, digits, ".", "-", "_"');
    if (names.has(c.name)) throw new StudySpecError(file, `${where}.name`, `"${c.name}" appears twice`);
    names.add(c.name);
    const t = c.train ?? {};
    if (!isObject(t)) throw new StudySpecError(file, `${where}.train`, 'must be an object of training settings');
    for (const k of ['outputDir', 'seed', 'maxTrainSteps', 'checkpointingSteps', 'data'])
      if (k in t || k in train) throw new StudySpecError(file, k in t ? `${where}.train.${k}` : `train.${k}`, 'is set by the study itself');
    return { name: c.name, group: typeof c.group === 'string' ? c.group : 'variants', train: t as StudyTrainSettings };
  });
  return {
    name,
    dataset,
    seeds: seeds as number[],
    steps,
    evalEvery,
    trainImages: integer(file, raw, 'trainImages', 4096, 1),
    imageSize: integer(file, raw, 'imageSize', 32, 1),
    encoderInputSize: integer(file, raw, 'encoderInputSize', 64, 1),
    train: train as StudyTrainSettings,
    eval: evalSettings,
    configs,
  };
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
