/**
 * Data parallelism as PyTorch's DistributedDataParallel does it, on a c10d {@link ProcessGroup}:
 *
 *   start        rank 0's parameters (and EMA, optimizer state) are broadcast to every rank
 *   each step    every rank back-propagates its slice of the global batch, then the gradients are
 *                averaged: g ← Σ_r (g_r / W), in buckets (25 MiB, the first 1 MiB) filled in reverse
 *                parameter order — the order in which backward produces them — so large models send
 *                few messages. Gloo has no average, hence scale, then sum.
 *
 * A parameter without a gradient on this rank joins its bucket as zeros (DDP's find_unused_parameters);
 * one that has no gradient on any rank keeps none, so the optimizer skips it exactly as a single process
 * would. The reduced gradient is bit-identical on every rank, so clipping, AdamW and EMA stay identical
 * across ranks without further communication.
 *
 * The buckets are all-reduced concurrently after backward (each its own c10d work); overlapping them
 * with backward itself would need per-parameter gradient hooks, which the autograd binding does not have.
 */
import * as torch from '../torch/index.js';
import type { DType, Tensor } from '../torch/index.js';
import type { ProcessGroup } from '../torch/distributed.js';
import { broadcastJson } from '../torch/distributed-values.js';

/** DDP's defaults: bucket_cap_mb = 25 and the 1 MiB first bucket. */
export const BUCKET_CAP_BYTES = 25 * 1024 * 1024;
export const FIRST_BUCKET_BYTES = 1024 * 1024;

const BYTES: Partial<Record<DType, number>> = { float32: 4, float64: 8, float16: 2, bfloat16: 2 };

/**
 * Groups parameter indices into buckets as DDP's compute_bucket_assignment_by_size: by dtype, in the
 * given order, a bucket closing once it holds ≥ its cap (the first cap, then `cap` for the rest).
 */
export function assignBuckets(
  sizes: readonly { numel: number; dtype: DType }[],
  order: readonly number[],
  { cap = BUCKET_CAP_BYTES, first = FIRST_BUCKET_BYTES } = {},
): number[][] {
  const open = new Map<DType, { indices: number[]; bytes: number; limit: number }>();
  const done: number[][] = [];
  for (const i of order) {
    const { numel, dtype } = sizes[i]!;
    const b = open.get(dtype) ?? { indices: [], bytes: 0, limit: done.length === 0 ? first : cap };
    b.indices.push(i);
    b.bytes += numel * (BYTES[dtype] ?? 4);
    open.set(dtype, b);
    if (b.bytes >= b.limit) {
      done.push(b.indices);
      open.delete(dtype);
    }
  }
  for (const b of open.values()) done.push(b.indices);
  return done;
}

/** Averages the gradients of `params` over the ranks of a group, in DDP's buckets. */
export class GradientReducer {
  readonly buckets: readonly number[][];

  constructor(
    readonly group: ProcessGroup,
    readonly params: readonly Tensor[],
    opts: { cap?: number; first?: number } = {},
  ) {
    const sizes = params.map((p) => ({ numel: p.numel, dtype: p.dtype }));
    const reversed = params.map((_, i) => params.length - 1 - i);
    this.buckets = assignBuckets(sizes, reversed, opts);
  }

  /** g ← Σ_r g_r / W for every parameter, in place (see the file comment for parameters without a gradient). */
  async allreduce(): Promise<void> {
    const W = this.group.worldSize;
    const { params } = this;
    const used = torch.tensor(
      params.map((p) => (p.grad === null ? 0 : 1)),
      { dtype: 'float32' },
    );
    const flats = torch.noGrad(() =>
      this.buckets.map((bucket) =>
        torch.keep(
          torch.scope(() =>
            torch
              .cat(
                bucket.map((i) => {
                  const p = params[i]!;
                  const g = p.grad;
                  return g === null ? torch.zeros([p.numel], { dtype: p.dtype, device: p.device }) : g.reshape(-1);
                }),
              )
              .div(W),
          ),
        ),
      ),
    );
    try {
      const works = [this.group.allreduce([used], 'max'), ...flats.map((f) => this.group.allreduce([f]))];
      for (const w of works) await w.wait();
      const anyUsed = used.toArray();
      torch.noGrad(() =>
        torch.scope(() => {
          for (const [b, bucket] of this.buckets.entries()) {
            let offset = 0;
            for (const i of bucket) {
              const p = params[i]!;
              const n = p.numel;
              if (anyUsed[i] === 0) p.grad = null;
              else {
                const reduced = flats[b]!.narrow(0, offset, n).view(...p.shape);
                const g = p.grad;
                if (g === null) p.grad = reduced.clone();
                else g.copy_(reduced);
              }
              offset += n;
            }
          }
        }),
      );
    } finally {
      used.dispose();
      for (const f of flats) f.dispose();
    }
  }
}

/** Every rank's `tensors` take rank `root`'s values, in place (one broadcast per dtype and device). */
export async function broadcastTensors(group: ProcessGroup, tensors: readonly Tensor[], root = 0): Promise<void> {
  const groups = new Map<string, Tensor[]>();
  for (const t of tensors) {
    const key = `${t.dtype}@${t.device}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const ts of groups.values()) {
    const flat = torch.noGrad(() => torch.cat(ts.map((t) => t.detach().reshape(-1))));
    try {
      await group.broadcast([flat], root).wait();
      torch.noGrad(() =>
        torch.scope(() => {
          let offset = 0;
          for (const t of ts) {
            t.copy_(flat.narrow(0, offset, t.numel).view(...t.shape));
            offset += t.numel;
          }
        }),
      );
    } finally {
      flat.dispose();
    }
  }
}

/** Something with a state dict of tensors in a fixed key order: a module, an EMA, an optimizer. */
export interface HasState {
  stateDict(): Map<string, Tensor>;
  loadStateDict(state: Map<string, Tensor>): unknown;
}

/**
 * Every rank's `holder` takes rank `root`'s state. The ranks built the same holder from the same
 * configuration, so the state dicts have the same keys, shapes and dtypes: the tensors are broadcast in
 * place, then loaded (for entries a state dict returns as fresh tensors, such as step counts).
 */
export async function broadcastState(group: ProcessGroup, holder: HasState, root = 0): Promise<void> {
  const state = holder.stateDict();
  const layout = [...state].map(([k, t]) => `${k}:${t.dtype}:${t.shape.join('x')}`).join(',');
  const rootLayout = await broadcastJson(group, layout, root);
  if (rootLayout !== layout) throw new Error(`rank ${group.rank}'s state does not have rank ${root}'s layout (different model settings?)`);
  await broadcastTensors(group, [...state.values()], root);
  if (group.rank !== root) holder.loadStateDict(state);
}
