/**
 * A training run's state, its setup (model, EMA, optimizer, generators, data, run directory; resumed from
 * a checkpoint when asked) and its teardown.
 */
import * as torch from '../torch/index.js';
import type { Device, DType, Tensor } from '../torch/index.js';
import { createSiT, type SiTConfig } from '../models/configs.js';
import type { SiT } from '../models/sit.js';
import { adamw, type Optimizer } from './adamw.js';
import { encodeRng } from './checkpoint.js';
import { modelConfigOf, type TrainConfig, validateTrainConfig } from './config.js';
import { createSource, mixSeed, type BatchSource } from './data.js';
import { EMA } from './ema.js';
import { trainStepFlops } from './flops.js';
import { autocastDtype, DynamicLossScaler } from './precision.js';
import { checkResume, findResumeCheckpoint, restoreCheckpoint, START } from './resume.js';
import { RunFiles, type StepState } from './run-files.js';
import { makeSchedule, type Schedule } from './schedule.js';

/** Stream number of the trainer's generator in mixSeed. */
const TRAINER_STREAM = 0x7a1e;

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
  /** The trainer's own generator: label-dropout masks, times and noises. */
  readonly rng: torch.Generator;
  readonly source: BatchSource;
  /** The only writer of the run directory. */
  readonly files: RunFiles;
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
): Promise<TrainingRun> {
  const cfg = validateTrainConfig({ ...config });
  const device = cfg.device as Device;
  if (device !== 'cpu' && !torch.cudaAvailable()) throw new Error(`device '${device}' requested but libtorch sees no CUDA device`);
  if (cfg.threads > 0) torch.setNumThreads(cfg.threads);
  const amp = autocastDtype(cfg.mixedPrecision, device);
  const resumeDir = findResumeCheckpoint(cfg.outputDir, resume);
  const modelConfig = modelConfigOf(cfg);
  if (resumeDir) checkResume(resumeDir, cfg, modelConfig, log);

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
  const rng = new torch.Generator(mixSeed(cfg.seed, TRAINER_STREAM), device);
  const at = resumeDir ? restoreCheckpoint(resumeDir, { model, ema, optimizer, rng, scaler, device }) : START;
  if (resumeDir) log(`resuming from ${resumeDir} (step ${at.step})`);

  const microBatch = cfg.batchSize / cfg.gradientAccumulationSteps;
  const source = await createSource(cfg.data, { config: cfg, model: modelConfig, microBatch, device, start: at.data });
  const files = new RunFiles(cfg.outputDir, { train: cfg, model: modelConfig }, at.metrics);
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
    rng,
    source,
    files,
    stepFlops: trainStepFlops(modelConfig, cfg.batchSize),
    step: at.step,
    imagesSeen: at.imagesSeen,
    trainSeconds: at.trainSeconds,
    lastCheckpoint: resumeDir,
  };
  log(
    `training ${modelConfig.name} (${modelConfig.variant}, ${(model.numParameters() / 1e6).toFixed(2)}M parameters) on ${source.name}; ` +
      `batch ${cfg.batchSize}${cfg.gradientAccumulationSteps > 1 ? ` (${cfg.gradientAccumulationSteps}×${microBatch})` : ''}, ${device}, ${amp ?? 'float32'}, ${torch.getNumThreads()} threads; ` +
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
        generators: { trainer: encodeRng(device, run.rng.getState()) },
      },
      lossScaler: run.scaler?.state() ?? null,
      imagesSeen: run.imagesSeen,
      trainSeconds: run.trainSeconds,
    },
  };
}

/** Writes a checkpoint of the run's current step; returns its directory. */
export function saveRunCheckpoint(run: TrainingRun): string {
  return torch.scope(() => run.files.saveCheckpoint(stepState(run)));
}

/** Closes the run's files and data source and frees its native memory (the weights live on in the checkpoints). */
export async function closeRun(run: TrainingRun): Promise<void> {
  run.files.close();
  await run.source.close();
  run.optimizer.dispose();
  run.ema.dispose();
  run.model.dispose();
}
