/**
 * Training checkpoints: the reg-ts checkpoint directory (../models/checkpoint.ts: format, writer,
 * resolver of runs and `latest`) with everything the trainer needs to continue a run exactly:
 *
 *   config.json            also {train: TrainConfig, regTs: version, step}
 *   optimizer.safetensors  AdamW state: <param>.exp_avg, <param>.exp_avg_sq, <param>.step, __step__
 *   trainer.json           step, data position, RNG states, metrics cursor, loss scale, counters
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import {
  CHECKPOINT_FILES,
  CheckpointError,
  readCheckpointConfig,
  readCheckpointJson,
  readCheckpointState,
  resolveCheckpoint,
  writeRunCheckpoint,
  type CheckpointConfig,
} from '../models/checkpoint.js';
import type { SiTConfig } from '../models/configs.js';
import type { TrainConfig } from './config.js';
import type { Json } from './data.js';

/** config.json of a training checkpoint. */
export interface TrainingCheckpointConfig extends CheckpointConfig {
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
  config: Pick<TrainingCheckpointConfig, 'model' | 'train' | 'regTs' | 'step'>;
  model: ReadonlyMap<string, Tensor>;
  ema: ReadonlyMap<string, Tensor>;
  optimizer: ReadonlyMap<string, Tensor>;
  trainer: TrainerState;
}

/** A loaded checkpoint and where it came from. */
export interface LoadedCheckpoint extends CheckpointData {
  dir: string;
  config: TrainingCheckpointConfig;
  model: Map<string, Tensor>;
  ema: Map<string, Tensor>;
  optimizer: Map<string, Tensor>;
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

/**
 * Writes the checkpoint of step `data.config.step` under `<runDir>/checkpoints/`, updates `latest`, and
 * deletes all but the newest `keep` checkpoints (keep ≤ 0: keep all). Returns the directory.
 */
export function saveCheckpoint(runDir: string, data: CheckpointData, { keep = 0 } = {}): string {
  const { model, train, regTs, step } = data.config;
  if (data.trainer.step !== step)
    throw new CheckpointError(`checkpoint step mismatch: config says ${step}, trainer state ${data.trainer.step}`);
  return writeRunCheckpoint(
    runDir,
    { config: model, model: data.model, ema: data.ema, optimizer: data.optimizer, trainer: data.trainer, step, extra: { train, regTs } },
    { keep },
  );
}

/** Reads and checks config.json of a training checkpoint (or of a run's latest; cheap: no tensors). */
export function readTrainingConfig(where: string): TrainingCheckpointConfig {
  const c = readCheckpointConfig(where);
  const file = path.join(resolveCheckpoint(where), CHECKPOINT_FILES.config);
  if (typeof c.model.hiddenSize !== 'number') throw new CheckpointError(`${file} has no model configuration ('model')`);
  if (typeof c.train !== 'object' || c.train === null) throw new CheckpointError(`${file} has no training configuration ('train')`);
  if (!Number.isSafeInteger(c.step) || c.step! < 0) throw new CheckpointError(`${file} has no valid 'step'`);
  return c as TrainingCheckpointConfig;
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

/** Loads and validates a whole training checkpoint (tensors onto `device`). */
export function loadCheckpoint(dir: string, { device = 'cpu' as torch.Device } = {}): LoadedCheckpoint {
  const config = readTrainingConfig(dir);
  for (const f of Object.values(CHECKPOINT_FILES))
    if (!existsSync(path.join(dir, f))) throw new CheckpointError(`checkpoint ${dir} is incomplete: ${f} is missing`);
  const file = path.join(dir, CHECKPOINT_FILES.trainer);
  const trainer = checkTrainerState(file, readCheckpointJson(file) as Partial<TrainerState>, config.step);
  const model = readCheckpointState(dir, 'model', { device });
  const ema = readCheckpointState(dir, 'ema', { device });
  const optimizer = readCheckpointState(dir, 'optimizer', { device });
  const missing = [...model.keys()].filter((k) => !ema.has(k));
  if (missing.length > 0)
    throw new CheckpointError(
      `${path.join(dir, CHECKPOINT_FILES.ema)} lacks ${missing.length} of the model's weights (first: ${missing[0]})`,
    );
  return { dir, config, model, ema, optimizer, trainer };
}
