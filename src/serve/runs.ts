/**
 * The runs under a runs directory, as the dashboard lists them: every folder up to 3 levels down that
 * holds a metrics.jsonl (links are not followed; a run's own folders are not searched), named by its
 * path relative to the runs directory (`demo/run`), with its status, last step, ETA, checkpoints,
 * checkpoint grids and evaluation records. Everything is read, nothing written.
 *
 *   evaluations: files named *.eval.json, representation-*.json, *.representation.json or
 *                *study*.json, found up to 3 folders deep in the run; and for a study's run
 *                <study>/runs/<name>, its evaluations <study>/evals/<name>/step-<N>.json
 *                (src/pipelines/study.ts), by step
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { listCheckpoints } from '../models/checkpoint.js';
import { GRIDS_DIR } from '../pipelines/checkpoint-grid.js';
import { lastRecords } from './metrics-tail.js';
import { runStatus, type RunStatus } from './run-status.js';
import { resolveInside } from './safe-path.js';

/** One row of the run list. */
export interface RunSummary extends RunStatus {
  name: string;
  step: number;
  maxSteps: number | null;
  /** Total loss of the last step (null before the first). */
  loss: number | null;
  /** Milliseconds since the epoch of the run's last change. */
  updatedMs: number;
}

/** Everything the dashboard shows of one run besides its curves. */
export interface RunDetails extends RunSummary {
  /** config.json, parsed (null when missing or not JSON). */
  config: unknown;
  checkpoints: number[];
  /** Checkpoint grids: step and path relative to the run. */
  grids: { step: number; file: string }[];
  /** Evaluation records: path relative to the run and the parsed JSON. */
  evaluations: { file: string; record: unknown }[];
}

const EVALUATION_FILE = /(\.eval\.json|^representation-.*\.json|\.representation\.json|study.*\.json)$/;
const GRID_FILE = /^(\d{7,})\.png$/;
const STUDY_EVALUATION = /^step-(\d+)\.json$/;
/** Evaluation records larger than this are listed without their content. */
const MAX_RECORD_BYTES = 1 << 20;

/** config.json of a run directory, parsed; null when missing or not JSON. */
export function readRunConfig(dir: string): unknown {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as unknown;
  } catch {
    return null;
  }
}

const isRunDir = (dir: string): boolean => {
  try {
    return statSync(path.join(dir, 'metrics.jsonl')).isFile();
  } catch {
    return false;
  }
};

/** How many folders below the runs directory runs are looked for. */
const RUN_DEPTH = 3;

const mtimeMs = (file: string): number | null => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
};

/** maxTrainSteps of a run config ({train: {maxTrainSteps}}), or null. */
function maxStepsOf(config: unknown): number | null {
  const v = (config as { train?: { maxTrainSteps?: unknown } } | null)?.train?.maxTrainSteps;
  return typeof v === 'number' ? v : null;
}

/** The list row of the run in `dir` named `name`, at time `nowMs`. */
function summarize(name: string, dir: string, nowMs: number): RunSummary {
  const config = readRunConfig(dir);
  const records = lastRecords(path.join(dir, 'metrics.jsonl'));
  const last = records.at(-1);
  const updatedMs = mtimeMs(path.join(dir, 'metrics.jsonl')) ?? mtimeMs(path.join(dir, 'config.json')) ?? 0;
  const maxSteps = maxStepsOf(config);
  const status = runStatus({
    step: last?.step ?? 0,
    maxSteps,
    checkpointStep: listCheckpoints(dir).at(-1)?.step ?? null,
    idleSeconds: (nowMs - updatedMs) / 1000,
    recentStepSeconds: records.map((r) => r.stepSeconds).filter((s): s is number => typeof s === 'number'),
  });
  const loss = typeof last?.loss === 'number' ? last.loss : null;
  return { name, ...status, step: last?.step ?? 0, maxSteps, loss, updatedMs };
}

/**
 * The directory of run `name` (`a/b`: a path relative to `runsDir`, each part a plain name) when it
 * lies inside `runsDir` and holds a run; null otherwise (a bad name, a link out, not a run).
 */
export function runDirOf(runsDir: string, name: string): string | null {
  const dir = resolveInside(runsDir, name.split('/').map(encodeURIComponent));
  return dir !== null && isRunDir(dir) ? dir : null;
}

/** Names (relative paths) of the runs under `root/rel`, up to `depth` folders deeper. */
function findRuns(root: string, rel: string, depth: number): string[] {
  let entries;
  try {
    entries = readdirSync(path.join(root, rel), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const name = rel === '' ? e.name : `${rel}/${e.name}`;
    if (runDirOf(root, name) !== null) out.push(name);
    else if (depth > 1) out.push(...findRuns(root, name, depth - 1));
  }
  return out;
}

/** The runs under `runsDir`, newest change first. */
export function listRuns(runsDir: string, nowMs = Date.now()): RunSummary[] {
  return findRuns(runsDir, '', RUN_DEPTH)
    .sort()
    .map((name) => summarize(name, runDirOf(runsDir, name)!, nowMs))
    .sort((a, b) => b.updatedMs - a.updatedMs);
}

/** Evaluation files of a run (relative paths), up to `depth` folders deep; links are not followed. */
function findEvaluations(dir: string, rel = '', depth = 3): string[] {
  let entries;
  try {
    entries = readdirSync(path.join(dir, rel), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const sub = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory() && depth > 0) out.push(...findEvaluations(dir, sub, depth - 1));
    else if (e.isFile() && EVALUATION_FILE.test(e.name)) out.push(sub);
  }
  return out;
}

/**
 * A study's evaluations of the run in `dir` = <study>/runs/<name>: <study>/evals/<name>/step-<N>.json
 * by step, as paths relative to `dir` (only when they lie inside `runsDir`).
 */
function findStudyEvaluations(runsDir: string, dir: string): string[] {
  if (path.basename(path.dirname(dir)) !== 'runs') return [];
  const name = path.basename(dir);
  const evals = resolveInside(
    runsDir,
    path
      .relative(runsDir, path.join(dir, '..', '..', 'evals', name))
      .split(path.sep)
      .map(encodeURIComponent),
  );
  if (evals === null) return [];
  let files: string[];
  try {
    files = readdirSync(evals).filter((f) => STUDY_EVALUATION.test(f));
  } catch {
    return [];
  }
  const step = (f: string) => Number(STUDY_EVALUATION.exec(f)![1]);
  return files.sort((a, b) => step(a) - step(b)).map((f) => path.relative(dir, path.join(evals, f)).split(path.sep).join('/'));
}

function readRecord(file: string): unknown {
  try {
    return statSync(file).size > MAX_RECORD_BYTES ? null : (JSON.parse(readFileSync(file, 'utf8')) as unknown);
  } catch {
    return null;
  }
}

/** Everything about run `name` (null when there is no such run). */
export function runDetails(runsDir: string, name: string, nowMs = Date.now()): RunDetails | null {
  const dir = runDirOf(runsDir, name);
  if (dir === null) return null;
  let gridNames: string[] = [];
  try {
    gridNames = readdirSync(path.join(dir, GRIDS_DIR)).filter((f) => GRID_FILE.test(f));
  } catch {
    // no grids yet
  }
  const grids = gridNames.map((f) => ({ step: Number(GRID_FILE.exec(f)![1]), file: `${GRIDS_DIR}/${f}` })).sort((a, b) => a.step - b.step);
  return {
    ...summarize(name, dir, nowMs),
    config: readRunConfig(dir),
    checkpoints: listCheckpoints(dir).map((c) => c.step),
    grids,
    evaluations: [...findEvaluations(dir), ...findStudyEvaluations(runsDir, dir)].map((file) => ({
      file,
      record: readRecord(path.join(dir, file)),
    })),
  };
}
