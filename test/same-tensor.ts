/** Exact tensor equality for tests of saved and loaded weights. */
import type { Tensor } from '../src/torch/index.js';

/** True when `a` and `b` have the same dtype and shape and the same bytes (bit for bit, NaNs included). */
export function sameTensor(a: Tensor, b: Tensor): boolean {
  return a.dtype === b.dtype && a.shape.join() === b.shape.join() && Buffer.from(a.toBytes()).equals(Buffer.from(b.toBytes()));
}
