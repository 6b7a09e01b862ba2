/**
 * A training run's state, its setup (model, EMA, optimizer, data, run directory; resumed from a checkpoint
 * when asked) and its teardown. In a data-parallel run (a c10d group of W processes) rank 0 alone reads
 * the checkpoint and writes the run directory; the others receive its weights, EMA, optimizer state and
 * position by broadcast, so they need no access to the run directory at all.
 */
import * as torch from '../torch/index.js';
import type { Device, DType, Tensor } from '../torch/index.js';
import { createSiT, type SiTConfig } from '../models/configs.js';
import type { SiT } from '../models/sit.js';
import { adamw, type Optimizer } from './adamw.js';
import type { ProcessGroup } from '../torch/distributed.js';
import { encodeRng } from './checkpoint.js';
import { ConfigError, modelConfigOf, type TrainConfig, validateTrainConfig } from './config.js';
import { createSource, type BatchSource } from './data.js';
import { broadcastJson } from '../torch/distributed-values.js';
import { broadcastState, GradientReducer } from './data-parallel.js';
import { EMA } from './ema.js';
import { trainStepFlops } from './flops.js';
import { autocastDtype, DynamicLossScaler } from './precision.js';
import { checkResume, findResumeCheckpoint, restoreCheckpoint, START } from './resume.js';
import { RunFiles, type StepState } from './run-files.js';
import { makeSchedule, type Schedule } from './schedule.js';

/** Everything a training run holds while it runs. */
export interface TrainingRun {
  readonly cfg: TrainConfig;
  readonly device: Device;
  /** Autocast dtype (null: float32 throughout). */
  readonly amp: DType | null;
  readonly modelConfig: SiTConfig;
  readonly model: SiT;
  readonly ema: EMA;
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  /** The trained parameters, in the optimizer's order. */
  readonly params: Tensor[];
  /** fp16 dynamic loss scaling, or null. */
  readonly scaler: DynamicLossScaler | null;
  readonly source: BatchSource;
  /** The only writer of the run directory (rank 0's; null on the other ranks). */
  readonly files: RunFiles | null;
  /** The data-parallel group (null: one process). */
  readonly group: ProcessGroup | null;
  /** Averages the gradients over the group (null: one process). */
  readonly reducer: GradientReducer | null;
  /** Analytic FLOPs of one optimizer step. */
  readonly stepFlops: number;
  /** Optimizer steps completed. */
  step: number;
  imagesSeen: number;
  /** Seconds spent in steps so far (all sessions). */
  trainSeconds: number;
  /** The checkpoint written last, or resumed from (null: none yet). */
  lastCheckpoint: string | null;
}

/**
 * Sets a run up as `config` describes, in the official order (seed, model, EMA copy, AdamW), then
 * restores it from a checkpoint when `resume` asks (see {@link findResumeCheckpoint}), then opens the data
 * source at the run's position and the run directory.
 */
export async function setupRun(
  config: TrainConfig,
  resume: boolean | string | undefined,
  log: (line: string) => void,
  group: ProcessGroup | null = null,
): Promise<TrainingRun> {
  const cfg = validateTrainConfig({ ...config });
  const world = group?.worldSize ?? 1;
  const lead = (group?.rank ?? 0) === 0;
  if (cfg.batchSize % (cfg.gradientAccumulationSteps * world) !== 0)
    throw new ConfigError(
      `batchSize ${cfg.batchSize} must be divisible by gradientAccumulationSteps × processes = ${cfg.gradientAccumulationSteps} × ${world}`,
    );
  const device = cfg.device as Device;
  if (device !== 'cpu' && !torch.cudaAvailable()) throw new Error(`device '${device}' requested but libtorch sees no CUDA device`);
  if (cfg.threads > 0) torch.setNumThreads(cfg.threads);
  const amp = autocastDtype(cfg.mixedPrecision, device);
  const modelConfig = modelConfigOf(cfg);
  let resumeDir = lead ? findResumeCheckpoint(cfg.outputDir, resume) : null;
  if (resumeDir) checkResume(resumeDir, cfg, modelConfig, log);
  if (group) resumeDir = await agreeOnRun(group, cfg, resumeDir);

  torch.manualSeed(cfg.seed);
  const model: SiT = createSiT(modelConfig, {}, { device });
  model.train();
  const ema = new EMA(model, cfg.emaDecay);
  const schedule = makeSchedule({
    lr: cfg.learningRate,
    schedule: cfg.lrSchedule,
    warmupSteps: cfg.warmupSteps,
    totalSteps: cfg.maxTrainSteps,
    minLr: cfg.minLearningRate,
  });
  const optimizer = adamw(model.namedParameters(), {
    lr: schedule,
    beta1: cfg.adamBeta1,
    beta2: cfg.adamBeta2,
    eps: cfg.adamEpsilon,
    weightDecay: cfg.adamWeightDecay,
  });
  const scaler = amp === 'float16' ? new DynamicLossScaler() : null;
  let at = lead && resumeDir ? restoreCheckpoint(resumeDir, { model, ema, optimizer, scaler, device }) : START;
  if (resumeDir) log(`resuming from ${resumeDir} (step ${at.step})`);
  if (group) {
    // DDP's start: every rank takes rank 0's weights (and, resuming, its EMA, optimizer state and position)
    for (const holder of [model, ema, optimizer]) await broadcastState(group, holder);
    at = await broadcastJson(group, at);
    if (!lead && scaler && at.lossScaler) scaler.load(at.lossScaler);
  }

  const microBatch = cfg.batchSize / cfg.gradientAccumulationSteps / world;
  const source = await createSource(cfg.data, {
    config: cfg,
    model: modelConfig,
    microBatch,
    device,
    start: at.data,
    ...(group ? { shard: { rank: group.rank, worldSize: world } } : {}),
  });
  const files = lead ? new RunFiles(cfg.outputDir, { train: cfg, model: modelConfig }, at.metrics) : null;
  const run: TrainingRun = {
    cfg,
    device,
    amp,
    modelConfig,
    model,
    ema,
    optimizer,
    schedule,
    params: optimizer.params.map(([, p]) => p),
    scaler,
    source,
    files,
    group,
    reducer: group
      ? new GradientReducer(
          group,
          optimizer.params.map(([, p]) => p),
        )
      : null,
    stepFlops: trainStepFlops(modelConfig, cfg.batchSize),
    step: at.step,
    imagesSeen: at.imagesSeen,
    trainSeconds: at.trainSeconds,
    lastCheckpoint: resumeDir,
  };
  log(
    `training ${modelConfig.name} (${modelConfig.variant}, ${(model.numParameters() / 1e6).toFixed(2)}M parameters) on ${source.name}; ` +
      `batch ${cfg.batchSize}${world > 1 || cfg.gradientAccumulationSteps > 1 ? ` (${world > 1 ? `${world} processes × ` : ''}${cfg.gradientAccumulationSteps}×${microBatch})` : ''}, ${device}, ${amp ?? 'float32'}, ${torch.getNumThreads()} threads; ` +
      `steps ${run.step} → ${cfg.maxTrainSteps}; ${(run.stepFlops / 1e9).toFixed(1)} GFLOP/step; run dir ${cfg.outputDir}`,
  );
  return run;
}

/** The state a checkpoint of the run's current step saves: weights, EMA, optimizer, generators, position. */
function stepState(run: TrainingRun): StepState {
  const { device } = run;
  return {
    model: run.model.stateDict(),
    ema: run.ema.stateDict(),
    optimizer: run.optimizer.stateDict(),
    trainer: {
      step: run.step,
      data: run.source.position(),
      rng: {
        global: [encodeRng('cpu', torch.getRngState('cpu')), ...(device === 'cpu' ? [] : [encodeRng(device, torch.getRngState(device))])],
        generators: {},
      },
      lossScaler: run.scaler?.state() ?? null,
      imagesSeen: run.imagesSeen,
      trainSeconds: run.trainSeconds,
    },
  };
}

/** Writes a checkpoint of the run's current step (rank 0; the others write nothing); returns its directory. */
export function saveRunCheckpoint(run: TrainingRun): string | null {
  const { files } = run;
  return files ? torch.scope(() => files.saveCheckpoint(stepState(run))) : null;
}

/** The settings every rank must share (the device differs: each rank takes its own GPU). */
const sharedSettings = (cfg: TrainConfig): string => JSON.stringify({ ...cfg, device: cfg.device.replace(/:\d+$/, '') });

/**
 * Rank 0 tells every rank which checkpoint the run continues from; a rank started with other settings
 * than rank 0 is an error (a different command line on one machine would silently train another model).
 */
async function agreeOnRun(group: ProcessGroup, cfg: TrainConfig, resumeDir: string | null): Promise<string | null> {
  const lead = await broadcastJson(group, { resumeDir, settings: sharedSettings(cfg) });
  if (lead.settings !== sharedSettings(cfg)) {
    const theirs = JSON.parse(lead.settings) as Record<string, unknown>;
    const diff = Object.keys(theirs)
      .filter((k) => JSON.stringify(theirs[k]) !== JSON.stringify((cfg as unknown as Record<string, unknown>)[k]))
      .map(
        (k) =>
          `${k}: rank 0 ${JSON.stringify(theirs[k])}, rank ${group.rank} ${JSON.stringify((cfg as unknown as Record<string, unknown>)[k])}`,
      );
    throw new ConfigError(`rank ${group.rank} was started with other settings than rank 0 (${diff.join('; ')})`);
  }
  return lead.resumeDir;
}

/** Closes the run's files and data source and frees its native memory (the weights live on in the checkpoints). */
export async function closeRun(run: TrainingRun): Promise<void> {
  run.files?.close();
  await run.source.close();
  run.optimizer.dispose();
  run.ema.dispose();
  run.model.dispose();
}
