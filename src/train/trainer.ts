/**
 * The training loop of SiT + REG, readable top to bottom (in the manner of DiT's train.py):
 *
 *   setup        config → model (official init, seeded), EMA copy, AdamW, trainer RNG, data source
 *   resume       model, EMA, optimizer, RNG states, data position, metrics cursor from a checkpoint
 *   each step    for each micro-batch: label-dropout mask, t and noise from the trainer RNG;
 *                REG loss under autocast; backward of loss/accumulation
 *                → stop on a non-finite loss → (fp16: unscale) → clip to maxGradNorm → AdamW → EMA
 *                → one metrics line → checkpoint every N steps, at the end, on the time budget or on
 *                an interrupt
 *
 * All randomness of a step comes from generators whose states the checkpoint stores (the trainer's
 * own Generator for dropout masks, times and noises; the global generators; the data source's
 * position), so `--resume` continues bit-exactly: the resumed loss curve equals the uninterrupted one.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import * as torch from '../torch/index.js';
import type { Device, Tensor } from '../torch/index.js';
import { createSiT, type SiTConfig } from '../models/configs.js';
import type { SiT } from '../models/sit.js';
import { regLoss } from '../diffusion/objective.js';
import { regTsVersion } from '../util/version.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import { adamw } from './adamw.js';
import { clipGradNorm_, gradNorm as totalGradNorm } from './clip.js';
import { CheckpointError, decodeRng, encodeRng, latestCheckpoint, listCheckpoints, loadCheckpoint, readCheckpointConfig, resolveCheckpoint, saveCheckpoint, type TrainerState } from './checkpoint.js';
import { modelConfigOf, type TrainConfig, validateTrainConfig } from './config.js';
import { createSource, mixSeed, type BatchSource, type Json, type TrainBatch } from './data.js';
import { EMA } from './ema.js';
import { trainStepFlops } from './flops.js';
import { MetricsLog, type StepMetrics } from './metrics.js';
import { autocastDtype, DynamicLossScaler, maybeAutocast } from './precision.js';
import { makeSchedule } from './schedule.js';

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
}

/** Why a run ended. */
export type StopReason = 'done' | 'time-budget' | 'interrupted';

/** What {@link train} returns. */
export interface TrainResult {
  /** Steps completed in total. */
  step: number;
  reason: StopReason;
  /** The checkpoint written last (null when none was written). */
  checkpoint: string | null;
  metricsFile: string;
}

/** Thrown when the loss or the gradient norm stops being finite; nothing is saved at that step. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

/** Thrown when a checkpoint cannot be resumed with this configuration. */
export class ResumeError extends Error {
  override name = 'ResumeError';
}

/** Stream number of the trainer's generator in mixSeed. */
const TRAINER_STREAM = 0x7a1e;

/** Model fields whose change makes a checkpoint unusable, with how to explain them. */
function checkResumable(dir: string, saved: SiTConfig, wanted: SiTConfig): void {
  if (saved.zDims.join() !== wanted.zDims.join()) {
    throw new ResumeError(
      `encoder dimension mismatch: the checkpoint ${dir} was trained with encoder features of width ${saved.zDims.join(', ')}, ` +
        `this run has ${wanted.zDims.join(', ')} (--encoder-dim / the encoder of --data); use the checkpoint's encoder or start a new run`,
    );
  }
  const fields = ['hiddenSize', 'depth', 'numHeads', 'patchSize', 'mlpRatio', 'inputSize', 'inChannels', 'numClasses', 'variant', 'entangledSignal', 'encoderDepth', 'projectorDim', 'classDropoutProb'] as const;
  const diff = fields.filter((f) => saved[f] !== wanted[f]).map((f) => `${f} ${JSON.stringify(saved[f])} → ${JSON.stringify(wanted[f])}`);
  if (diff.length > 0) throw new ResumeError(`the checkpoint ${dir} holds a different model (${saved.name ?? '?'}): ${diff.join(', ')}`);
}

/** Settings that may change between sessions without affecting the computation. */
const SESSION_KEYS = new Set<keyof TrainConfig>(['maxTrainSteps', 'timeBudget', 'checkpointingSteps', 'keepCheckpoints', 'progress', 'outputDir', 'threads', 'dataDir']);

function disposeBatch(b: TrainBatch): void {
  b.x.dispose();
  b.y.dispose();
  b.clsTarget?.dispose();
  b.alignTarget?.dispose();
}

function toDevice(b: TrainBatch, device: Device): TrainBatch {
  const mv = (t: Tensor | null): Tensor | null => {
    if (t === null || t.device === device) return t;
    const moved = t.to({ device });
    t.dispose();
    return moved;
  };
  return { x: mv(b.x)!, y: mv(b.y)!, clsTarget: mv(b.clsTarget), alignTarget: mv(b.alignTarget) };
}

/** Adds a hint to libtorch's dtype errors under autocast (libtorch 1.13's CPU LayerNorm rejects mixed dtypes). */
function withPrecisionHint<T>(amp: torch.DType | null, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (amp !== null && /expected scalar type (BFloat16|Half) but found Float/.test((e as Error).message)) {
      throw new Error(
        `${(e as Error).message} — under ${amp} autocast an operator got mixed input/weight dtypes (libtorch ${torch.buildInfo().libtorch}'s CPU layer_norm does not ` +
          `accept bfloat16 input with float32 weights, as in REG's class-token LayerNorm wg_norm); use --mixed-precision no, or a libtorch ≥ 2.0`,
      );
    }
    throw e;
  }
}

/**
 * Trains a SiT/REG model as `config` describes, writing metrics and checkpoints under
 * `config.outputDir`. Resolves when the run stops (done, time budget, interrupt); rejects on errors
 * (a non-finite loss, a bad checkpoint, a missing dataset) without saving a checkpoint for the failing step.
 */
export async function train(config: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const cfg = validateTrainConfig({ ...config });
  const device = cfg.device as Device;
  if (device !== 'cpu' && !torch.cudaAvailable()) throw new Error(`device '${device}' requested but libtorch sees no CUDA device`);
  if (cfg.threads > 0) torch.setNumThreads(cfg.threads);
  const amp = autocastDtype(cfg.mixedPrecision, device);
  const runDir = cfg.outputDir;

  // ---------------------------------------------------------------------------------------------
  // Where to start: a fresh run, or a checkpoint whose model matches this configuration
  // ---------------------------------------------------------------------------------------------
  let resumeDir: string | null = null;
  if (opts.resume) {
    resumeDir = opts.resume === true ? latestCheckpoint(runDir) : resolveCheckpoint(opts.resume);
    if (resumeDir === null) throw new CheckpointError(`--resume: no checkpoint to resume in ${path.join(runDir, 'checkpoints')}`);
  } else if (listCheckpoints(runDir).length > 0) {
    throw new ResumeError(`${runDir} already holds checkpoints (newest: step ${listCheckpoints(runDir).at(-1)!.step}); pass --resume to continue that run, or choose another --output-dir`);
  }
  const modelConfig = modelConfigOf(cfg);
  if (resumeDir) {
    const saved = readCheckpointConfig(resumeDir);
    checkResumable(resumeDir, saved.model, modelConfig);
    const changed = (Object.keys(saved.train) as (keyof TrainConfig)[]).filter((k) => !SESSION_KEYS.has(k) && k in cfg && JSON.stringify(saved.train[k]) !== JSON.stringify(cfg[k]));
    if (changed.length > 0) log(`warning: resuming with changed settings (the run is then no longer bit-identical to an uninterrupted one): ${changed.map((k) => `${k} ${JSON.stringify(saved.train[k])} → ${JSON.stringify(cfg[k])}`).join(', ')}`);
  }

  // ---------------------------------------------------------------------------------------------
  // Model, EMA, optimizer, RNG (official order: seed, model, EMA copy, AdamW)
  // ---------------------------------------------------------------------------------------------
  torch.manualSeed(cfg.seed);
  const model: SiT = createSiT(modelConfig, {}, { device });
  model.train();
  const ema = new EMA(model, cfg.emaDecay);
  const schedule = makeSchedule({ lr: cfg.learningRate, schedule: cfg.lrSchedule, warmupSteps: cfg.warmupSteps, totalSteps: cfg.maxTrainSteps, minLr: cfg.minLearningRate });
  const optimizer = adamw(model.namedParameters(), { lr: schedule, beta1: cfg.adamBeta1, beta2: cfg.adamBeta2, eps: cfg.adamEpsilon, weightDecay: cfg.adamWeightDecay });
  const params = optimizer.params.map(([, p]) => p);
  const scaler = amp === 'float16' ? new DynamicLossScaler() : null;
  const rng = new torch.Generator(mixSeed(cfg.seed, TRAINER_STREAM), device);

  let step = 0;
  let imagesSeen = 0;
  let trainSeconds = 0;
  let dataPosition: Json = null;
  let metricsCursor: TrainerState['metrics'] | undefined;
  if (resumeDir) {
    const ck = loadCheckpoint(resumeDir, { device });
    try {
      model.loadStateDict(ck.model);
      ema.loadStateDict(ck.ema);
      optimizer.loadStateDict(ck.optimizer);
    } catch (e) {
      throw new CheckpointError(`cannot resume from ${resumeDir}: ${(e as Error).message}`);
    } finally {
      for (const m of [ck.model, ck.ema, ck.optimizer]) for (const t of m.values()) t.dispose();
    }
    const s = ck.trainer;
    const own = s.rng.generators.trainer;
    if (!own) throw new CheckpointError(`${resumeDir}/trainer.json has no state for the trainer's generator`);
    torch.scope(() => {
      for (const g of s.rng.global) torch.setRngState(decodeRng(g), g.device as Device);
      rng.setState(decodeRng(own));
    });
    if (scaler && s.lossScaler) scaler.load(s.lossScaler);
    ({ step, imagesSeen, trainSeconds } = s);
    dataPosition = s.data;
    metricsCursor = s.metrics;
    log(`resuming from ${resumeDir} (step ${step})`);
  }

  // ---------------------------------------------------------------------------------------------
  // Data, run directory, metrics
  // ---------------------------------------------------------------------------------------------
  const accum = cfg.gradientAccumulationSteps;
  const microBatch = cfg.batchSize / accum;
  const source: BatchSource = await createSource(cfg.data, { config: cfg, model: modelConfig, microBatch, device, start: dataPosition });
  mkdirSync(runDir, { recursive: true });
  writeFileAtomic(path.join(runDir, 'config.json'), `${JSON.stringify({ train: cfg, model: modelConfig, regTs: regTsVersion() }, null, 2)}\n`);
  const metrics = new MetricsLog(path.join(runDir, 'metrics.jsonl'), metricsCursor);
  const stepFlops = trainStepFlops(modelConfig, cfg.batchSize);
  log(
    `training ${modelConfig.name} (${modelConfig.variant}, ${(model.numParameters() / 1e6).toFixed(2)}M parameters) on ${source.name}; ` +
      `batch ${cfg.batchSize}${accum > 1 ? ` (${accum}×${microBatch})` : ''}, ${device}, ${amp ?? 'float32'}, ${torch.getNumThreads()} threads; ` +
      `steps ${step} → ${cfg.maxTrainSteps}; ${(stepFlops / 1e9).toFixed(1)} GFLOP/step; run dir ${runDir}`,
  );

  const checkpoint = (): string => {
    const trainer: TrainerState = {
      format: 'reg-ts/trainer@1',
      step,
      data: source.position(),
      rng: torch.scope(() => ({
        global: [encodeRng('cpu', torch.getRngState('cpu')), ...(device === 'cpu' ? [] : [encodeRng(device, torch.getRngState(device))])],
        generators: { trainer: encodeRng(device, rng.getState()) },
      })),
      metrics: metrics.cursor(),
      lossScaler: scaler?.state() ?? null,
      imagesSeen,
      trainSeconds,
    };
    return torch.scope(() =>
      saveCheckpoint(
        runDir,
        { config: { model: modelConfig, train: cfg, regTs: regTsVersion(), step }, model: model.stateDict(), ema: ema.stateDict(), optimizer: optimizer.stateDict(), trainer },
        { keep: cfg.keepCheckpoints },
      ),
    );
  };

  // ---------------------------------------------------------------------------------------------
  // The loop
  // ---------------------------------------------------------------------------------------------
  const progress = cfg.progress ? new Progress('train', cfg.maxTrainSteps, { unit: 'steps', initial: step, ...(cfg.timeBudget > 0 ? { budgetSeconds: cfg.timeBudget } : {}) }) : null;
  const sessionStart = performance.now();
  let lastCheckpoint: string | null = resumeDir;
  let reason: StopReason = 'done';
  try {
    while (step < cfg.maxTrainSteps) {
      const t0 = performance.now();
      optimizer.zeroGrad();
      const sums = { loss: 0, denoise: 0, proj: 0, cls: 0 };
      let hasProj = false;
      let hasCls = false;
      for (let m = 0; m < accum; m++) {
        const batch = toDevice(await source.next(), device);
        const terms = torch.scope(() => {
          // label dropout drawn here (not inside the model) so that it comes from the trainer's generator
          const dropMask = cfg.labelDropout > 0 ? torch.rand([batch.y.shape[0]!], { generator: rng, device }).lt(cfg.labelDropout) : undefined;
          const out = withPrecisionHint(amp, () =>
            maybeAutocast(amp, device, () =>
              regLoss(
                model,
                { x0: batch.x, y: batch.y, cls0: batch.clsTarget, target: batch.alignTarget, ...(dropMask ? { dropMask } : {}) },
                { path: cfg.pathType, timeSampling: cfg.weighting, beta: cfg.clsCoeff, lambda: cfg.projCoeff, generator: rng },
              ),
            ),
          );
          out.total.mul((scaler?.scale ?? 1) / accum).backward();
          return { loss: out.total.item(), denoise: out.denoise.item(), proj: out.proj?.item(), cls: out.cls?.item() };
        });
        disposeBatch(batch);
        sums.loss += terms.loss / accum;
        sums.denoise += terms.denoise / accum;
        if (terms.proj !== undefined) (hasProj = true), (sums.proj += terms.proj / accum);
        if (terms.cls !== undefined) (hasCls = true), (sums.cls += terms.cls / accum);
        if (!Number.isFinite(terms.loss)) {
          const parts = [`denoise ${terms.denoise}`, ...(terms.proj !== undefined ? [`proj ${terms.proj}`] : []), ...(terms.cls !== undefined ? [`cls ${terms.cls}`] : [])];
          throw new NonFiniteLossError(
            `loss is ${terms.loss} at step ${step + 1} (${parts.join(', ')}); training stopped without saving this step. ` +
              (lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint} (continue with --resume, perhaps with a lower --learning-rate).` : 'No checkpoint was written yet.'),
          );
        }
      }

      const finite = scaler ? scaler.unscale(params) : true;
      const gradNorm = cfg.maxGradNorm > 0 ? clipGradNorm_(params, cfg.maxGradNorm) : torch.scope(() => totalGradNorm(params).item());
      if (!scaler && !Number.isFinite(gradNorm)) {
        throw new NonFiniteLossError(
          `gradient norm is ${gradNorm} at step ${step + 1} (loss ${sums.loss}); training stopped without saving this step. ` +
            (lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}.` : 'No checkpoint was written yet.'),
        );
      }
      if (finite) optimizer.step();
      scaler?.update(!finite);
      optimizer.zeroGrad();
      ema.update();
      step++;
      imagesSeen += cfg.batchSize;
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += seconds;

      const record: StepMetrics = {
        step,
        ...(source.epoch ? { epoch: source.epoch() } : {}),
        loss: sums.loss,
        denoise: sums.denoise,
        ...(hasProj ? { proj: sums.proj } : {}),
        ...(hasCls ? { cls: sums.cls } : {}),
        gradNorm,
        lr: schedule(Math.max(1, optimizer.stepCount)),
        ...(scaler ? { lossScale: scaler.scale, skipped: !finite } : {}),
        imagesPerSec: cfg.batchSize / seconds,
        gflops: stepFlops / seconds / 1e9,
        stepSeconds: seconds,
        images: imagesSeen,
      };
      metrics.write(record);
      opts.onStep?.(record);
      progress?.tick(1, `loss ${sums.loss.toFixed(4)} ${record.imagesPerSec.toFixed(1)} img/s ${record.gflops.toFixed(0)} GFLOP/s`);

      // let signal handlers and other events run (a source's next() may never leave the microtask queue)
      await new Promise<void>((resolve) => setImmediate(resolve));
      const elapsed = (performance.now() - sessionStart) / 1000;
      if (cfg.timeBudget > 0 && elapsed + seconds > cfg.timeBudget && step < cfg.maxTrainSteps) reason = 'time-budget';
      if (opts.signal?.aborted && step < cfg.maxTrainSteps) reason = 'interrupted';
      if (step % cfg.checkpointingSteps === 0 || step === cfg.maxTrainSteps || reason !== 'done') lastCheckpoint = checkpoint();
      if (reason !== 'done') break;
    }
  } finally {
    metrics.close();
    await source.close();
    // the weights live on in the checkpoints; free native memory now rather than at garbage collection
    optimizer.dispose();
    ema.dispose();
    for (const t of [...model.parameters(), ...model.namedBuffers('', true).map(([, b]) => b)]) t.dispose();
  }
  if (reason === 'time-budget') log(`time budget of ${cfg.timeBudget}s reached at step ${step}; checkpoint ${lastCheckpoint}`);
  if (reason === 'interrupted') log(`interrupted at step ${step}; checkpoint ${lastCheckpoint} (continue with --resume)`);
  return { step, reason, checkpoint: lastCheckpoint, metricsFile: metrics.file };
}

/** True when `dir` holds a run with at least one checkpoint. */
export function hasCheckpoints(runDir: string): boolean {
  return existsSync(runDir) && listCheckpoints(runDir).length > 0;
}
