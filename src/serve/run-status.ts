/**
 * The state of a training run, from its files alone (the dashboard never talks to the trainer):
 *
 *   finished   a checkpoint of step ≥ maxTrainSteps exists
 *   running    metrics.jsonl (or, before the first step, config.json) changed within the heartbeat,
 *              max(30 s, 10 × the last step's seconds)
 *   stopped    not running, and the last logged step has its checkpoint (interrupt or time budget)
 *   failed     not running, and steps were logged after the last checkpoint (or none at all)
 *
 *   ETA = (maxTrainSteps − step) × mean stepSeconds of the last 20 steps (running runs only)
 */

/** One of the four states of a run. */
export type RunState = 'running' | 'finished' | 'stopped' | 'failed';

/** What {@link runStatus} reads. */
export interface RunFacts {
  /** Last logged step (0 before the first). */
  step: number;
  /** The run's maxTrainSteps (null when config.json does not say). */
  maxSteps: number | null;
  /** Step of the newest complete checkpoint (null when none). */
  checkpointStep: number | null;
  /** Seconds since metrics.jsonl (or config.json before any step) last changed. */
  idleSeconds: number;
  /** stepSeconds of the recent steps, oldest first. */
  recentStepSeconds: readonly number[];
}

/** A run's state and, while running, the seconds it still needs. */
export interface RunStatus {
  state: RunState;
  /** Seconds of silence after which a run no longer counts as running. */
  heartbeatSeconds: number;
  /** Estimated seconds to maxTrainSteps (null unless running with a known max). */
  etaSeconds: number | null;
}

/** Number of recent steps whose mean step time the ETA uses. */
export const ETA_WINDOW = 20;

/** The state of a run from its facts (see the file comment for the rules). */
export function runStatus(f: RunFacts): RunStatus {
  const recent = f.recentStepSeconds.slice(-ETA_WINDOW);
  const last = recent.at(-1) ?? 0;
  const heartbeatSeconds = Math.max(30, 10 * last);
  if (f.checkpointStep !== null && f.maxSteps !== null && f.checkpointStep >= f.maxSteps)
    return { state: 'finished', heartbeatSeconds, etaSeconds: null };
  if (f.idleSeconds <= heartbeatSeconds) {
    const mean = recent.length > 0 ? recent.reduce((a, b) => a + b, 0) / recent.length : null;
    const etaSeconds = f.maxSteps !== null && mean !== null ? Math.max(0, f.maxSteps - f.step) * mean : null;
    return { state: 'running', heartbeatSeconds, etaSeconds };
  }
  const state: RunState = f.step > 0 && f.checkpointStep === f.step ? 'stopped' : 'failed';
  return { state, heartbeatSeconds, etaSeconds: null };
}
