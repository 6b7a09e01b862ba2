/**
 * The training loop of SiT + REG, in the manner of DiT's train.py; each phase is a function of its own:
 *
 *   setup        config → model (official init, seeded), EMA copy, AdamW, trainer RNG     ./run.ts
 *   resume       model, EMA, optimizer, RNG states, data position, metrics cursor       ./resume.ts
 *                from a checkpoint; then the data source and the run directory
 *   one step     forward and backward over the micro-batches → the step's gradients     ./step.ts
 *                → (fp16: unscale) → clip to maxGradNorm → AdamW → EMA → one metrics line
 *   checkpoint   every N steps, at the end, on the time budget or on an interrupt        ./run-files.ts
 *   teardown     close files and data source, free native memory                        ./run.ts
 *
 * The randomness of a step is a function of (seed, step, sample): dropout masks, times and noises are
 * drawn per sample (./step-noise.ts) and the data come from the source's position, which the checkpoint
 * stores. So `--resume` continues bit-exactly — the resumed loss curve equals the uninterrupted one — and
 * the curve does not depend on how many processes share the global batch (`options.group`).
 */
import { existsSync } from 'node:fs';
import type { ProcessGroup } from '../torch/distributed.js';
import { listCheckpoints } from '../models/checkpoint.js';
import { Progress } from '../util/progress.js';
import type { TrainConfig } from './config.js';
import type { StepMetrics } from './metrics.js';
import { closeRun, saveRunCheckpoint, setupRun, type TrainingRun } from './run.js';
import { metricsFileOf } from './run-files.js';
import { applyGradients, completeStep, forwardBackward } from './step.js';
import { reduceNumbers } from '../torch/distributed-values.js';

/** Options of {@link train} beyond the configuration. */
export interface TrainOptions {
  /** Continue from a checkpoint: true for the run's latest, or a checkpoint / run directory. */
  resume?: boolean | string;
  /** Aborting it makes the loop stop after the current step, with a checkpoint. */
  signal?: AbortSignal;
  /** Human-readable messages (default: stderr). */
  log?: (line: string) => void;
  /** Called after every step with its metrics. */
  onStep?: (m: StepMetrics) => void;
  /**
   * Called on rank 0 after each checkpoint is written, with its directory, before training goes on
   * (`reg train` draws the checkpoint's sample grid there, pipelines/checkpoint-grid.ts).
   */
  onCheckpoint?: (checkpointDir: string) => Promise<unknown> | void;
  /**
   * Train data-parallel over this c10d group: each rank takes its slice of every global batch; rank 0
   * writes the run directory (the other ranks log nothing).
   */
  group?: ProcessGroup;
}

/** Why a run ended. */
export type StopReason = 'done' | 'time-budget' | 'interrupted';

/** What {@link train} returns. */
export interface TrainResult {
  /** Steps completed in total. */
  step: number;
  reason: StopReason;
  /** The checkpoint written last (null when none was written, and on ranks other than 0). */
  checkpoint: string | null;
  metricsFile: string;
}

/** Lets signal handlers and other events run (a source's next() may never leave the microtask queue). */
const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether the run stops after this step: its time budget would be exceeded by one more step, or an interrupt came. */
function stopReason(run: TrainingRun, stepSeconds: number, sessionStart: number, signal: AbortSignal | undefined): StopReason {
  const { cfg } = run;
  if (run.step >= cfg.maxTrainSteps) return 'done';
  if (signal?.aborted) return 'interrupted';
  const elapsed = (performance.now() - sessionStart) / 1000;
  return cfg.timeBudget > 0 && elapsed + stepSeconds > cfg.timeBudget ? 'time-budget' : 'done';
}

const STOP_REASONS: readonly StopReason[] = ['done', 'time-budget', 'interrupted'];

/** The ranks stop together: an interrupt or a spent time budget on any rank stops them all. */
async function agreeOnStop(run: TrainingRun, reason: StopReason): Promise<StopReason> {
  if (!run.group) return reason;
  const [code] = await reduceNumbers(run.group, [STOP_REASONS.indexOf(reason)], 'max');
  return STOP_REASONS[code!]!;
}

/** A checkpoint is due every checkpointingSteps steps, at the last step, and when the run stops early. */
const checkpointDue = (run: TrainingRun, reason: StopReason): boolean =>
  run.step % run.cfg.checkpointingSteps === 0 || run.step === run.cfg.maxTrainSteps || reason !== 'done';

/**
 * Trains a SiT/REG model as `config` describes, writing metrics and checkpoints under
 * `config.outputDir`. Resolves when the run stops (done, time budget, interrupt); rejects on errors
 * (a non-finite loss, a bad checkpoint, a missing dataset) without saving a checkpoint for the failing step.
 */
export async function train(config: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  const lead = (opts.group?.rank ?? 0) === 0;
  const log = lead ? (opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`))) : () => undefined;
  const run = await setupRun(config, opts.resume, log, opts.group ?? null);
  const { cfg } = run;
  const progress =
    cfg.progress && lead
      ? new Progress('train', cfg.maxTrainSteps, {
          unit: 'steps',
          initial: run.step,
          ...(cfg.timeBudget > 0 ? { budgetSeconds: cfg.timeBudget } : {}),
        })
      : null;
  const sessionStart = performance.now();
  let reason: StopReason = 'done';
  try {
    while (run.step < cfg.maxTrainSteps) {
      const t0 = performance.now();
      const { losses, times } = await forwardBackward(run); // the step's gradients are ready here
      const update = applyGradients(run, losses);
      const record = completeStep(run, losses, update, t0, times);
      run.files?.logStep(record);
      opts.onStep?.(record);
      progress?.tick(1, `loss ${record.loss.toFixed(4)} ${record.imagesPerSec.toFixed(1)} img/s ${record.gflops.toFixed(0)} GFLOP/s`);

      await yieldToEventLoop();
      reason = await agreeOnStop(run, stopReason(run, record.stepSeconds, sessionStart, opts.signal));
      if (checkpointDue(run, reason)) {
        run.lastCheckpoint = saveRunCheckpoint(run);
        if (run.lastCheckpoint) await opts.onCheckpoint?.(run.lastCheckpoint);
      }
      if (reason !== 'done') break;
    }
  } finally {
    await closeRun(run);
  }
  if (reason === 'time-budget') log(`time budget of ${cfg.timeBudget}s reached at step ${run.step}; checkpoint ${run.lastCheckpoint}`);
  if (reason === 'interrupted') log(`interrupted at step ${run.step}; checkpoint ${run.lastCheckpoint} (continue with --resume)`);
  return { step: run.step, reason, checkpoint: run.lastCheckpoint, metricsFile: metricsFileOf(cfg.outputDir) };
}

/** True when `dir` holds a run with at least one checkpoint. */
export function hasCheckpoints(runDir: string): boolean {
  return existsSync(runDir) && listCheckpoints(runDir).length > 0;
}
