/**
 * SiT hidden states as image representations, for the paper's "discriminative semantics" analysis
 * (CKNNA against the encoder, linear probing). For clean inputs x* (and, for REG, the encoder's class
 * token cls*) at one time t:
 *
 *   x_t = α_t·x* + σ_t·ε,   cls_t = α_t·cls* + σ_t·ε_cls          (the training path, independent noise)
 *   h   = tokens after block `block` of model(x_t, t, ∅, cls_t)     (∅ = the null label: no class information)
 *   f   = mean of h over the patch tokens                           (the extra token of REG, if any, left out)
 *
 * REPA's authors describe their probe input this way (sihyun-yu/REPA issue #32: the hidden state averaged
 * over patches, no class labels injected); the same patch mean is used for CKNNA. REG's class token is
 * fed noised at the same t, as in training.
 */
import type { SiT } from '../models/sit.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { pathAt, type PathType } from './interpolants.js';

/** Where and how to read the hidden state. */
export interface HiddenFeatureOptions {
  /** 1-based block whose output is read (default: the model's encoderDepth, the aligned block). */
  block?: number;
  /** Time in [0, 1] (t = 0 data, 1 noise). */
  t: number;
  /** Probability path (default 'linear', the paper's). */
  path?: PathType;
  /** Stream of ε and ε_cls (global generator when omitted). */
  generator?: torch.Generator;
  /** Condition on the null label (default) or on the given labels. */
  labels?: 'null' | 'given';
}

/** Checks the options against `model` and returns the block (1-based). */
export function hiddenBlock(model: SiT, { block, t }: Pick<HiddenFeatureOptions, 'block' | 't'>): number {
  const depth = model.config.depth;
  const b = block ?? model.config.encoderDepth;
  if (!Number.isInteger(b) || b < 1 || b > depth)
    throw new RangeError(`hidden features: block must be an integer in [1, ${depth}], got ${b}`);
  if (!(t >= 0 && t <= 1)) throw new RangeError(`hidden features: t must be in [0, 1], got ${t}`);
  return b;
}

/**
 * Patch-mean hidden state (N, D) of `model` (file comment), float32, without gradients. The model is run
 * in eval mode with all block outputs kept for the batch: pass modest batches to large models.
 * @param x0 (N, C, H, W) clean model inputs (pixels or latents, scaled as in training)
 * @param y (N,) int64 labels (used only with labels 'given')
 * @param cls0 (N, zDims[0]) the encoder's class token, required when the model takes one
 */
export function patchMeanHiddenState(model: SiT, x0: Tensor, y: Tensor, cls0: Tensor | null, opts: HiddenFeatureOptions): Tensor {
  const block = hiddenBlock(model, opts);
  const { numClasses, classDropoutProb } = model.config;
  if ((opts.labels ?? 'null') === 'null' && !(classDropoutProb > 0))
    throw new RangeError('hidden features: the model has no null class (classDropoutProb 0); condition on the given labels instead');
  if (model.hasClsInput && !cls0) throw new TypeError(`hidden features: variant '${model.config.variant}' needs the encoder class token`);
  const { alpha, sigma } = pathAt(opts.path ?? 'linear', opts.t);
  const wasTraining = model.training;
  model.eval();
  try {
    return torch.noGrad(() =>
      torch.scope(() => {
        const n = x0.shape[0]!;
        const xT = x0.mul(alpha).add(torch.randnLike(x0, opts.generator).mul(sigma));
        const clsT = model.hasClsInput ? cls0!.mul(alpha).add(torch.randnLike(cls0!, opts.generator).mul(sigma)) : null;
        const labels = (opts.labels ?? 'null') === 'null' ? torch.full([n], numClasses, { dtype: 'int64', device: x0.device }) : y;
        const { hidden } = model.forward(xT, opts.t, labels, clsT, { returnHidden: true });
        const h = hidden![block - 1]!;
        const patches = model.hasToken ? h.narrow(1, 1, h.shape[1]! - 1) : h;
        return patches.mean(1).to('float32');
      }),
    );
  } finally {
    model.train(wasTraining);
  }
}
