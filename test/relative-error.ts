/** The error measure of the reference comparisons (test/reference/README.md). */
import * as torch from '../src/torch/index.js';
import type { Tensor } from '../src/torch/index.js';

/**
 * Norm-wise relative error max|a − b| / max|b|, computed in float64 on the CPU; the absolute error
 * max|a − b| when b is all zero. Shapes must match exactly (no broadcasting).
 */
export function relError(a: Tensor, b: Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape mismatch [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  return torch.scope(() => {
    const x = a.to({ dtype: 'float64', device: 'cpu' });
    const y = b.to({ dtype: 'float64', device: 'cpu' });
    const diff = x.sub(y).abs().max().item();
    const scale = y.abs().max().item();
    return scale === 0 ? diff : diff / scale;
  });
}
