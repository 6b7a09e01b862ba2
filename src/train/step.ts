/**
 * One optimizer step of SiT + REG, in two halves with the gradients in between:
 *
 *   forwardBackward  for each micro-batch: label-dropout mask, t and noises drawn per sample
 *                    (./step-noise.ts); REG loss under autocast; backward of loss·scale/accumulation;
 *                    data-parallel: loss terms averaged over the ranks, then the gradients (./data-parallel.ts)
 *   applyGradients   (fp16: unscale) → clip to maxGradNorm → AdamW → EMA
 *
 * A non-finite loss or gradient norm stops the run (NonFiniteLossError) before anything is updated — on
 * every rank at once, since the ranks check the same averaged values.
 */
import * as torch from '../torch/index.js';
import type { Device, Tensor } from '../torch/index.js';
import { regLoss } from '../diffusion/objective.js';
import { clipGradNorm_, gradNorm as totalGradNorm } from './clip.js';
import type { TrainBatch } from './data.js';
import type { StepMetrics } from './metrics.js';
import { reduceNumbers } from '../torch/distributed-values.js';
import { maybeAutocast } from './precision.js';
import type { TrainingRun } from './run.js';
import { sampleKeys, stepNoise, type StepNoise } from './step-noise.js';

/** Thrown when the loss or the gradient norm stops being finite; nothing is saved at that step. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

/** The loss terms of one step: means over its micro-batches (proj, cls: when the variant has them). */
export interface StepLosses {
  loss: number;
  denoise: number;
  proj?: number;
  cls?: number;
}

/** What {@link forwardBackward} measured besides the losses. */
export interface StepTimes {
  /** Seconds spent averaging the gradients over the ranks (data-parallel runs only). */
  allreduceSeconds?: number;
}

/** What {@link applyGradients} did. */
export interface StepUpdate {
  /** Total gradient 2-norm before clipping. */
  gradNorm: number;
  /** fp16: the optimizer step was skipped for non-finite gradients. */
  skipped: boolean;
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

function disposeBatch(b: TrainBatch): void {
  b.x.dispose();
  b.y.dispose();
  b.clsTarget?.dispose();
  b.alignTarget?.dispose();
}

const lastGood = (run: TrainingRun, advice = ''): string =>
  run.lastCheckpoint ? `The last good checkpoint is ${run.lastCheckpoint}${advice}.` : 'No checkpoint was written yet.';

/** The per-sample draws of micro-batch `micro` of the run's next step. */
function microBatchNoise(run: TrainingRun, batch: TrainBatch, micro: number): StepNoise {
  const { cfg, group } = run;
  const keys = sampleKeys({
    step: run.step,
    batchSize: cfg.batchSize,
    accumulation: cfg.gradientAccumulationSteps,
    micro,
    rank: group?.rank ?? 0,
    worldSize: group?.worldSize ?? 1,
  });
  if (keys.length !== batch.x.shape[0])
    throw new RangeError(`the data source gave ${batch.x.shape[0]} samples for a micro-batch of ${keys.length}`);
  return stepNoise(keys, {
    seed: cfg.seed,
    timeSampling: cfg.weighting,
    path: cfg.pathType,
    labelDropout: cfg.labelDropout,
    sampleShape: batch.x.shape.slice(1),
    clsDim: batch.clsTarget ? batch.clsTarget.shape[1]! : null,
    device: run.device,
  });
}

/** The loss of one micro-batch, back-propagated into the parameters' gradients (scaled by `scale`). */
function microBatchLoss(run: TrainingRun, batch: TrainBatch, micro: number, scale: number): StepLosses {
  const { cfg, device } = run;
  return torch.scope(() => {
    const { dropMask, t, noise, noiseCls } = microBatchNoise(run, batch, micro);
    const out = maybeAutocast(run.amp, device, () =>
      regLoss(
        run.model,
        {
          x0: batch.x,
          y: batch.y,
          cls0: batch.clsTarget,
          target: batch.alignTarget,
          t,
          noise,
          ...(noiseCls ? { noiseCls } : {}),
          ...(dropMask ? { dropMask } : {}),
        },
        { path: cfg.pathType, timeSampling: cfg.weighting, beta: cfg.clsCoeff, lambda: cfg.projCoeff },
      ),
    );
    out.total.mul(scale).backward();
    return { loss: out.total.item(), denoise: out.denoise.item(), proj: out.proj?.item(), cls: out.cls?.item() };
  });
}

/** Throws a NonFiniteLossError naming the terms when the step's loss is not finite. */
function checkFiniteLoss(run: TrainingRun, terms: StepLosses): void {
  if (Number.isFinite(terms.loss)) return;
  const parts = [
    `denoise ${terms.denoise}`,
    ...(terms.proj !== undefined ? [`proj ${terms.proj}`] : []),
    ...(terms.cls !== undefined ? [`cls ${terms.cls}`] : []),
  ];
  throw new NonFiniteLossError(
    `loss is ${terms.loss} at step ${run.step + 1} (${parts.join(', ')}); training stopped without saving this step. ${lastGood(run, ' (continue with --resume, perhaps with a lower --learning-rate)')}`,
  );
}

/** The loss terms averaged over the ranks of a data-parallel run (the global batch's means). */
async function meanOverRanks(run: TrainingRun, terms: StepLosses): Promise<StepLosses> {
  if (!run.group) return terms;
  const W = run.group.worldSize;
  const [loss, denoise, proj, cls] = await reduceNumbers(run.group, [terms.loss, terms.denoise, terms.proj ?? 0, terms.cls ?? 0]);
  return {
    loss: loss! / W,
    denoise: denoise! / W,
    ...(terms.proj !== undefined ? { proj: proj! / W } : {}),
    ...(terms.cls !== undefined ? { cls: cls! / W } : {}),
  };
}

/**
 * Forward and backward over the micro-batches of the next step: afterwards every parameter's gradient
 * holds the step's gradient over the global batch (times the fp16 loss scale), on every rank. Returns
 * the mean loss terms.
 */
export async function forwardBackward(run: TrainingRun): Promise<{ losses: StepLosses; times: StepTimes }> {
  const accum = run.cfg.gradientAccumulationSteps;
  run.optimizer.zeroGrad();
  const sums: Required<StepLosses> = { loss: 0, denoise: 0, proj: 0, cls: 0 };
  let hasProj = false;
  let hasCls = false;
  for (let m = 0; m < accum; m++) {
    const batch = toDevice(await run.source.next(), run.device);
    try {
      const terms = microBatchLoss(run, batch, m, (run.scaler?.scale ?? 1) / accum);
      sums.loss += terms.loss / accum;
      sums.denoise += terms.denoise / accum;
      if (terms.proj !== undefined) {
        hasProj = true;
        sums.proj += terms.proj / accum;
      }
      if (terms.cls !== undefined) {
        hasCls = true;
        sums.cls += terms.cls / accum;
      }
    } finally {
      disposeBatch(batch);
    }
  }
  const local = { loss: sums.loss, denoise: sums.denoise, ...(hasProj ? { proj: sums.proj } : {}), ...(hasCls ? { cls: sums.cls } : {}) };
  const losses = await meanOverRanks(run, local);
  checkFiniteLoss(run, losses);
  if (!run.reducer) return { losses, times: {} };
  const t0 = performance.now();
  await run.reducer.allreduce();
  return { losses, times: { allreduceSeconds: (performance.now() - t0) / 1000 } };
}

/** (fp16: unscale) → clip → AdamW → EMA, from the gradients {@link forwardBackward} left. */
export function applyGradients(run: TrainingRun, losses: StepLosses): StepUpdate {
  const { cfg, params, scaler, optimizer } = run;
  const finite = scaler ? scaler.unscale(params) : true;
  const gradNorm = cfg.maxGradNorm > 0 ? clipGradNorm_(params, cfg.maxGradNorm) : torch.scope(() => totalGradNorm(params).item());
  if (!scaler && !Number.isFinite(gradNorm)) {
    throw new NonFiniteLossError(
      `gradient norm is ${gradNorm} at step ${run.step + 1} (loss ${losses.loss}); training stopped without saving this step. ${lastGood(run)}`,
    );
  }
  if (finite) optimizer.step();
  scaler?.update(!finite);
  optimizer.zeroGrad();
  run.ema.update();
  return { gradNorm, skipped: !finite };
}

/** Counts the step done (started at `t0`, a performance.now() time) and returns its metrics line. */
export function completeStep(run: TrainingRun, losses: StepLosses, update: StepUpdate, t0: number, times: StepTimes = {}): StepMetrics {
  const { cfg, scaler } = run;
  run.step++;
  run.imagesSeen += cfg.batchSize;
  const seconds = (performance.now() - t0) / 1000;
  run.trainSeconds += seconds;
  return {
    step: run.step,
    ...(run.source.epoch ? { epoch: run.source.epoch() } : {}),
    ...losses,
    gradNorm: update.gradNorm,
    lr: run.schedule(Math.max(1, run.optimizer.stepCount)),
    ...(scaler ? { lossScale: scaler.scale, skipped: update.skipped } : {}),
    imagesPerSec: cfg.batchSize / seconds,
    gflops: run.stepFlops / seconds / 1e9,
    stepSeconds: seconds,
    ...times,
    images: run.imagesSeen,
  };
}
