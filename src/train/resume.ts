/**
 * Resuming a run: which checkpoint, whether this configuration may continue it, and restoring model,
 * EMA, optimizer, loss scale, every generator's state and the counters from it, so that the resumed run
 * continues bit-exactly.
 */
import path from 'node:path';
import * as torch from '../torch/index.js';
import type { Device } from '../torch/index.js';
import { CheckpointError, latestCheckpoint, listCheckpoints, resolveCheckpoint } from '../models/checkpoint.js';
import type { SiTConfig } from '../models/configs.js';
import type { SiT } from '../models/sit.js';
import type { Optimizer } from './adamw.js';
import { decodeRng, loadCheckpoint, readTrainingConfig, type TrainerState } from './checkpoint.js';
import { SESSION_KEYS, type TrainConfig } from './config.js';
import type { Json } from './data.js';
import type { EMA } from './ema.js';
import type { DynamicLossScaler } from './precision.js';

/** Thrown when a checkpoint cannot be resumed with this configuration. */
export class ResumeError extends Error {
  override name = 'ResumeError';
}

/**
 * The checkpoint to continue from: none for a fresh run (which refuses a run directory that already
 * holds checkpoints), the run's latest for `resume: true`, else the checkpoint a path stands for.
 */
export function findResumeCheckpoint(runDir: string, resume: boolean | string | undefined): string | null {
  if (!resume) {
    const existing = listCheckpoints(runDir);
    if (existing.length > 0)
      throw new ResumeError(
        `${runDir} already holds checkpoints (newest: step ${existing.at(-1)!.step}); pass --resume to continue that run, or choose another --output-dir`,
      );
    return null;
  }
  const dir = resume === true ? latestCheckpoint(runDir) : resolveCheckpoint(resume);
  if (dir === null) throw new CheckpointError(`--resume: no checkpoint to resume in ${path.join(runDir, 'checkpoints')}`);
  return dir;
}

/** Model fields a resume may change: the attention kernel choice leaves the weights valid. */
const MODEL_FIELDS_FREE = new Set<keyof SiTConfig>(['name', 'fusedAttention']);

/** Throws a ResumeError when the checkpoint's model is not the one this configuration builds. */
function checkResumable(dir: string, saved: SiTConfig, wanted: SiTConfig): void {
  if (saved.zDims.join() !== wanted.zDims.join()) {
    throw new ResumeError(
      `encoder dimension mismatch: the checkpoint ${dir} was trained with encoder features of width ${saved.zDims.join(', ')}, ` +
        `this run has ${wanted.zDims.join(', ')} (--encoder-dim / the encoder of --data); use the checkpoint's encoder or start a new run`,
    );
  }
  const fields = [...new Set([...Object.keys(saved), ...Object.keys(wanted)] as (keyof SiTConfig)[])].filter(
    (f) => !MODEL_FIELDS_FREE.has(f),
  );
  const diff = fields
    .filter((f) => JSON.stringify(saved[f]) !== JSON.stringify(wanted[f]))
    .map((f) => `${f} ${JSON.stringify(saved[f])} → ${JSON.stringify(wanted[f])}`);
  if (diff.length > 0) throw new ResumeError(`the checkpoint ${dir} holds a different model (${saved.name ?? '?'}): ${diff.join(', ')}`);
}

/**
 * Checks that `cfg` may continue the checkpoint in `dir` (same model, else ResumeError) and warns about
 * changed settings that make the run differ from an uninterrupted one.
 */
export function checkResume(dir: string, cfg: TrainConfig, model: SiTConfig, log: (line: string) => void): void {
  const saved = readTrainingConfig(dir);
  checkResumable(dir, saved.model, model);
  const changed = (Object.keys(saved.train) as (keyof TrainConfig)[]).filter(
    (k) => !SESSION_KEYS.has(k) && k in cfg && JSON.stringify(saved.train[k]) !== JSON.stringify(cfg[k]),
  );
  if (changed.length > 0)
    log(
      `warning: resuming with changed settings (the run is then no longer bit-identical to an uninterrupted one): ${changed.map((k) => `${k} ${JSON.stringify(saved.train[k])} → ${JSON.stringify(cfg[k])}`).join(', ')}`,
    );
}

/** Where a run stands: the counters, the data source's position and the metrics cursor. */
export interface RunPosition {
  step: number;
  imagesSeen: number;
  trainSeconds: number;
  /** The batch source's position (null: its start). */
  data: Json;
  /** metrics.jsonl's cursor (undefined: a new file). */
  metrics: TrainerState['metrics'] | undefined;
  /** fp16 loss scaling state (null: none saved). */
  lossScaler: TrainerState['lossScaler'];
}

/** The position of a fresh run. */
export const START: Readonly<RunPosition> = Object.freeze({
  step: 0,
  imagesSeen: 0,
  trainSeconds: 0,
  data: null,
  metrics: undefined,
  lossScaler: null,
});

/** What {@link restoreCheckpoint} restores in place. */
export interface Restorable {
  model: SiT;
  ema: EMA;
  optimizer: Optimizer;
  scaler: DynamicLossScaler | null;
  device: Device;
}

/**
 * Loads the checkpoint in `dir` into the model, EMA, optimizer, loss scaler and the global generators and
 * returns where the run stands. (The objective's noise is drawn per sample from the seed, so it needs no
 * saved state; a trainer generator saved by an older version is not used.)
 */
export function restoreCheckpoint(dir: string, into: Restorable): RunPosition {
  const ck = loadCheckpoint(dir, { device: into.device });
  try {
    into.model.loadStateDict(ck.model);
    into.ema.loadStateDict(ck.ema);
    into.optimizer.loadStateDict(ck.optimizer);
  } catch (e) {
    throw new CheckpointError(`cannot resume from ${dir}: ${(e as Error).message}`);
  } finally {
    for (const m of [ck.model, ck.ema, ck.optimizer]) for (const t of m.values()) t.dispose();
  }
  const s = ck.trainer;
  torch.scope(() => {
    for (const g of s.rng.global) torch.setRngState(decodeRng(g), g.device as Device);
  });
  if (into.scaler && s.lossScaler) into.scaler.load(s.lossScaler);
  return {
    step: s.step,
    imagesSeen: s.imagesSeen,
    trainSeconds: s.trainSeconds,
    data: s.data,
    metrics: s.metrics,
    lossScaler: s.lossScaler,
  };
}
