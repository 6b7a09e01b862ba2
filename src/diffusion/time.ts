/**
 * Training-time sampling of t (docs/method.md#time-sampling; the official `--weighting` flag, which despite its name only
 * selects the distribution of t — there is no loss weighting):
 *
 *   uniform   : t = u,                      u ~ U[0, 1)
 *   lognormal : σ = exp(n), n ~ N(0, 1);   t = σ/(1+σ) (linear path)  or  t = (2/π)·atan σ (cosine path)
 *
 * One t per sample, shared by the latent and the class token.
 */
import * as torch from '../torch/index.js';
import type { DType, Device, Generator, Tensor } from '../torch/index.js';
import { checkPathType, type PathType } from './interpolants.js';

/** The time distribution (`--weighting`). */
export type TimeSampling = 'uniform' | 'lognormal';

/** Every time distribution, for validation and `--help`. */
export const TIME_SAMPLINGS: readonly TimeSampling[] = ['uniform', 'lognormal'];

/** Options of {@link sampleTime}. */
export interface TimeOptions {
  /** The path, needed by 'lognormal' (default 'linear'). */
  path?: PathType;
  /** Random stream (default: the device's global generator). */
  generator?: Generator;
  /** dtype of the result (default float32). */
  dtype?: DType;
  device?: Device;
}

/** 'uniform': t = u (identity; for callers that draw u themselves). */
export function timeFromUniform(u: Tensor): Tensor {
  return u.clone();
}

/** 'lognormal': σ = exp(n); t = σ/(1+σ) (linear) or (2/π)·atan σ (cosine). */
export function timeFromNormal(n: Tensor, path: PathType = 'linear'): Tensor {
  return torch.scope(() => {
    const s = n.exp();
    if (checkPathType(path) === 'linear') return s.div(s.add(1));
    return s.atan().mul(2 / Math.PI);
  });
}

/** Draws `batch` times from `kind` (shape [batch]). */
export function sampleTime(kind: TimeSampling, batch: number, opts: TimeOptions = {}): Tensor {
  const ro = { generator: opts.generator, dtype: opts.dtype ?? 'float32', device: opts.device };
  if (kind === 'uniform') return torch.rand([batch], ro);
  if (kind === 'lognormal') {
    return torch.scope(() => timeFromNormal(torch.randn([batch], ro), opts.path ?? 'linear'));
  }
  throw new TypeError(`unknown time sampling '${String(kind)}' (expected ${TIME_SAMPLINGS.join(' or ')})`);
}
