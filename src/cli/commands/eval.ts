/**
 * `reg eval`: scores samples against a reference as the papers report them — FID, sFID, IS and
 * precision/recall as the ADM evaluator computes them (on pytorch-fid's FID Inception, TF1 legacy
 * resize), FD-DINOv2 with the user's DINOv2, FD-MobileNetV2 on the embedded default encoder — and
 * prints a table, with the whole record (every setting, input hashes, warnings) written atomically as
 * JSON next to the samples (`<samples>.eval.json`, or --out). The work is `evaluate()` in
 * src/eval/evaluate.ts; this file parses the options and shows the result.
 *
 * Started by a launcher (`reg launch --nproc-per-node N -- eval …`, torchrun, Slurm's srun), the ranks
 * share the feature passes; rank 0 alone prints and writes the record.
 */
import path from 'node:path';
import { UsageError, type Command, type ParsedArgs } from '../args.js';
import {
  ADM_METRICS,
  evaluate,
  EvaluateError,
  EVAL_METRICS,
  type EvalMetric,
  type EvaluationResult,
  type MetricResult,
} from '../../eval/evaluate.js';
import { INCEPTION_RESIZES, PYTORCH_FID_WEIGHTS_FILE, type InceptionResize } from '../../eval/inception.js';
import { checkDevice, type Device } from '../../torch/device.js';
import * as torch from '../../torch/index.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { REPRESENTATION_OPTIONS, runRepresentationEval } from './eval-representation.js';
import { EMBEDDED_OPTIONS, runEmbeddedEval } from './eval-embedded.js';
import { Progress } from '../../util/progress.js';
import type { SettingTable } from '../../util/settings.js';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { joinLaunchedRun } from '../launch-group.js';

/** The options of `reg eval`. */
export const EVAL_OPTIONS = {
  samples: {
    type: 'string',
    help: 'samples (required unless --representation): an .npz (arr_0 uint8 N×H×W×3, as reg sample writes) or a folder of images',
  },
  ref: {
    type: 'string',
    help: 'reference (required unless --representation): an ADM reference batch (.npz with mu, sigma, mu_s, sigma_s, arr_0; stored statistics used as they are), an .npz of images or a folder of images (statistics computed once, cached next to it)',
  },
  metrics: { type: 'string', default: ADM_METRICS.join(','), help: `comma-separated, of ${EVAL_METRICS.join(', ')}` },
  inception: {
    type: 'string',
    help: `pytorch-fid's FID Inception weights (default: ./${PYTORCH_FID_WEIGHTS_FILE}, else the torch hub cache ~/.cache/torch/hub/checkpoints/); not downloaded`,
  },
  resize: {
    type: 'string',
    choices: INCEPTION_RESIZES,
    default: 'tf1-legacy',
    help: "Inception input: tf1-legacy (the ADM evaluator's TF graph: legacy bilinear, (x−128)/128) or pytorch (pytorch-fid: bilinear, 2x−1)",
  },
  dinov2: { type: 'string', help: 'DINOv2 weights for fd-dinov2 (torch.hub .pth or Hugging Face model.safetensors)' },
  dinov2InputSize: { type: 'integer', default: 224, min: 14, help: 'DINOv2 input side for fd-dinov2' },
  mobilenetWeights: {
    type: 'string',
    help: 'MobileNetV2 TF.js folder for fd-mobilenetv2 (default: npm nsfwjs 4.4.0, fetched once and cached)',
  },
  mobilenetInputSize: { type: 'integer', default: 64, min: 32, help: "MobileNetV2 input side for fd-mobilenetv2 (reg demo's)" },
  device: { type: 'string', default: 'auto', help: 'auto, cpu, cuda or cuda:N' },
  batch: { type: 'integer', default: 64, min: 1, help: 'images per batch of the feature pass (the ADM evaluator: 64)' },
  splitSize: { type: 'integer', default: 5000, min: 1, help: 'IS: samples per chunk, in order' },
  prK: { type: 'integer', default: 3, min: 1, help: 'precision/recall: the k-th nearest neighbour gives the radius' },
  prBatch: { type: 'integer', default: 10000, min: 1, help: 'precision/recall: rows and columns per distance block' },
  refCache: { type: 'boolean', default: true, help: 'read and write reference statistics cached next to the reference' },
  out: { type: 'string', help: 'the JSON record (default: next to the samples, <samples>.eval.json)' },
  ...REPRESENTATION_OPTIONS,
  ...EMBEDDED_OPTIONS,
} as const satisfies SettingTable;

/** The Inception weights: the option, else pytorch-fid's file name here or in the torch hub cache. */
function inceptionWeights(given: string | undefined): string | undefined {
  if (given !== undefined) {
    if (!existsSync(given)) throw new UsageError(`--inception ${given}: no such file`);
    return given;
  }
  const hub = path.join(process.env.TORCH_HOME ?? path.join(homedir(), '.cache', 'torch'), 'hub', 'checkpoints', PYTORCH_FID_WEIGHTS_FILE);
  return [PYTORCH_FID_WEIGHTS_FILE, hub].find((p) => existsSync(p));
}

function parseMetrics(raw: string): EvalMetric[] {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = list.filter((m) => !(EVAL_METRICS as readonly string[]).includes(m));
  if (list.length === 0 || unknown.length > 0) {
    throw new UsageError(
      `--metrics: unknown metric ${unknown.map((m) => `'${m}'`).join(', ') || '(none given)'} (known: ${EVAL_METRICS.join(', ')})`,
    );
  }
  return list as EvalMetric[];
}

function parseDevice(raw: string): Device {
  if (raw === 'auto') return torch.cudaAvailable() ? 'cuda' : 'cpu';
  try {
    return checkDevice(raw);
  } catch (e) {
    throw new UsageError(`--device: ${(e as Error).message}`);
  }
}

/** Where the JSON goes by default: `<dir>/<name>.eval.json` beside the samples file or folder. */
export function defaultRecordPath(samples: string): string {
  const clean = samples.replace(/\/+$/, '');
  return `${clean.replace(/\.npz$/, '')}.eval.json`;
}

/** One table row per metric. */
function rows(m: MetricResult): [string, string, string][] {
  switch (m.metric) {
    case 'is':
      return [['IS', m.value.toFixed(3), `${m.chunks.length} chunk(s) of ≤ ${m.splitSize}, in order`]];
    case 'pr':
      return [
        ['precision', m.precision.toFixed(4), `k = ${m.k}, ${m.referenceImages} reference images`],
        ['recall', m.recall.toFixed(4), ''],
      ];
    default: {
      const name = { fid: 'FID', sfid: 'sFID', 'fd-dinov2': 'FD-DINOv2', 'fd-mobilenetv2': 'FD-MobileNetV2' }[m.metric];
      const notes = [`${m.features} (${m.dim})`, m.singular ? 'singular covariance' : '', m.regularised ? '+1e-6·I' : ''].filter(Boolean);
      return [[name, m.value.toFixed(3), notes.join(', ')]];
    }
  }
}

/** The terminal table of a result. */
export function formatTable(r: EvaluationResult): string {
  const all = r.metrics.flatMap(rows);
  const w0 = Math.max(...all.map((x) => x[0].length));
  const w1 = Math.max(...all.map((x) => x[1].length));
  return all.map(([a, b, c]) => `  ${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`.trimEnd()).join('\n');
}

/** `reg eval` with parsed options. */
export async function runEval({ options: o }: ParsedArgs): Promise<EvaluationResult> {
  if (o.samples === undefined || o.ref === undefined)
    throw new UsageError(
      '--samples and --ref are required (or --representation <checkpoint>, or --samples <reg sample folder> --embedded)',
    );
  const metrics = parseMetrics(String(o.metrics));
  const samples = String(o.samples);
  const ref = String(o.ref);
  for (const [flag, p] of [
    ['--samples', samples],
    ['--ref', ref],
  ]) {
    if (!existsSync(p!)) throw new UsageError(`${flag} ${p}: no such file or folder`);
  }
  const dinov2 = o.dinov2 === undefined ? undefined : String(o.dinov2);
  if (dinov2 !== undefined && !existsSync(dinov2)) throw new UsageError(`--dinov2 ${dinov2}: no such file`);
  const out = o.out === undefined ? defaultRecordPath(samples) : String(o.out);
  const inception = inceptionWeights(o.inception as string | undefined);
  const { group, device } = await joinLaunchedRun(parseDevice(String(o.device)));
  const lead = (group?.rank ?? 0) === 0;
  let result: EvaluationResult;
  try {
    result = await evaluate({
      samples,
      ref,
      metrics,
      ...(inception ? { inception } : {}),
      resize: o.resize as InceptionResize,
      ...(dinov2 ? { dinov2 } : {}),
      dinov2InputSize: o.dinov2InputSize as number,
      ...(o.mobilenetWeights === undefined ? {} : { mobilenetWeights: String(o.mobilenetWeights) }),
      mobilenetInputSize: o.mobilenetInputSize as number,
      device: device as Device,
      batchSize: o.batch as number,
      splitSize: o.splitSize as number,
      prK: o.prK as number,
      prBatchSize: o.prBatch as number,
      cacheReference: o.refCache as boolean,
      group,
      ...(lead
        ? {
            progress: (label: string, total: number) => {
              const bar = new Progress(label, total, { unit: 'images' });
              return (n: number) => bar.tick(n);
            },
            log: (line: string) => console.error(`  ${line}`),
          }
        : {}),
    });
  } catch (e) {
    if (e instanceof EvaluateError) throw new UsageError(e.message);
    throw e;
  } finally {
    await group?.destroy();
  }
  if (!lead) return result;
  writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
  for (const w of result.warnings) console.error(`warning: ${w}`);
  console.log(`reg eval: ${result.samples.count} samples (${result.samples.width}×${result.samples.height}) vs ${ref}
${formatTable(result)}
  record  ${out}`);
  return result;
}

export const evalCommand: Command = {
  name: 'eval',
  compute: true,
  summary: 'score samples against a reference: FID, sFID, IS, precision/recall as the ADM evaluator, FD-DINOv2, FD-MobileNetV2',
  options: EVAL_OPTIONS,
  async run(args) {
    if (args.options.representation !== undefined) await runRepresentationEval(String(args.options.representation), args.options);
    else if (args.options.embedded === true) await runEmbeddedEval(args.options, defaultRecordPath);
    else await runEval(args);
  },
};
