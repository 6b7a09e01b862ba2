/**
 * Fréchet distance between two sets of feature vectors, each summarised by a Gaussian (mean μ,
 * covariance Σ):  d² = ‖μ₁ − μ₂‖² + tr(Σ₁) + tr(Σ₂) − 2·tr((Σ₁Σ₂)^½).
 * With Inception-v3 pool features of the ADM evaluator this is FID; with any other encoder it is a
 * Fréchet distance in that encoder's feature space and must be named as such.
 */
import { noGrad } from '../torch/autograd.js';
import { op } from '../torch/ops.js';
import { scope } from '../torch/scope.js';
import { callTs, type Tensor } from '../torch/tensor.js';

const eigh = op('aten::linalg_eigh');

/** Mean and covariance of a feature set. */
export interface GaussianStats {
  /** (D) float64 */
  mu: Tensor;
  /** (D, D) float64, unbiased (N − 1) like numpy.cov */
  sigma: Tensor;
}

/** μ and Σ (unbiased, as numpy.cov(rowvar=False)) of features (N, D), in float64. */
export function gaussianStats(features: Tensor): GaussianStats {
  if (features.ndim !== 2 || features.shape[0]! < 2) {
    throw new RangeError(`gaussianStats needs features of shape (N ≥ 2, D), got [${features.shape.join(', ')}]`);
  }
  return noGrad(() =>
    scope(() => {
      const x = features.to('float64');
      const mu = x.mean(0);
      const centred = x.sub(mu);
      const sigma = centred
        .t()
        .matmul(centred)
        .div(x.shape[0]! - 1);
      return { mu, sigma };
    }),
  );
}

/** Square root of a symmetric positive semi-definite matrix through its eigendecomposition. */
function sqrtPsd(m: Tensor): Tensor {
  const [values, vectors] = callTs(eigh, m.handle, 'L') as [Tensor, Tensor];
  return vectors.mul(values.clamp(0).sqrt()).matmul(vectors.t());
}

/**
 * Fréchet distance between two Gaussians. tr((Σ₁Σ₂)^½) is computed as Σᵢ √λᵢ of the symmetric
 * matrix Σ₁^½ Σ₂ Σ₁^½ (same eigenvalues as Σ₁Σ₂), which is stable in float64.
 */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  return noGrad(() =>
    scope(() => {
      const diff = a.mu.sub(b.mu);
      const s1 = sqrtPsd(a.sigma);
      const inner = s1.matmul(b.sigma).matmul(s1);
      const sym = inner.add(inner.t()).div(2);
      const [eig] = callTs(eigh, sym.handle, 'L') as [Tensor, Tensor];
      const trSqrt = eig.clamp(0).sqrt().sum().item();
      const traceA = a.sigma.diagonal().sum().item();
      const traceB = b.sigma.diagonal().sum().item();
      return diff.dot(diff).item() + traceA + traceB - 2 * trSqrt;
    }),
  );
}
