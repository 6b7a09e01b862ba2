/**
 * `reg eval --representation <checkpoint>`: the representation metrics of a trained SiT
 * (src/eval/representation.ts) at one or more times t: CKNNA between the patch-mean hidden state of a
 * block (default: the aligned one, encoderDepth) and the encoder's features of the same images, and
 * the accuracy of a linear probe (BatchNorm1d → Linear) on that hidden state, with the same probe on
 * the encoder's features for scale. The images are the first ones of the run's own training data
 * stream. Prints a table and writes the whole record as JSON (atomically). `reg eval` (eval.ts) takes
 * these options and hands `--representation` here, with its own --device, --batch and --out.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError, type ParsedArgs } from '../args.js';
import { resolveCheckpoint } from '../../models/checkpoint.js';
import { PATH_TYPES, type PathType } from '../../diffusion/interpolants.js';
import { evaluateRepresentation, type RepresentationReport } from '../../eval/representation.js';
import { LINEAR_PROBE_DEFAULTS } from '../../eval/linear-probe.js';
import { checkDevice, type Device } from '../../torch/device.js';
import * as torch from '../../torch/index.js';
import { writeFileAtomic } from '../../util/atomic.js';
import type { SettingTable } from '../../util/settings.js';
import { regTsVersion } from '../../util/version.js';

/** The options of the representation metrics, for `reg eval` (which adds --device, --batch and --out). */
export const REPRESENTATION_OPTIONS = {
  representation: {
    type: 'string',
    help: 'a checkpoint (run or checkpoint directory): compute its representation metrics (CKNNA, linear probe) instead of scoring samples; the record goes to <run>/representation-<step>.json unless --out',
  },
  t: {
    type: 'string',
    default: '0.5',
    help: 'with --representation: time(s) t in [0, 1] (0 = data, 1 = noise), comma-separated for a table, e.g. 0,0.25,0.5,0.75',
  },
  block: {
    type: 'integer',
    min: 1,
    help: "with --representation: 1-based block whose output is read (default: the model's encoderDepth, the aligned block)",
  },
  topk: {
    type: 'integer',
    default: 10,
    min: 2,
    help: 'with --representation: CKNNA nearest neighbours per image (platonic-rep and the REPA/REG papers: 10)',
  },
  probeTrain: {
    type: 'integer',
    default: 1000,
    min: 2,
    help: 'with --representation: images that train the linear probe (the first of the stream)',
  },
  probeTest: { type: 'integer', default: 500, min: 2, help: 'with --representation: images that test it (the next ones); all enter CKNNA' },
  probeEpochs: {
    type: 'integer',
    default: LINEAR_PROBE_DEFAULTS.epochs,
    min: 1,
    help: 'with --representation: linear-probe epochs (AdamW, lr 1e-3, batch 256)',
  },
  path: { type: 'string', choices: PATH_TYPES, help: "with --representation: interpolant of the noising (default: the run's)" },
  seed: { type: 'integer', default: 0, min: 0, help: 'with --representation: seed of the image order, the noise and the probe' },
  weights: { type: 'string', default: 'ema', choices: ['ema', 'model'], help: 'with --representation: EMA or raw trained weights' },
} as const satisfies SettingTable;

/** The record's default place: `<run>/representation-<step dir>.json`, or `<dir>.representation.json` for a lone checkpoint. */
export function defaultRepresentationPath(checkpointDir: string): string {
  const parent = path.dirname(checkpointDir);
  return path.basename(parent) === 'checkpoints'
    ? path.join(path.dirname(parent), `representation-${path.basename(checkpointDir)}.json`)
    : `${checkpointDir}.representation.json`;
}

/** Parses `--t` into times in [0, 1]. */
export function parseTimes(raw: string): number[] {
  const parts = raw.split(',').map((s) => s.trim());
  const times = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === '' || !(times[i]! >= 0 && times[i]! <= 1));
  if (bad >= 0) throw new UsageError(`--t: '${parts[bad]}' is not a time in [0, 1] (give e.g. 0.5 or 0,0.25,0.5)`);
  return times;
}

/** The terminal table of the reports (one row per t). */
export function formatRepresentationTable(reports: readonly RepresentationReport[]): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const head = ['t', 'block', 'CKNNA', 'probe (hidden)', 'probe (encoder)', 'chance'];
  const body = reports.map((r) => [
    String(r.t),
    String(r.block),
    r.cknna.value.toFixed(4),
    pct(r.probe.hidden.testAccuracy),
    pct(r.probe.encoder.testAccuracy),
    pct(r.probe.chance),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  return [head, ...body].map((row) => `  ${row.map((c, i) => c.padStart(widths[i]!)).join('  ')}`).join('\n');
}

/** `reg eval --representation <checkpoint>` with parsed options; returns the record it wrote and its reports. */
export async function runRepresentationEval(
  checkpoint: string,
  o: ParsedArgs['options'],
): Promise<{ file: string; reports: RepresentationReport[] }> {
  if (!existsSync(checkpoint)) throw new UsageError(`checkpoint not found: ${checkpoint}`);
  const dir = resolveCheckpoint(checkpoint);
  const times = parseTimes(String(o.t));
  const rawDevice = String(o.device ?? 'auto');
  let device: Device;
  try {
    device = rawDevice === 'auto' ? (torch.cudaAvailable() ? 'cuda' : 'cpu') : checkDevice(rawDevice);
  } catch (e) {
    throw new UsageError(`--device: ${(e as Error).message}`);
  }
  if (device !== 'cpu' && !torch.cudaAvailable())
    throw new UsageError(`--device ${device}: CUDA is not available (libtorch sees no CUDA device)`);
  const file = o.out === undefined ? defaultRepresentationPath(dir) : String(o.out);
  const reports: RepresentationReport[] = [];
  for (const t of times) {
    console.error(`  t = ${t}: ${Number(o.probeTrain) + Number(o.probeTest)} images …`);
    reports.push(
      await evaluateRepresentation(dir, {
        t,
        topk: o.topk as number,
        probeTrain: o.probeTrain as number,
        probeTest: o.probeTest as number,
        probe: { epochs: o.probeEpochs as number },
        seed: o.seed as number,
        weights: o.weights as 'ema' | 'model',
        device,
        batchSize: (o.batch as number | undefined) ?? 32,
        ...(o.block === undefined ? {} : { block: o.block as number }),
        ...(o.path === undefined ? {} : { path: o.path as PathType }),
      }),
    );
  }
  writeFileAtomic(
    file,
    `${JSON.stringify({ regTs: regTsVersion(), createdAt: new Date().toISOString(), settings: o, reports }, null, 2)}\n`,
  );
  const first = reports[0]!;
  console.log(`reg eval --representation: ${first.checkpoint} (step ${first.step ?? '?'}), ${first.images} images of ${first.source}
${formatRepresentationTable(reports)}
  CKNNA: hidden state (patch mean) vs the encoder's features, k = ${first.cknna.topk}; probes: test accuracy on ${Number(o.probeTest)} held-out images
  record  ${file}`);
  return { file, reports };
}
