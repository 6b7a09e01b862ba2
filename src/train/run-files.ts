/**
 * Everything a training run writes into its directory, in one place:
 *
 *   <run>/config.json     {train: TrainConfig, model: SiTConfig, regTs}
 *   <run>/metrics.jsonl   one line per step (./metrics.ts)
 *   <run>/checkpoints/    one checkpoint per saved step (./checkpoint.ts)
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Tensor } from '../torch/index.js';
import type { SiTConfig } from '../models/configs.js';
import { removeCheckpointLeftovers } from '../models/checkpoint.js';
import { regTsVersion } from '../util/version.js';
import { writeFileAtomic } from '../util/atomic.js';
import { saveCheckpoint, type TrainerState } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { MetricsLog, type MetricsCursor, type StepMetrics } from './metrics.js';

/** The state of one step that a checkpoint saves (the metrics cursor is the run files' own). */
export interface StepState {
  model: ReadonlyMap<string, Tensor>;
  ema: ReadonlyMap<string, Tensor>;
  optimizer: ReadonlyMap<string, Tensor>;
  trainer: Omit<TrainerState, 'format' | 'metrics'>;
}

/** `<run>/metrics.jsonl`. */
export const metricsFileOf = (runDir: string): string => path.join(runDir, 'metrics.jsonl');

/** The writer of a run directory: its config.json, metrics.jsonl and checkpoints. */
export class RunFiles {
  readonly #metrics: MetricsLog;

  /**
   * Creates the run directory, (re)writes its config.json, removes what a killed run left in its
   * checkpoints folder and opens metrics.jsonl (cut back to `metricsCursor` when resuming).
   */
  constructor(
    readonly dir: string,
    readonly config: { train: TrainConfig; model: SiTConfig },
    metricsCursor?: Pick<MetricsCursor, 'offset' | 'lines'>,
  ) {
    mkdirSync(dir, { recursive: true });
    removeCheckpointLeftovers(dir);
    writeFileAtomic(path.join(dir, 'config.json'), `${JSON.stringify({ ...config, regTs: regTsVersion() }, null, 2)}\n`);
    this.#metrics = new MetricsLog(metricsFileOf(dir), metricsCursor);
  }

  /** metrics.jsonl. */
  get metricsFile(): string {
    return this.#metrics.file;
  }

  /** Appends one step's metrics. */
  logStep(record: StepMetrics): void {
    this.#metrics.write(record);
  }

  /** Writes the checkpoint of step `state.trainer.step` (keeping the newest `keepCheckpoints`); returns its directory. */
  saveCheckpoint(state: StepState): string {
    const { train, model } = this.config;
    const trainer: TrainerState = { format: 'reg-ts/trainer@1', ...state.trainer, metrics: this.#metrics.cursor() };
    return saveCheckpoint(
      this.dir,
      {
        config: { model, train, regTs: regTsVersion(), step: trainer.step },
        model: state.model,
        ema: state.ema,
        optimizer: state.optimizer,
        trainer,
      },
      { keep: train.keepCheckpoints },
    );
  }

  close(): void {
    this.#metrics.close();
  }
}
