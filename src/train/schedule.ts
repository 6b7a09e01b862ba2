/**
 * Learning-rate schedules: functions from the (1-based) optimizer step to a learning rate.
 *
 * REG trains with a constant 1e-4 (docs/method.md#training-setup); linear warmup and cosine decay are options.
 */

/** Learning rate as a function of the 1-based optimizer step. */
export type Schedule = (step: number) => number;

/** lr(k) = lr. */
export function constant(lr: number): Schedule {
  return () => lr;
}

/** lr(k) = lr · min(1, k / warmupSteps): linear ramp from lr/warmupSteps at step 1 to lr at step warmupSteps. */
export function linearWarmup(lr: number, warmupSteps: number): Schedule {
  if (warmupSteps <= 0) return constant(lr);
  return (k) => lr * Math.min(1, k / warmupSteps);
}

/**
 * Linear warmup over `warmupSteps`, then cosine decay to `minLr` at `totalSteps`:
 *   lr(k) = minLr + ½(lr − minLr)(1 + cos(π · (k − W)/(T − W)))   for W < k ≤ T, and minLr after T.
 */
export function warmupCosine(
  lr: number,
  { warmupSteps = 0, totalSteps, minLr = 0 }: { warmupSteps?: number; totalSteps: number; minLr?: number },
): Schedule {
  return (k) => {
    if (warmupSteps > 0 && k <= warmupSteps) return lr * (k / warmupSteps);
    if (k >= totalSteps) return minLr;
    const progress = (k - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress));
  };
}

/** Schedule names accepted by {@link makeSchedule}. */
export const SCHEDULES = ['constant', 'cosine'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

/** The schedule of a training configuration. */
export function makeSchedule(opts: {
  lr: number;
  schedule: ScheduleName;
  warmupSteps: number;
  totalSteps: number;
  minLr: number;
}): Schedule {
  switch (opts.schedule) {
    case 'constant':
      return linearWarmup(opts.lr, opts.warmupSteps);
    case 'cosine':
      return warmupCosine(opts.lr, opts);
    default:
      throw new Error(`unknown learning-rate schedule '${String(opts.schedule)}' (expected ${SCHEDULES.join(' or ')})`);
  }
}
