/**
 * The reg-ts checkpoint: one directory format for the trainer, `reg convert` and `loadModel`, its one
 * writer, and the one resolver of run directories and `latest`.
 *
 *   <checkpoint>/
 *     config.json            {format: "reg-ts-checkpoint", version: 2, model: SiTConfig, files: [...],
 *                             step?, train?, regTs?, source?, …}
 *     model.safetensors      trained weights, official key names    metadata {format, version, weights: "model", config, step?}
 *     ema.safetensors        EMA weights, same keys (optional)      metadata {…, weights: "ema"}
 *     optimizer.safetensors  optimizer state (training only)        metadata {…, weights: "optimizer"}
 *     trainer.json           trainer state (training only; its schema is the trainer's, tagged "reg-ts/trainer@1")
 *
 *   <run>/checkpoints/0010000/   one checkpoint per step (official `<step:07d>`)
 *   <run>/checkpoints/latest     the name of the newest complete one ("0010000\n")
 *
 * `files` in config.json lists every file of the checkpoint, so a checkpoint is complete exactly when
 * config.json and the files it lists are there. Every safetensors file says in its own metadata what it
 * holds (and, for weights, the model config), so it can be read on its own.
 *
 * Earlier layouts still load: version 1 (`reg convert` before the formats were unified: no `files`, so
 * model.safetensors is the one required file; safetensors metadata `format: "reg-ts"`) and the untagged
 * trainer checkpoint (config.json `{model, train, regTs, step}`, all five files, safetensors metadata
 * `content` instead of `weights`, no config).
 *
 * Crash safety: every file is replaced atomically (temporary file, fsync, rename) and config.json is
 * written last; a run checkpoint is written into a hidden temporary directory that is renamed to its step
 * name only when complete, and `latest` is rewritten atomically after that. A killed process leaves at
 * worst a `.tmp-*` directory (removed by the next save), never a half-written checkpoint under a step name.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { isFloatingPoint, type Device, type DType, type Tensor } from '../torch/index.js';
import { loadSafetensors, saveSafetensors } from '../torch/io/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { configRangeProblem, type SiTConfig } from './configs.js';
import { paramShapes } from './sit.js';

/** Format tag of config.json and of the safetensors metadata of every checkpoint file. */
export const CHECKPOINT_FORMAT = 'reg-ts-checkpoint';
/** Version of the checkpoint layout written now (1: `reg convert` before `files`; untagged: the old trainer's). */
export const CHECKPOINT_VERSION = 2;

/** A checkpoint that is missing, incomplete, damaged or cannot be used as asked (missing keys, wrong shapes). */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** Which weights of a checkpoint: the EMA (default; what generation uses) or the raw trained ones. */
export type WeightsKind = 'ema' | 'model';

/** What a safetensors file of a checkpoint holds (its metadata's `weights`). */
export type StateKind = WeightsKind | 'optimizer';

/** The file of each part of a checkpoint directory. */
export const CHECKPOINT_FILES = {
  config: 'config.json',
  model: 'model.safetensors',
  ema: 'ema.safetensors',
  optimizer: 'optimizer.safetensors',
  trainer: 'trainer.json',
} as const;

/** config.json of a checkpoint directory. */
export interface CheckpointConfig {
  /** CHECKPOINT_FORMAT; absent in the old trainer's checkpoints. */
  format?: typeof CHECKPOINT_FORMAT;
  /** Layout version; absent in the old trainer's checkpoints. */
  version?: number;
  model: SiTConfig;
  /** The files of the checkpoint besides config.json (version 2 on). */
  files?: string[];
  /** Optimizer steps done. */
  step?: number;
  /** The training configuration, in checkpoints written by the trainer. */
  train?: Record<string, unknown>;
  /** reg-ts version that wrote it (trainer checkpoints). */
  regTs?: string;
  /** Where the weights came from (e.g. an official `.pt`), for the record. */
  source?: Record<string, unknown>;
  [key: string]: unknown;
}

/** What {@link writeCheckpoint} and {@link writeRunCheckpoint} write. */
export interface NativeCheckpoint {
  config: SiTConfig;
  /** Trained weights (official key names). */
  model: ReadonlyMap<string, Tensor>;
  /** EMA weights; absent → no ema.safetensors. */
  ema?: ReadonlyMap<string, Tensor> | null;
  /** Optimizer state (training checkpoints); absent → no optimizer.safetensors. */
  optimizer?: ReadonlyMap<string, Tensor> | null;
  /** Trainer state, written as trainer.json (training checkpoints). */
  trainer?: object | null;
  step?: number;
  /** More config.json keys (training configuration, source, …). */
  extra?: Record<string, unknown>;
}

// =================================================================================================
//                                          Validation
// =================================================================================================

/**
 * Checks a state dict against a config: every key present, none extra, every shape right, and every
 * dtype (when given) floating, as all SiT weights are (an int32 weight would be value-cast into garbage).
 * Throws a CheckpointError listing what is wrong (`what` names the source in the message).
 */
export function checkStateDict(
  config: SiTConfig,
  sd: ReadonlyMap<string, { shape: readonly number[]; dtype?: DType }>,
  what = 'checkpoint',
): void {
  const want = paramShapes(config);
  const missing = [...want.keys()].filter((k) => !sd.has(k));
  const unexpected = [...sd.keys()].filter((k) => !want.has(k));
  const show = (l: string[]) => (l.length > 10 ? `${l.slice(0, 10).join(', ')}, … (${l.length} in all)` : l.join(', '));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing keys: ${show(missing)}`);
  if (unexpected.length) problems.push(`unexpected keys: ${show(unexpected)}`);
  for (const [k, shape] of want) {
    const t = sd.get(k);
    if (t && t.shape.join(',') !== shape.join(','))
      problems.push(`'${k}' has shape [${t.shape.join(', ')}] but the model expects [${shape.join(', ')}]`);
    if (t?.dtype !== undefined && !isFloatingPoint(t.dtype))
      problems.push(`'${k}' is stored as ${t.dtype} but the model expects a floating dtype (float16, bfloat16, float32 or float64)`);
  }
  if (problems.length)
    throw new CheckpointError(
      `${what} does not match the model (${config.variant}, D=${config.hiddenSize}, depth ${config.depth}): ${problems.join('; ')}`,
    );
}

// =================================================================================================
//                                    Safetensors metadata
// =================================================================================================

/** The `__metadata__` of a checkpoint's safetensors file holding `kind` (weights files carry the config too). */
export function stateMetadata(kind: StateKind, config: SiTConfig, step?: number): Record<string, string> {
  return {
    format: CHECKPOINT_FORMAT,
    version: String(CHECKPOINT_VERSION),
    weights: kind,
    ...(kind === 'optimizer' ? {} : { config: JSON.stringify(config) }),
    ...(step !== undefined ? { step: String(step) } : {}),
  };
}

/**
 * What a safetensors file holds according to its metadata: `weights` (version 1 on), `content` (the old
 * trainer's files); undefined when neither is there (a file from elsewhere).
 */
export function stateKindOf(metadata: Readonly<Record<string, string>>, file: string): StateKind | undefined {
  const kind = metadata.weights ?? metadata.content;
  if (kind === undefined || kind === 'model' || kind === 'ema' || kind === 'optimizer') return kind;
  throw new CheckpointError(`${file}: unknown weights kind ${JSON.stringify(kind)} in its metadata (expected model, ema or optimizer)`);
}

// =================================================================================================
//                                           Writing
// =================================================================================================

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the files of a checkpoint into `dir` (each atomically, config.json last) and fsyncs `dir`. */
function writeCheckpointFiles(dir: string, ck: NativeCheckpoint): void {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const tensors = (kind: StateKind, sd: ReadonlyMap<string, Tensor> | null | undefined): void => {
    if (!sd) return;
    saveSafetensors(path.join(dir, CHECKPOINT_FILES[kind]), sd, stateMetadata(kind, ck.config, ck.step));
    files.push(CHECKPOINT_FILES[kind]);
  };
  tensors('model', ck.model);
  tensors('ema', ck.ema);
  tensors('optimizer', ck.optimizer);
  if (ck.trainer) {
    writeFileAtomic(path.join(dir, CHECKPOINT_FILES.trainer), `${JSON.stringify(ck.trainer, null, 2)}\n`);
    files.push(CHECKPOINT_FILES.trainer);
  }
  const json: CheckpointConfig = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: ck.config,
    files,
    ...(ck.step !== undefined ? { step: ck.step } : {}),
    ...(ck.extra ?? {}),
  };
  writeFileAtomic(path.join(dir, CHECKPOINT_FILES.config), `${JSON.stringify(json, null, 2)}\n`);
  fsyncDir(dir);
}

/**
 * Writes a checkpoint directory (`reg convert`, tests, anything outside a training run) after checking
 * the weights against the config; existing files of the same names are replaced, each atomically.
 */
export function writeCheckpoint(dir: string, ck: NativeCheckpoint): void {
  checkStateDict(ck.config, ck.model, 'model weights');
  if (ck.ema) checkStateDict(ck.config, ck.ema, 'EMA weights');
  writeCheckpointFiles(dir, ck);
}

/** `1234` → `0001234` (official `<step:07d>`). */
export const stepDirName = (step: number): string => String(step).padStart(7, '0');

/** The checkpoints folder of a run directory. */
export const checkpointsDir = (runDir: string): string => path.join(runDir, 'checkpoints');

/**
 * What a killed writer can leave in a run's checkpoints folder, all hidden: a checkpoint being written
 * (`.tmp-<step>-<pid>`), a replaced one (`.old-<step>-<pid>`), one being deleted (`.<step>.deleting`),
 * a temporary `latest` (`.latest.<pid>.<hex>.tmp`).
 */
const LEFTOVER = /^\.(tmp|old)-|^\.\d{7,}\.deleting$|^\.latest\.\d+\.[0-9a-f]+\.tmp$/;

/**
 * Removes what a killed writer left in `<runDir>/checkpoints/` (see {@link LEFTOVER}); the trainer calls
 * it when a run starts, and every run checkpoint save does before writing. One writer per run is assumed.
 */
export function removeCheckpointLeftovers(runDir: string): void {
  const root = checkpointsDir(runDir);
  if (!existsSync(root)) return;
  for (const n of readdirSync(root)) if (LEFTOVER.test(n)) rmSync(path.join(root, n), { recursive: true, force: true });
}

/**
 * Deletes a checkpoint directory so that a kill at any moment leaves no half-deleted checkpoint under its
 * step name: it is renamed to `.<name>.deleting` (one atomic step) and then removed; a kill during the
 * removal leaves a hidden leftover that {@link removeCheckpointLeftovers} clears.
 */
function deleteCheckpointDir(dir: string): void {
  const doomed = path.join(path.dirname(dir), `.${path.basename(dir)}.deleting`);
  rmSync(doomed, { recursive: true, force: true });
  renameSync(dir, doomed);
  rmSync(doomed, { recursive: true, force: true });
}

/**
 * Writes the checkpoint of step `ck.step` of a run under `<runDir>/checkpoints/` (all or nothing: a
 * temporary directory renamed into place), updates `latest`, and deletes all but the newest `keep`
 * checkpoints (keep ≤ 0: keep all), each crash-safely (renamed out of the way first), together with
 * incomplete step directories older than the oldest one kept (half-deleted by an earlier version). The
 * weights are written as given (a training run's own state dicts). Returns the directory.
 */
export function writeRunCheckpoint(runDir: string, ck: NativeCheckpoint & { step: number }, { keep = 0 } = {}): string {
  const root = checkpointsDir(runDir);
  mkdirSync(root, { recursive: true });
  removeCheckpointLeftovers(runDir);
  const name = stepDirName(ck.step);
  const tmp = path.join(root, `.tmp-${name}-${process.pid}`);
  try {
    writeCheckpointFiles(tmp, ck);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const final = path.join(root, name);
  if (existsSync(final)) {
    // replace an older save of the same step only by a complete one
    const old = path.join(root, `.old-${name}-${process.pid}`);
    renameSync(final, old);
    renameSync(tmp, final);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, final);
  }
  fsyncDir(root);
  writeFileAtomic(path.join(root, 'latest'), `${name}\n`);
  if (keep > 0) {
    const all = listCheckpoints(runDir);
    for (const c of all.slice(0, Math.max(0, all.length - keep))) if (c.dir !== final) deleteCheckpointDir(c.dir);
    const oldestKept = Math.min(ck.step, ...all.slice(-keep).map((c) => c.step));
    for (const n of readdirSync(root))
      if (STEP_DIR.test(n) && Number(n) < oldestKept && !isCompleteCheckpoint(path.join(root, n))) deleteCheckpointDir(path.join(root, n));
  }
  return final;
}

// =================================================================================================
//                                   Reading config.json, resolving
// =================================================================================================

/** Parses a JSON file of a checkpoint; a missing or unparsable file is a CheckpointError naming it. */
export function readCheckpointJson(file: string): unknown {
  if (!existsSync(file)) throw new CheckpointError(`checkpoint is incomplete: ${file} is missing`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${file} is not valid JSON (${(e as Error).message}); the checkpoint is damaged`);
  }
}

/** Reads and checks config.json of the checkpoint directory `dir` (cheap: no tensors). */
function readConfigOf(dir: string): CheckpointConfig {
  const file = path.join(dir, CHECKPOINT_FILES.config);
  const c = readCheckpointJson(file) as Partial<CheckpointConfig> | null;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new CheckpointError(`${file} must hold an object`);
  if (c.format !== undefined && c.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(`${file}: unknown format ${JSON.stringify(c.format)} (expected ${CHECKPOINT_FORMAT})`);
  if (c.format !== undefined && !(Number.isSafeInteger(c.version) && c.version! >= 1 && c.version! <= CHECKPOINT_VERSION)) {
    throw new CheckpointError(
      `${file}: checkpoint layout version ${JSON.stringify(c.version)} is not one this reg-ts reads (1 to ${CHECKPOINT_VERSION}); a newer reg-ts wrote it?`,
    );
  }
  if (typeof c.model !== 'object' || c.model === null) throw new CheckpointError(`${file} has no model configuration ('model')`);
  return c as CheckpointConfig;
}

/** The files a checkpoint's config.json declares (besides itself), by layout version. */
function declaredFiles(config: CheckpointConfig): readonly string[] {
  if (config.files) return config.files;
  if (config.format === undefined)
    return [CHECKPOINT_FILES.model, CHECKPOINT_FILES.ema, CHECKPOINT_FILES.optimizer, CHECKPOINT_FILES.trainer];
  return [CHECKPOINT_FILES.model];
}

/** True when `dir` holds config.json and every file it declares (a damaged config.json: false). */
export function isCompleteCheckpoint(dir: string): boolean {
  if (!existsSync(path.join(dir, CHECKPOINT_FILES.config))) return false;
  try {
    return declaredFiles(readConfigOf(dir)).every((f) => existsSync(path.join(dir, f)));
  } catch (e) {
    if (e instanceof CheckpointError) return false;
    throw e;
  }
}

const STEP_DIR = /^\d{7,}$/;

/** Complete checkpoint directories of a run, oldest first. */
export function listCheckpoints(runDir: string): { step: number; dir: string }[] {
  const root = checkpointsDir(runDir);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((n) => STEP_DIR.test(n) && isCompleteCheckpoint(path.join(root, n)))
    .map((n) => ({ step: Number(n), dir: path.join(root, n) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * The newest checkpoint of a run: the one `latest` names when it is complete (a crash between a
 * checkpoint's rename and the pointer update leaves the pointer on the previous, consistent one), else
 * the newest complete directory. Null when there is none.
 */
export function latestCheckpoint(runDir: string): string | null {
  const root = checkpointsDir(runDir);
  const pointer = path.join(root, 'latest');
  if (existsSync(pointer)) {
    const name = readFileSync(pointer, 'utf8').trim();
    const dir = path.join(root, name);
    if (STEP_DIR.test(name) && isCompleteCheckpoint(dir)) return dir;
  }
  return listCheckpoints(runDir).at(-1)?.dir ?? null;
}

/** True when `dir` is a checkpoint directory itself (config.json beside weights), complete or not. */
function isCheckpointDir(dir: string): boolean {
  return (
    existsSync(path.join(dir, CHECKPOINT_FILES.config)) &&
    (['model', 'ema'] as const).some((w) => existsSync(path.join(dir, CHECKPOINT_FILES[w])))
  );
}

/**
 * The checkpoint directory a user's path stands for: a checkpoint directory itself, or a run directory
 * (its latest checkpoint), or a run's `checkpoints/` folder.
 */
export function resolveCheckpoint(where: string): string {
  if (!existsSync(where)) throw new CheckpointError(`no checkpoint at ${where}: no such file or directory`);
  if (!statSync(where).isDirectory()) throw new CheckpointError(`${where} is not a reg-ts checkpoint directory (a file)`);
  if (isCheckpointDir(where)) return where;
  const runDir = path.basename(path.resolve(where)) === 'checkpoints' ? path.dirname(where) : where;
  const found = latestCheckpoint(runDir);
  if (!found)
    throw new CheckpointError(`${where} is not a reg-ts checkpoint directory, and ${checkpointsDir(runDir)} holds no complete checkpoint`);
  return found;
}

/**
 * config.json of the checkpoint that `where` stands for (see {@link resolveCheckpoint}); a model size out
 * of its declared range (`depth: 1e9`) is a CheckpointError naming the file and the field, before anything
 * is built from it.
 */
export function readCheckpointConfig(where: string): CheckpointConfig {
  const dir = resolveCheckpoint(where);
  const config = readConfigOf(dir);
  const problem = configRangeProblem(config.model as unknown as Record<string, unknown>);
  if (problem !== null) throw new CheckpointError(`${path.join(dir, CHECKPOINT_FILES.config)}: model.${problem}`);
  return config;
}

// =================================================================================================
//                                       Reading tensors
// =================================================================================================

/**
 * The tensors of one safetensors file of a checkpoint directory (onto `device`). A file that cannot be
 * read, or whose metadata says it holds something else, is a CheckpointError naming it.
 */
export function readCheckpointState(dir: string, kind: StateKind, { device = 'cpu' as Device } = {}): Map<string, Tensor> {
  const file = path.join(dir, CHECKPOINT_FILES[kind]);
  if (!existsSync(file)) throw new CheckpointError(`checkpoint ${dir} is incomplete: ${CHECKPOINT_FILES[kind]} is missing`);
  let read: ReturnType<typeof loadSafetensors>;
  try {
    read = loadSafetensors(file, { device });
  } catch (e) {
    throw new CheckpointError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const holds = stateKindOf(read.metadata, file);
  if (holds !== undefined && holds !== kind) {
    for (const t of read.tensors.values()) t.dispose();
    throw new CheckpointError(`${file} holds ${holds} state, not ${kind} (its metadata says so)`);
  }
  return read.tensors;
}
