/** The computed values of a metrics line, timings removed: what a bit-exact resume must reproduce. */
import type { StepMetrics } from '../src/train/metrics.js';

/** `{step, loss, denoise, proj, cls, gradNorm, lr, images}` of one metrics record. */
export const stepValues = (m: StepMetrics) => ({
  step: m.step,
  loss: m.loss,
  denoise: m.denoise,
  proj: m.proj,
  cls: m.cls,
  gradNorm: m.gradNorm,
  lr: m.lr,
  images: m.images,
});
