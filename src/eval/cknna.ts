/**
 * CKNNA (Huh et al. 2024, "The Platonic Representation Hypothesis"): centred kernel alignment restricted
 * to mutual nearest neighbours, as platonic-rep's `AlignmentMetrics.cknna` (minyoungg/platonic-rep
 * @dcd76ba `metrics.py`) computes it with its defaults (`unbiased=True`, `distance_agnostic=False`):
 *
 *   K = A·Aᵀ,  L = B·Bᵀ                                           (inner-product kernels, (N, N))
 *   M_K[i, j] = 1 if j is among the k largest K[i, ·] with i excluded (the diagonal is −∞ for selection)
 *   sim(K, L) = HSIC_u(M ⊙ K, M ⊙ L),  M = M_K ⊙ M_L              (row-wise masks: not symmetric)
 *   CKNNA = sim(K, L) / (√(sim(K, K) · sim(L, L)) + 1e-6)         (sim(K, K) uses M_K ⊙ M_K = M_K)
 *
 * with the unbiased HSIC of Song et al. 2012 (Eq. 5), K̃ = K with a zero diagonal, n = N:
 *
 *   HSIC_u(K, L) = [ Σ(K̃ ⊙ L̃ᵀ) + ΣK̃ · ΣL̃ / ((n−1)(n−2)) − 2·Σ(K̃·L̃) / (n−2) ] / (n(n−3))
 *
 * The transposes are kept exactly as in the source: the masked matrices are not symmetric, so
 * Σ(K̃ ⊙ L̃ᵀ) ≠ Σ(K̃ ⊙ L̃) in general. platonic-rep's `measure_alignment.py` first clamps outliers
 * ({@link removeOutliers}, q = 0.95) and L2-normalises every feature vector; {@link cknna} does the same
 * unless `prepare: false`. Everything is computed in the features' dtype (float64 for a float64 input).
 */
import { noGrad } from '../torch/autograd.js';
import { eye, zeros } from '../torch/creation.js';
import { normalize } from '../torch/functional.js';
import { op } from '../torch/ops.js';
import { scope } from '../torch/scope.js';
import { callT, callTs, type Tensor } from '../torch/tensor.js';

const topkOp = op('aten::topk');
const scatterValue = op('aten::scatter', 'value');
const quantileOp = op('aten::quantile', 'scalar');

/** Options of {@link cknna}. */
export interface CknnaOptions {
  /** Neighbours per sample, 2 ≤ k < N (default 10, as platonic-rep's `--topk` and the REPA/REG papers). */
  topk?: number;
  /**
   * Prepare the features as platonic-rep's measure_alignment does before scoring: clamp to ±q-quantile
   * ({@link removeOutliers}) then L2-normalise each row (default true).
   */
  prepare?: boolean;
  /** Quantile of the outlier clamp (default 0.95; 1 disables the clamp). */
  outlierQuantile?: number;
}

/** Inputs of {@link cknna} with a clear message for the first thing wrong with them. */
function checkInputs(a: Tensor, b: Tensor, k: number): void {
  for (const [name, f] of [
    ['A', a],
    ['B', b],
  ] as const) {
    if (f.ndim !== 2) throw new RangeError(`cknna: features ${name} must be (N, D), got [${f.shape.join(', ')}]`);
  }
  const n = a.shape[0]!;
  if (b.shape[0] !== n) throw new RangeError(`cknna: A has ${n} samples but B has ${b.shape[0]}; both must describe the same samples`);
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`cknna: topk must be an integer ≥ 2, got ${k}`);
  if (n < 4) throw new RangeError(`cknna: needs at least 4 samples (the unbiased HSIC divides by n(n−3)), got ${n}`);
  if (k >= n) throw new RangeError(`cknna: topk ${k} must be smaller than the number of samples ${n} (the diagonal is excluded)`);
}

/**
 * platonic-rep's `remove_outliers(feats, q)` (non-exact): the per-sample q-quantile of |x| over its
 * features, averaged over the samples, is the clamp bound c; returns clamp(x, −c, c). q = 1 returns a copy.
 * @param features (N, D)
 */
export function removeOutliers(features: Tensor, q = 0.95): Tensor {
  if (!(q > 0 && q <= 1)) throw new RangeError(`removeOutliers: quantile must be in (0, 1], got ${q}`);
  if (q === 1) return features.clone();
  return scope(() => {
    const perSample = callT(quantileOp, features.abs().flatten(1).handle, q, 1, false, 'linear');
    const bound = perSample.mean().item();
    return features.clamp(-bound, bound);
  });
}

/**
 * Unbiased HSIC of Song et al. 2012, Eq. 5, exactly as platonic-rep's `hsic_unbiased` (the formula is in
 * the file comment); K and L are (n, n) with n ≥ 4 and need not be symmetric. Returns a 0-d tensor.
 */
export function hsicUnbiased(K: Tensor, L: Tensor): Tensor {
  const n = K.shape[0]!;
  return scope(() => {
    const diag = eye(n, { dtype: 'bool', device: K.device });
    const kt = K.maskedFill(diag, 0);
    const lt = L.maskedFill(diag, 0);
    const cross = kt.mul(lt.t()).sum();
    const product = kt
      .sum()
      .mul(lt.sum())
      .div((n - 1) * (n - 2));
    const paths = kt
      .mm(lt)
      .sum()
      .mul(2 / (n - 2));
    return cross
      .add(product)
      .sub(paths)
      .div(n * (n - 3));
  });
}

/** The row-wise k-nearest-neighbour mask of a kernel, the diagonal excluded from the selection ((n, n), float32 as the source's torch.zeros). */
function neighbourMask(K: Tensor, k: number): Tensor {
  const n = K.shape[0]!;
  return scope(() => {
    const hat = K.maskedFill(eye(n, { dtype: 'bool', device: K.device }), Number.NEGATIVE_INFINITY);
    const [, indices] = callTs(topkOp, hat.handle, k, 1, true, true) as [Tensor, Tensor];
    return callT(scatterValue, zeros([n, n], { device: K.device }).handle, 1, indices.handle, 1);
  });
}

/** sim(K, L) = HSIC_u(M ⊙ K, M ⊙ L) with M = M_K ⊙ M_L (given as masks). */
function maskedHsic(K: Tensor, L: Tensor, maskK: Tensor, maskL: Tensor): Tensor {
  return scope(() => {
    const mask = maskK.mul(maskL);
    return hsicUnbiased(mask.mul(K), mask.mul(L));
  });
}

/**
 * CKNNA between two feature sets of the same N samples (file comment). Errors: features not (N, D),
 * different N, k < 2, k ≥ N, N < 4. A kernel whose masked self-HSIC is negative gives NaN, as the source.
 * @param a (N, D_A) features of the first representation
 * @param b (N, D_B) features of the second, row i describing the same sample as row i of `a`
 */
export function cknna(a: Tensor, b: Tensor, { topk = 10, prepare = true, outlierQuantile = 0.95 }: CknnaOptions = {}): number {
  checkInputs(a, b, topk);
  return noGrad(() =>
    scope(() => {
      const ready = (f: Tensor) => (prepare ? normalize(removeOutliers(f, outlierQuantile), { dim: -1 }) : f);
      const fa = ready(a);
      const fb = ready(b);
      const K = fa.mm(fa.t());
      const L = fb.mm(fb.t());
      const maskK = neighbourMask(K, topk);
      const maskL = neighbourMask(L, topk);
      const kl = maskedHsic(K, L, maskK, maskL).item();
      const kk = maskedHsic(K, K, maskK, maskK).item();
      const ll = maskedHsic(L, L, maskL, maskL).item();
      return kl / (Math.sqrt(kk * ll) + 1e-6);
    }),
  );
}
