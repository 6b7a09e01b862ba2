/**
 * Inception Score as the ADM evaluator computes it: p = softmax(logits) over the 1008 classes of the
 * unbiased Inception logits (pool3 · Wᵀ, no bias), then, over consecutive chunks of `splitSize`
 * samples in order (no shuffle; the last chunk may be shorter),
 *
 *   IS_chunk = exp( mean_i Σ_c p_ic · (log p_ic − log mean_j p_jc) ),   IS = mean over chunks.
 *
 * Computed in float64 (the ADM evaluator: float32).
 */
import { noGrad } from '../torch/autograd.js';
import * as F from '../torch/functional.js';
import { scope } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';

/** The ADM evaluator's chunk size. */
export const IS_SPLIT_SIZE = 5000;

/** The score and each chunk's. */
export interface InceptionScore {
  score: number;
  chunks: number[];
}

/** Inception Score of logits (N, classes), in chunks of `splitSize` in order. */
export function inceptionScore(logits: Tensor, splitSize = IS_SPLIT_SIZE): InceptionScore {
  if (logits.ndim !== 2 || logits.shape[0]! < 1)
    throw new RangeError(`inceptionScore needs logits (N ≥ 1, classes), got [${logits.shape.join(', ')}]`);
  if (!Number.isInteger(splitSize) || splitSize < 1)
    throw new RangeError(`inceptionScore: split size must be a positive integer, got ${splitSize}`);
  const n = logits.shape[0]!;
  const chunks: number[] = [];
  noGrad(() => {
    for (let start = 0; start < n; start += splitSize) {
      chunks.push(
        scope(() => {
          const logP = F.logSoftmax(logits.narrow(0, start, Math.min(splitSize, n - start)).to('float64'), 1);
          const p = logP.exp();
          const logMarginal = p.mean(0, true).log();
          return p.mul(logP.sub(logMarginal)).sum(1).mean().exp().item();
        }),
      );
    }
  });
  return { score: chunks.reduce((a, b) => a + b, 0) / chunks.length, chunks };
}
