/**
 * Fréchet distance between two sets of feature vectors, each summarised by a Gaussian (mean μ,
 * covariance Σ):  d² = ‖μ₁ − μ₂‖² + tr(Σ₁) + tr(Σ₂) − 2·tr((Σ₁Σ₂)^½).
 * With Inception-v3 pool features of the ADM evaluator this is FID (sFID on its spatial features);
 * with any other encoder it is a Fréchet distance in that encoder's feature space and must be named
 * as such (FD-DINOv2, FD-MobileNetV2).
 *
 * tr((Σ₁Σ₂)^½) = Σᵢ √λᵢ of the symmetric matrix Σ₁^½ Σ₂ Σ₁^½ (same eigenvalues as Σ₁Σ₂), in float64.
 * The square roots come from libtorch's `linalg_eigh` where this libtorch has it and it runs (LAPACK);
 * otherwise from a Newton–Schulz iteration that needs only matrix products. As the ADM evaluator, a
 * result that is not finite is computed again with 1e-6·I added to both covariances.
 */
import { noGrad } from '../torch/autograd.js';
import * as torch from '../torch/index.js';
import { hasOp, op } from '../torch/ops.js';
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

/** How the matrix square roots are taken. */
export type SqrtMethod = 'eigh' | 'newton-schulz';

let eighWorks: boolean | undefined;

/** Whether libtorch's `linalg_eigh` exists in this build and runs (it needs LAPACK); probed once. */
export function eighAvailable(): boolean {
  if (eighWorks === undefined) {
    eighWorks =
      hasOp('aten::linalg_eigh') &&
      (() => {
        try {
          return scope(() => {
            const [values] = callTs(eigh, torch.eye(2, { dtype: 'float64' }).handle, 'L') as [Tensor, Tensor];
            return values.sum().item() === 2;
          });
        } catch {
          return false;
        }
      })();
  }
  return eighWorks;
}

/** Eigenvalues λ (ascending) and eigenvectors V of a symmetric matrix, through linalg_eigh. */
function eigenSym(m: Tensor): [Tensor, Tensor] {
  return callTs(eigh, m.handle, 'L') as [Tensor, Tensor];
}

/** The symmetric part (M + Mᵀ)/2 (removes the rounding asymmetry of products). */
const symmetric = (m: Tensor): Tensor => m.add(m.t()).div(2);

/**
 * Square root of a symmetric positive semi-definite matrix by the coupled Newton–Schulz iteration
 * on A/‖A‖_F: T = (3I − ZY)/2, Y ← YT, Z ← TZ (Y → (A/‖A‖)^½, Z → its inverse), until Y stops
 * changing (relative 1e-15) or after `maxIterations`; then Y·√‖A‖. Only matrix products.
 */
export function sqrtPsdNewtonSchulz(a: Tensor, maxIterations = 100): Tensor {
  return scope(() => {
    const norm = a.norm().item();
    if (norm === 0) return a.mul(0);
    const eye = torch.eye(a.shape[0]!, { dtype: a.dtype, device: a.device });
    let y = a.div(norm);
    let z = eye;
    for (let k = 0; k < maxIterations; k++) {
      const next = scope(() => {
        const t = eye.mul(3).sub(z.matmul(y)).div(2);
        return { y: y.matmul(t), z: t.matmul(z) };
      });
      const change = next.y.sub(y).norm().item() / Math.max(next.y.norm().item(), Number.MIN_VALUE);
      y = next.y;
      z = next.z;
      if (change <= 1e-15) break;
    }
    return symmetric(y).mul(Math.sqrt(norm));
  });
}

/** Square root of a symmetric positive semi-definite matrix (negative rounding eigenvalues clamped to 0). */
function sqrtPsd(m: Tensor, method: SqrtMethod): Tensor {
  if (method === 'newton-schulz') return sqrtPsdNewtonSchulz(m);
  const [values, vectors] = eigenSym(m);
  return vectors.mul(values.clamp(0).sqrt()).matmul(vectors.t());
}

/** tr((Σ₁Σ₂)^½) = tr((Σ₁^½ Σ₂ Σ₁^½)^½); NaN when the eigensolver does not converge. */
function traceSqrtProduct(s1: Tensor, s2: Tensor, method: SqrtMethod): number {
  try {
    return scope(() => traceSqrtOf(s1, s2, method));
  } catch (e) {
    if (/linalg\.eigh/.test((e as Error).message)) return Number.NaN;
    throw e;
  }
}

function traceSqrtOf(s1: Tensor, s2: Tensor, method: SqrtMethod): number {
  const root = sqrtPsd(s1, method);
  const inner = symmetric(root.matmul(s2).matmul(root));
  if (method === 'newton-schulz') return sqrtPsdNewtonSchulz(inner).diagonal().sum().item();
  const [eig] = eigenSym(inner);
  return eig.clamp(0).sqrt().sum().item();
}

/** Options of {@link frechetDistanceReport}. */
export interface FrechetOptions {
  /** Square-root method (default: eigh where it is available, else newton-schulz). */
  method?: SqrtMethod;
  /** Added to both diagonals when the first result is not finite (default 1e-6, as the ADM evaluator). */
  eps?: number;
}

/** A Fréchet distance with how it was computed. */
export interface FrechetReport {
  value: number;
  method: SqrtMethod;
  /** Whether the first result was not finite and `eps`·I had to be added. */
  regularised: boolean;
}

/** Fréchet distance between two Gaussians, with the method used and whether it needed the 1e-6·I retry. */
export function frechetDistanceReport(a: GaussianStats, b: GaussianStats, options: FrechetOptions = {}): FrechetReport {
  const method = options.method ?? (eighAvailable() ? 'eigh' : 'newton-schulz');
  const eps = options.eps ?? 1e-6;
  if (a.mu.shape.join() !== b.mu.shape.join() || a.sigma.shape.join() !== b.sigma.shape.join()) {
    throw new RangeError(`Fréchet distance of statistics of different dimensions: ${a.mu.shape[0]} and ${b.mu.shape[0]}`);
  }
  return noGrad(() =>
    scope(() => {
      const s1 = a.sigma.to('float64');
      const s2 = b.sigma.to('float64');
      for (const [what, t] of [
        ['μ₁', a.mu],
        ['Σ₁', s1],
        ['μ₂', b.mu],
        ['Σ₂', s2],
      ] as const) {
        if (!t.isfinite().all().item()) throw new RangeError(`Fréchet distance: ${what} holds non-finite values`);
      }
      const diff = a.mu.to('float64').sub(b.mu.to('float64'));
      const rest = diff.dot(diff).item() + s1.diagonal().sum().item() + s2.diagonal().sum().item();
      let value = rest - 2 * traceSqrtProduct(s1, s2, method);
      let regularised = false;
      if (!Number.isFinite(value)) {
        const offset = torch.eye(s1.shape[0]!, { dtype: 'float64' }).mul(eps);
        value = rest - 2 * traceSqrtProduct(s1.add(offset), s2.add(offset), method);
        regularised = true;
      }
      if (!Number.isFinite(value)) throw new RangeError(`Fréchet distance is not finite, also with ${eps}·I added to both covariances`);
      return { value, method, regularised };
    }),
  );
}

/** Fréchet distance between two Gaussians (see {@link frechetDistanceReport}). */
export function frechetDistance(a: GaussianStats, b: GaussianStats, options: FrechetOptions = {}): number {
  return frechetDistanceReport(a, b, options).value;
}
