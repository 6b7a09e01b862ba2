/**
 * Mixed precision for training: which autocast dtype a `--mixed-precision` mode means on a device, and
 * fp16's dynamic loss scaling (torch.cuda.amp.GradScaler's algorithm, which accelerate uses for the
 * official fp16 runs):
 *
 *   backward on S·loss;  g ← g/S;  if some g is not finite: skip the optimizer step, S ← S/2
 *   else: step; after 2000 finite steps in a row S ← 2S                      (S starts at 2¹⁶)
 */
import * as torch from '../torch/index.js';
import type { DType, Tensor } from '../torch/index.js';
import type { MixedPrecision } from './config.js';

/** The autocast dtype of `mode` on `device` (null: full precision); throws for unsupported pairs. */
export function autocastDtype(mode: MixedPrecision, device: string): DType | null {
  if (mode === 'no') return null;
  if (mode === 'bf16') return 'bfloat16';
  if (!device.startsWith('cuda')) {
    throw new Error(
      "fp16 mixed precision needs a CUDA device (libtorch's CPU autocast supports bfloat16 only); use --mixed-precision bf16 or no",
    );
  }
  return 'float16';
}

/** Runs `fn` under autocast to `dtype` on `device`, or plainly when dtype is null. */
export function maybeAutocast<T>(dtype: DType | null, device: torch.Device, fn: () => T): T {
  return dtype === null ? fn() : torch.autocast(fn, { device, dtype });
}

/** State of {@link DynamicLossScaler} (saved in trainer.json). */
export interface LossScalerState {
  scale: number;
  growthTracker: number;
}

/** GradScaler-style dynamic loss scale. */
export class DynamicLossScaler {
  scale: number;
  growthTracker = 0;

  constructor(readonly opts: { initScale?: number; growthFactor?: number; backoffFactor?: number; growthInterval?: number } = {}) {
    this.scale = opts.initScale ?? 2 ** 16;
  }

  /** Divides every gradient by the scale; true when all of them are finite. */
  unscale(params: readonly Tensor[]): boolean {
    return torch.scope(() =>
      torch.noGrad(() => {
        const inv = torch.tensor(1 / this.scale, { dtype: 'float64' }).to('float32');
        let finite = true;
        for (const p of params) {
          const g = p.grad;
          if (g === null) continue;
          g.mul_(inv);
          if (finite && !g.isfinite().all().item()) finite = false;
        }
        return finite;
      }),
    );
  }

  /** Adjusts the scale after a step (found: a non-finite gradient was seen). */
  update(foundNonFinite: boolean): void {
    if (foundNonFinite) {
      this.scale *= this.opts.backoffFactor ?? 0.5;
      this.growthTracker = 0;
    } else if (++this.growthTracker === (this.opts.growthInterval ?? 2000)) {
      this.scale *= this.opts.growthFactor ?? 2;
      this.growthTracker = 0;
    }
  }

  state(): LossScalerState {
    return { scale: this.scale, growthTracker: this.growthTracker };
  }

  load(s: LossScalerState): void {
    this.scale = s.scale;
    this.growthTracker = s.growthTracker;
  }
}
