/**
 * Improved precision and recall (Kynkäänniemi et al. 2019) as the ADM evaluator's ManifoldEstimator
 * computes them. Each set's manifold is the union of balls around its points, the radius of point i
 * being its squared L2 distance to its k-th nearest other point (k = 3: entry 3 of the sorted row of
 * distances, entry 0 being the point itself). Then
 *
 *   precision = share of sample points inside some reference ball,
 *   recall    = share of reference points inside some sample ball,
 *
 * with "inside" meaning d² ≤ r². Distances d²(u, v) = max(‖u‖² − 2u·v + ‖v‖², 0) in float32, blocks
 * of `batchSize` rows and columns (the ADM evaluator: 10,000; its float16 first pass is not reproduced).
 */
import { noGrad } from '../torch/autograd.js';
import * as torch from '../torch/index.js';
import { scope } from '../torch/scope.js';
import { op } from '../torch/ops.js';
import { callT, callTs, type Tensor } from '../torch/tensor.js';

const kthvalue = op('aten::kthvalue');
const anyDim = op('aten::any', 'dim');

/** Logical or along `dim` of a bool tensor. */
const anyAlong = (t: Tensor, dim: number): Tensor => callT(anyDim, t.handle, dim, false);

/** Options of {@link precisionRecall}. */
export interface PrecisionRecallOptions {
  /** Neighbourhood size (default 3). */
  k?: number;
  /** Rows and columns per distance block (default 10,000). */
  batchSize?: number;
}

/** Squared distances (float32) between the rows of u (m, D) and of v (n, D): (m, n). */
export function squaredDistances(u: Tensor, v: Tensor): Tensor {
  return scope(() => {
    const nu = u.square().sum(1, true);
    const nv = v.square().sum(1, true).t();
    return nu.sub(u.matmul(v.t()).mul(2)).add(nv).clamp(0);
  });
}

/** Index ranges [start, end) of blocks of `size` over `n`. */
function blocks(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(s + size, n)]);
  return out;
}

/** Each point's k-th nearest-neighbour squared distance within its own set (the point itself is entry 0). */
export function manifoldRadii(features: Tensor, k = 3, batchSize = 10_000): Tensor {
  const n = features.shape[0]!;
  if (n <= k) throw new RangeError(`precision/recall needs more than k = ${k} points per set, got ${n}`);
  return noGrad(() =>
    scope(() => {
      const f = features.to('float32');
      const parts = blocks(n, batchSize).map(([s, e]) =>
        scope(() => {
          const rows = f.narrow(0, s, e - s);
          const d = torch.cat(
            blocks(n, batchSize).map(([cs, ce]) => squaredDistances(rows, f.narrow(0, cs, ce - cs))),
            1,
          );
          return (callTs(kthvalue, d.handle, k + 1, 1, false) as [Tensor, Tensor])[0];
        }),
      );
      return torch.cat(parts, 0);
    }),
  );
}

/** Precision and recall of `sample` features (N, D) against `reference` features (M, D). */
export function precisionRecall(
  reference: Tensor,
  sample: Tensor,
  { k = 3, batchSize = 10_000 }: PrecisionRecallOptions = {},
): { precision: number; recall: number } {
  if (reference.ndim !== 2 || sample.ndim !== 2 || reference.shape[1] !== sample.shape[1]) {
    throw new RangeError(
      `precision/recall needs features (M, D) and (N, D), got [${reference.shape.join(', ')}] and [${sample.shape.join(', ')}]`,
    );
  }
  return noGrad(() =>
    scope(() => {
      const ref = reference.to('float32');
      const smp = sample.to('float32');
      const rRef = manifoldRadii(ref, k, batchSize);
      const rSmp = manifoldRadii(smp, k, batchSize);
      const refInside = new Uint8Array(ref.shape[0]!);
      const smpInside = new Uint8Array(smp.shape[0]!);
      for (const [s, e] of blocks(ref.shape[0]!, batchSize)) {
        for (const [cs, ce] of blocks(smp.shape[0]!, batchSize)) {
          scope(() => {
            const d = squaredDistances(ref.narrow(0, s, e - s), smp.narrow(0, cs, ce - cs));
            const refHit = anyAlong(d.le(rSmp.narrow(0, cs, ce - cs).unsqueeze(0)), 1).toTypedArray();
            const smpHit = anyAlong(d.le(rRef.narrow(0, s, e - s).unsqueeze(1)), 0).toTypedArray();
            refHit.forEach((hit, i) => (refInside[s + i] |= Number(hit)));
            smpHit.forEach((hit, j) => (smpInside[cs + j] |= Number(hit)));
          });
        }
      }
      const share = (a: Uint8Array) => a.reduce((sum, v) => sum + v, 0) / a.length;
      return { precision: share(smpInside), recall: share(refInside) };
    }),
  );
}
