/**
 * Training checkpoints: one directory per step,
 *
 *   <run>/checkpoints/0010000/
 *     config.json            {model: SiTConfig, train: TrainConfig, regTs: version, step}
 *     model.safetensors      model state dict (official key names)
 *     ema.safetensors        EMA weights, same keys
 *     optimizer.safetensors  AdamW state: <param>.exp_avg, <param>.exp_avg_sq, <param>.step, __step__
 *     trainer.json           step, data position, RNG states, metrics cursor, loss scale, counters
 *   <run>/checkpoints/latest  the name of the newest complete checkpoint ("0010000\n")
 *
 * Crash safety: a checkpoint is written into a hidden temporary directory, every file and the directory
 * are fsynced, and only then is it renamed to its final name; `latest` is rewritten atomically after
 * that. A killed process leaves at worst a `.tmp-*` directory (removed by the next save), never a
 * half-written checkpoint under a step name, and an existing checkpoint is only replaced by a complete one.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { loadSafetensors, saveSafetensors } from '../torch/io/index.js';
import type { SiTConfig } from '../models/configs.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { TrainConfig } from './config.js';
import type { Json } from './data.js';

/** config.json of a checkpoint. */
export interface CheckpointConfig {
  model: SiTConfig;
  train: TrainConfig;
  /** reg-ts version that wrote it. */
  regTs: string;
  step: number;
}

/** A random generator's saved state (base64 of libtorch's state bytes). */
export interface SavedRng {
  device: string;
  state: string;
}

/** trainer.json: everything besides tensors needed to continue exactly. */
export interface TrainerState {
  format: 'reg-ts/trainer@1';
  /** Optimizer steps completed. */
  step: number;
  /** The batch source's position after the last consumed batch. */
  data: Json;
  /** Global generators (cpu, and the training CUDA device if any) and the trainer's own generators. */
  rng: { global: SavedRng[]; generators: Record<string, SavedRng> };
  /** metrics.jsonl holds `lines` records in its first `offset` bytes at this step. */
  metrics: { file: string; offset: number; lines: number };
  /** fp16 dynamic loss scaling state, or null. */
  lossScaler: { scale: number; growthTracker: number } | null;
  /** Images trained on so far. */
  imagesSeen: number;
  /** Seconds spent training so far (all sessions). */
  trainSeconds: number;
}

/** Everything a checkpoint holds. */
export interface CheckpointData {
  config: CheckpointConfig;
  model: ReadonlyMap<string, Tensor>;
  ema: ReadonlyMap<string, Tensor>;
  optimizer: ReadonlyMap<string, Tensor>;
  trainer: TrainerState;
}

/** A loaded checkpoint and where it came from. */
export interface LoadedCheckpoint extends CheckpointData {
  dir: string;
  model: Map<string, Tensor>;
  ema: Map<string, Tensor>;
  optimizer: Map<string, Tensor>;
}

/** Thrown for a missing, incomplete or inconsistent checkpoint; the message names the file. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

const FILES = ['config.json', 'model.safetensors', 'ema.safetensors', 'optimizer.safetensors', 'trainer.json'] as const;
const STEP_DIR = /^\d{7,}$/;

/** `1234` → `0001234` (official `<step:07d>`). */
export const stepDirName = (step: number): string => String(step).padStart(7, '0');

/** The checkpoints folder of a run directory. */
export const checkpointsDir = (runDir: string): string => path.join(runDir, 'checkpoints');

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Serialises a generator state tensor. */
export function encodeRng(device: string, state: Tensor): SavedRng {
  return { device, state: Buffer.from(state.toBytes()).toString('base64') };
}

/** The uint8 state tensor of a {@link SavedRng}. */
export function decodeRng(saved: SavedRng): Tensor {
  const bytes = Buffer.from(saved.state, 'base64');
  return torch.fromBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'uint8', [bytes.byteLength]);
}

/** Complete checkpoint directories of a run, oldest first. */
export function listCheckpoints(runDir: string): { step: number; dir: string }[] {
  const root = checkpointsDir(runDir);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((n) => STEP_DIR.test(n) && FILES.every((f) => existsSync(path.join(root, n, f))))
    .map((n) => ({ step: Number(n), dir: path.join(root, n) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * The checkpoint to resume a run from: the one `latest` names when it is complete (a crash between a
 * checkpoint's rename and the pointer update leaves the pointer on the previous, consistent one), else
 * the newest complete directory. Null when there is none.
 */
export function latestCheckpoint(runDir: string): string | null {
  const root = checkpointsDir(runDir);
  const pointer = path.join(root, 'latest');
  if (existsSync(pointer)) {
    const name = readFileSync(pointer, 'utf8').trim();
    const dir = path.join(root, name);
    if (STEP_DIR.test(name) && FILES.every((f) => existsSync(path.join(dir, f)))) return dir;
  }
  return listCheckpoints(runDir).at(-1)?.dir ?? null;
}

/**
 * A checkpoint directory from a user's path: a checkpoint directory itself, or a run directory (its
 * latest checkpoint), or a run's `checkpoints/` folder.
 */
export function resolveCheckpoint(where: string): string {
  if (!existsSync(where)) throw new CheckpointError(`no checkpoint at ${where}: no such file or directory`);
  if (existsSync(path.join(where, 'config.json')) && existsSync(path.join(where, 'model.safetensors'))) return where;
  const runDir = path.basename(where) === 'checkpoints' ? path.dirname(where) : where;
  const found = latestCheckpoint(runDir);
  if (!found) throw new CheckpointError(`no complete checkpoint in ${checkpointsDir(runDir)}`);
  return found;
}

/**
 * Writes a checkpoint for `data.config.step` under `<runDir>/checkpoints/`, updates `latest`, and
 * deletes all but the newest `keep` checkpoints (keep ≤ 0: keep all). Returns the directory.
 */
export function saveCheckpoint(runDir: string, data: CheckpointData, { keep = 0 } = {}): string {
  const root = checkpointsDir(runDir);
  mkdirSync(root, { recursive: true });
  for (const n of readdirSync(root)) if (n.startsWith('.tmp-') || n.startsWith('.old-')) rmSync(path.join(root, n), { recursive: true, force: true });
  const step = data.config.step;
  if (data.trainer.step !== step) throw new CheckpointError(`checkpoint step mismatch: config says ${step}, trainer state ${data.trainer.step}`);
  const name = stepDirName(step);
  const tmp = path.join(root, `.tmp-${name}-${process.pid}`);
  mkdirSync(tmp);
  try {
    const meta = { format: 'reg-ts', step: String(step) };
    writeFileAtomic(path.join(tmp, 'config.json'), `${JSON.stringify(data.config, null, 2)}\n`);
    saveSafetensors(path.join(tmp, 'model.safetensors'), data.model, { ...meta, content: 'model' });
    saveSafetensors(path.join(tmp, 'ema.safetensors'), data.ema, { ...meta, content: 'ema' });
    saveSafetensors(path.join(tmp, 'optimizer.safetensors'), data.optimizer, { ...meta, content: 'optimizer' });
    writeFileAtomic(path.join(tmp, 'trainer.json'), `${JSON.stringify(data.trainer, null, 2)}\n`);
    fsyncDir(tmp);
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
    for (const c of all.slice(0, Math.max(0, all.length - keep))) if (c.dir !== final) rmSync(c.dir, { recursive: true, force: true });
  }
  return final;
}

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new CheckpointError(`checkpoint is incomplete: ${file} is missing`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${file} is not valid JSON (${(e as Error).message}); the checkpoint is damaged`);
  }
}

/** Reads and checks config.json of a checkpoint directory (cheap: no tensors). */
export function readCheckpointConfig(dir: string): CheckpointConfig {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointError(`${dir} is not a checkpoint directory`);
  const c = readJson(path.join(dir, 'config.json')) as Partial<CheckpointConfig>;
  const file = path.join(dir, 'config.json');
  if (typeof c !== 'object' || c === null) throw new CheckpointError(`${file} must hold an object`);
  if (typeof c.model !== 'object' || c.model === null || typeof c.model.hiddenSize !== 'number') throw new CheckpointError(`${file} has no model configuration ('model')`);
  if (typeof c.train !== 'object' || c.train === null) throw new CheckpointError(`${file} has no training configuration ('train')`);
  if (!Number.isSafeInteger(c.step) || c.step! < 0) throw new CheckpointError(`${file} has no valid 'step'`);
  return c as CheckpointConfig;
}

function checkTrainerState(file: string, s: Partial<TrainerState>, step: number): TrainerState {
  const bad = (what: string): never => {
    throw new CheckpointError(`${file}: ${what}`);
  };
  if (s.format !== 'reg-ts/trainer@1') bad(`unknown format ${JSON.stringify(s.format)} (expected reg-ts/trainer@1)`);
  if (s.step !== step) bad(`step ${s.step} does not match config.json's step ${step}`);
  if (typeof s.rng !== 'object' || s.rng === null || !Array.isArray(s.rng.global)) bad('missing RNG states');
  if (typeof s.metrics !== 'object' || s.metrics === null || !Number.isSafeInteger(s.metrics.offset)) bad('missing metrics cursor');
  if (s.data === undefined) bad('missing data position');
  return s as TrainerState;
}

/** Loads and validates a whole checkpoint (tensors onto `device`). */
export function loadCheckpoint(dir: string, { device = 'cpu' as torch.Device } = {}): LoadedCheckpoint {
  const config = readCheckpointConfig(dir);
  for (const f of FILES) if (!existsSync(path.join(dir, f))) throw new CheckpointError(`checkpoint ${dir} is incomplete: ${f} is missing`);
  const trainer = checkTrainerState(path.join(dir, 'trainer.json'), readJson(path.join(dir, 'trainer.json')) as Partial<TrainerState>, config.step);
  const read = (f: string): Map<string, Tensor> => {
    try {
      return loadSafetensors(path.join(dir, f), { device }).tensors;
    } catch (e) {
      throw new CheckpointError(`cannot read ${path.join(dir, f)}: ${(e as Error).message}`);
    }
  };
  const model = read('model.safetensors');
  const ema = read('ema.safetensors');
  const optimizer = read('optimizer.safetensors');
  const missing = [...model.keys()].filter((k) => !ema.has(k));
  if (missing.length > 0) throw new CheckpointError(`${path.join(dir, 'ema.safetensors')} lacks ${missing.length} of the model's weights (first: ${missing[0]})`);
  return { dir, config, model, ema, optimizer, trainer };
}
