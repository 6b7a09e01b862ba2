/**
 * Interpolants (probability paths) between data and noise, SiT/REG convention: t = 0 is data,
 * t = 1 is noise,
 *
 *   x_t = α_t · x* + σ_t · ε,        velocity target v = α̇_t · x* + σ̇_t · ε.
 *
 *   linear : α = 1 − t,        σ = t,           α̇ = −1,                σ̇ = 1        (the paper's path)
 *   cosine : α = cos(πt/2),    σ = sin(πt/2),   α̇ = −(π/2)·sin(πt/2),  σ̇ = (π/2)·cos(πt/2)
 *
 * Spec §4.1. The samplers turn a velocity into a score with {@link scoreFromVelocity}.
 */
import { fullLike, type Tensor } from '../torch/index.js';

/** The probability path (`--path-type` of the official code). */
export type PathType = 'linear' | 'cosine';

/** Every path, for validation and `--help`. */
export const PATH_TYPES: readonly PathType[] = ['linear', 'cosine'];

/** α, σ and their time derivatives at one time. */
export interface PathCoefficients<T> {
  alpha: T;
  sigma: T;
  dAlpha: T;
  dSigma: T;
}

/** Throws a TypeError for anything but 'linear' or 'cosine'. */
export function checkPathType(path: string): PathType {
  if (path === 'linear' || path === 'cosine') return path;
  throw new TypeError(`unknown path type '${path}' (expected ${PATH_TYPES.join(' or ')})`);
}

/** α_t, σ_t, α̇_t, σ̇_t for a scalar time t (float64 arithmetic). */
export function pathAt(path: PathType, t: number): PathCoefficients<number> {
  if (path === 'linear') return { alpha: 1 - t, sigma: t, dAlpha: -1, dSigma: 1 };
  checkPathType(path);
  const a = (t * Math.PI) / 2;
  return { alpha: Math.cos(a), sigma: Math.sin(a), dAlpha: (-Math.PI / 2) * Math.sin(a), dSigma: (Math.PI / 2) * Math.cos(a) };
}

/**
 * α_t, σ_t, α̇_t, σ̇_t elementwise for a tensor of times (same shape and dtype as `t`; for the linear
 * path α̇ and σ̇ are tensors of −1 and 1). The caller owns the four results.
 */
export function pathCoefficients(path: PathType, t: Tensor): PathCoefficients<Tensor> {
  if (path === 'linear') {
    return { alpha: t.rsub(1), sigma: t.clone(), dAlpha: fullLike(t, -1), dSigma: fullLike(t, 1) };
  }
  checkPathType(path);
  const a = t.mul(Math.PI / 2);
  const sin = a.sin();
  const cos = a.cos();
  const out = { alpha: cos, sigma: sin, dAlpha: sin.mul(-Math.PI / 2), dSigma: cos.mul(Math.PI / 2) };
  a.dispose();
  return out;
}

/**
 * Score ∇log p_t(x) from a velocity prediction at scalar time t (official `get_score_from_velocity`):
 *
 *   r = α/α̇,   s = (r·v − x) / (σ² − r·σ̇·σ)
 *
 * For the linear path s = (−(1−t)·v − x)/t = −ε̂/σ. Elementwise in the dtype of v and x.
 */
export function scoreFromVelocity(path: PathType, v: Tensor, x: Tensor, t: number): Tensor {
  const { alpha, sigma, dAlpha, dSigma } = pathAt(path, t);
  const r = alpha / dAlpha;
  const variance = sigma * sigma - r * dSigma * sigma;
  const rv = v.mul(r);
  const num = rv.sub(x);
  rv.dispose();
  const out = num.div(variance);
  num.dispose();
  return out;
}

/** Diffusion coefficient of the official SDE sampler: w(t) = 2t (the paper's table says σ_t; the code is 2t). */
export function diffusionCoefficient(t: number): number {
  return 2 * t;
}
