/**
 * The REG training objective (docs/method.md#training-objective; official `loss.py::SILoss`), with time and noise suppliable by
 * the caller so values can be compared exactly with PyTorch.
 *
 *   x_t   = α_t·x*   + σ_t·ε          v   = α̇_t·x*   + σ̇_t·ε          (one t per sample, shared)
 *   cls_t = α_t·cls* + σ_t·ε_cls      v_c = α̇_t·cls* + σ̇_t·ε_cls      (independent noise)
 *   (v̂, ẑ, v̂_c) = model(x_t, t, y, cls_t)
 *
 *   denoise = mean_b mean_{CHW} (v̂ − v)²
 *   cls     = mean_b mean_{Dz}  (v̂_c − v_c)²                              (token variants)
 *   proj    = −1/(K·B) Σ_k Σ_b mean_n cos(ẑ_k[b,n], z_k[b,n])            (alignment variants)
 *             cosine after L2 normalisation in float32 (at least), n over ALL tokens (N+1 for REG:
 *             the clean encoder class token first, then the patch features)
 *   total   = denoise + λ·proj + β·cls        (λ = 0.5, β = 0.03; absent terms are left out)
 */
import * as torch from '../torch/index.js';
import type { Generator, Tensor } from '../torch/index.js';
import { pathCoefficients, type PathType } from './interpolants.js';
import { hasAlign, hasClsInput } from '../models/variant.js';
import type { VelocityModel, VelocityOutput } from './model.js';
import { sampleTime, type TimeSampling } from './time.js';

/** One training batch for the objective. */
export interface RegLossBatch {
  /** Clean latents or pixels (B, C, H, W). */
  x0: Tensor;
  /** Class labels (B,) int64. */
  y: Tensor;
  /** Clean encoder class token (B, Dz); required by token variants ('reg', 'entangle'). */
  cls0?: Tensor | null;
  /**
   * Alignment target(s) for alignment variants: (B, N+1, C) = [cls; patches] for 'reg', (B, N, C)
   * patches for 'repa'; an array for several encoders (one per projector).
   */
  target?: Tensor | readonly Tensor[] | null;
  /** Times (B,); drawn from `timeSampling` when absent. */
  t?: Tensor;
  /** Latent noise ε (like x0); drawn when absent. */
  noise?: Tensor;
  /** Class-token noise ε_cls (like cls0); drawn when absent. */
  noiseCls?: Tensor;
  /** Labels to drop to the null label (B,) bool (label dropout); passed to the model. */
  dropMask?: Tensor;
}

/** Hyperparameters of the objective. */
export interface RegLossOptions {
  /** Interpolant (default 'linear'). */
  path?: PathType;
  /** Distribution of t when the batch has none (default 'uniform'). */
  timeSampling?: TimeSampling;
  /** β, weight of the class-token velocity loss (default 0.03). */
  beta?: number;
  /** λ, weight of the alignment loss (default 0.5). */
  lambda?: number;
  /** Random stream for t and the noises (default: the global generator). */
  generator?: Generator;
  /** Also return the inputs, targets and raw outputs (for tests and diagnostics). */
  returnDetail?: boolean;
}

/** Intermediate values of one objective evaluation. */
export interface RegLossDetail {
  t: Tensor;
  xT: Tensor;
  vTarget: Tensor;
  clsT: Tensor | null;
  vClsTarget: Tensor | null;
  output: VelocityOutput;
}

/** The loss terms (scalars). `cls` and `proj` are null for variants without them. */
export interface RegLossTerms {
  total: Tensor;
  denoise: Tensor;
  cls: Tensor | null;
  proj: Tensor | null;
  detail?: RegLossDetail;
}

/** Per-sample mean over every non-batch dimension, then the batch mean (official `mean_flat(...).mean()`). */
function meanFlatMean(x: Tensor): Tensor {
  return torch.scope(() => x.reshape(x.shape[0]!, -1).mean(1).mean());
}

/** dtype in which cosines are computed: float32 for half types, else the tensor's own. */
function cosineDtype(t: Tensor): 'float32' | 'float64' {
  return t.dtype === 'float64' ? 'float64' : 'float32';
}

/**
 * The alignment loss −1/(K·B) Σ_k Σ_b mean_n cos(ẑ_k[b,n], z_k[b,n]) (L2-normalised in float32 or
 * float64). Each pair must have equal shapes (B, T, C).
 */
export function alignmentLoss(predicted: readonly Tensor[], targets: readonly Tensor[]): Tensor {
  if (predicted.length !== targets.length || predicted.length === 0) {
    throw new RangeError(`alignment: ${predicted.length} projector outputs for ${targets.length} targets`);
  }
  return torch.scope(() => {
    let acc: Tensor | null = null;
    for (let k = 0; k < predicted.length; k++) {
      const zh = predicted[k]!;
      const z = targets[k]!;
      if (zh.shape.join() !== z.shape.join()) {
        throw new RangeError(
          `alignment target ${k} has shape [${z.shape.join(', ')}] but the projector gives [${zh.shape.join(', ')}] (REG targets are [cls; patches], N+1 tokens)`,
        );
      }
      const dt = cosineDtype(zh);
      const a = torch.F.normalize(zh.to(dt), { dim: -1 });
      const b = torch.F.normalize(z.to(dt), { dim: -1 });
      const cos = a.mul(b).sum(-1); // (B, T)
      const term = cos.mean(1).neg().sum();
      acc = acc === null ? term : acc.add(term);
    }
    return acc!.div(predicted.length * predicted[0]!.shape[0]!);
  });
}

/**
 * Evaluates the REG objective for one batch. Runs under the caller's grad mode (call inside a
 * training step to get gradients). The returned tensors belong to the caller.
 */
export function regLoss(model: VelocityModel, batch: RegLossBatch, opts: RegLossOptions = {}): RegLossTerms {
  const cfg = model.config;
  const token = hasClsInput(cfg);
  const align = hasAlign(cfg);
  const { x0, y } = batch;
  const B = x0.shape[0]!;
  const beta = opts.beta ?? 0.03;
  const lambda = opts.lambda ?? 0.5;
  const path = opts.path ?? 'linear';
  if (token && !batch.cls0) throw new TypeError(`model variant '${cfg.variant ?? 'reg'}' needs the encoder class token (batch.cls0)`);
  const targets =
    batch.target == null ? [] : Array.isArray(batch.target) ? [...(batch.target as readonly Tensor[])] : [batch.target as Tensor];
  if (align && targets.length === 0) throw new TypeError(`model variant '${cfg.variant ?? 'reg'}' needs alignment targets (batch.target)`);
  if (batch.t && (batch.t.ndim !== 1 || batch.t.shape[0] !== B))
    throw new RangeError(`t must have shape [${B}], got [${batch.t.shape.join(', ')}]`);

  return torch.scope(() => {
    const gen = opts.generator;
    const t = batch.t ?? sampleTime(opts.timeSampling ?? 'uniform', B, { path, generator: gen, dtype: x0.dtype, device: x0.device });
    const noise = batch.noise ?? torch.randnLike(x0, gen);
    const co = pathCoefficients(path, t);
    const view = (c: Tensor, nd: number): Tensor => c.reshape(B, ...new Array<number>(nd - 1).fill(1));
    const [a4, s4, da4, ds4] = [co.alpha, co.sigma, co.dAlpha, co.dSigma].map((c) => view(c, x0.ndim)) as [Tensor, Tensor, Tensor, Tensor];
    const xT = a4.mul(x0).add(s4.mul(noise));
    const vTarget = da4.mul(x0).add(ds4.mul(noise));
    let clsT: Tensor | null = null;
    let vClsTarget: Tensor | null = null;
    if (token) {
      const cls0 = batch.cls0!;
      const noiseCls = batch.noiseCls ?? torch.randnLike(cls0, gen);
      const [a2, s2, da2, ds2] = [co.alpha, co.sigma, co.dAlpha, co.dSigma].map((c) => view(c, cls0.ndim)) as [
        Tensor,
        Tensor,
        Tensor,
        Tensor,
      ];
      clsT = a2.mul(cls0).add(s2.mul(noiseCls));
      vClsTarget = da2.mul(cls0).add(ds2.mul(noiseCls));
    }
    const output = model.forward(xT, t, y, clsT, batch.dropMask ? { dropMask: batch.dropMask } : undefined);
    const denoise = meanFlatMean(output.vImg.sub(vTarget).square());
    let cls: Tensor | null = null;
    let proj: Tensor | null = null;
    if (token) {
      if (!output.vCls) throw new TypeError('the model returned no class-token velocity for a token variant');
      cls = meanFlatMean(output.vCls.sub(vClsTarget!).square());
    }
    if (align) proj = alignmentLoss(output.zs, targets);
    // summation order of the PyTorch reference (test/reference/loss.py): denoise, then β·cls, then λ·proj
    let total = denoise;
    if (cls) total = total.add(cls.mul(beta));
    if (proj) total = total.add(proj.mul(lambda));
    const terms: RegLossTerms = { total, denoise, cls, proj };
    if (opts.returnDetail) terms.detail = { t, xT, vTarget, clsT, vClsTarget, output };
    return terms;
  });
}
