/**
 * The feature pass of `reg eval` split across the ranks of a launched run (`reg launch`, torchrun,
 * Slurm): rank r takes one contiguous slice of the images, made of whole batches of the one-process
 * pass, so that every image goes through the networks in the same batch as when one process runs
 * alone; the slices' features are then gathered on every rank (one c10d allgather of all feature sets
 * side by side, each slice padded with zero rows to the length of the first, the padding dropped
 * after) and joined in rank order, giving the features of one pass.
 *
 *   slice of rank r = images [min(n, r·k·b), min(n, (r+1)·k·b)),  k = ⌈⌈n / b⌉ / W⌉ batches of b images
 */
import type { ProcessGroup } from '../torch/distributed.js';
import { broadcastJson } from '../torch/distributed-values.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { featurePass, type FeatureNetwork, type FeaturePassOptions, type FeatureSet } from './feature-pass.js';
import type { ImageSource } from './image-source.js';

/** The slice [start, end) of `count` images that rank `rank` of `worldSize` takes (see the file comment). */
export function shardSlice(count: number, rank: number, worldSize: number, batchSize: number): { start: number; end: number } {
  if (!(Number.isInteger(worldSize) && worldSize >= 1 && Number.isInteger(rank) && rank >= 0 && rank < worldSize))
    throw new RangeError(`shardSlice: bad rank ${rank} of ${worldSize}`);
  const per = Math.ceil(Math.ceil(count / batchSize) / worldSize) * batchSize;
  return { start: Math.min(count, rank * per), end: Math.min(count, (rank + 1) * per) };
}

/** Options of {@link shardedFeaturePass}. */
export interface ShardedPassOptions extends Pick<FeaturePassOptions, 'batchSize'> {
  /** The group of a launched run; null or absent: one process does the whole pass. */
  group?: ProcessGroup | null;
  /** Progress: called once with a label and this rank's image count; returns the per-batch tick. */
  progress?: (label: string, total: number) => (n: number) => void;
  /** What the pass is, for the progress label (in a group it gets "rank r: a of n images"). */
  label?: string;
}

/**
 * Features of every image of `source` from every network, on every rank: each rank runs its slice
 * (its progress counts its own images), then the slices are gathered. Without a group (or in a
 * world of one) it is {@link featurePass}.
 */
export async function shardedFeaturePass(
  source: ImageSource,
  networks: readonly FeatureNetwork[],
  { group, batchSize = 64, progress, label = 'features' }: ShardedPassOptions = {},
): Promise<Map<string, FeatureSet>> {
  if (!group || group.worldSize === 1 || source.count === 0) {
    const onBatch = progress?.(label, source.count);
    return featurePass(source, networks, { batchSize, ...(onBatch ? { onBatch } : {}) });
  }
  const slices = Array.from({ length: group.worldSize }, (_, r) => shardSlice(source.count, r, group.worldSize, batchSize));
  const { start, end } = slices[group.rank]!;
  const onBatch = progress?.(`${label} (rank ${group.rank}: ${end - start} of ${source.count} images)`, end - start);
  const mine = await featurePass(source, networks, { start, end, batchSize, ...(onBatch ? { onBatch } : {}) });
  // rank 0's slice is the longest and never empty: its feature widths are every rank's
  const widths = await broadcastJson(
    group,
    Object.fromEntries([...mine].map(([net, set]) => [net, Object.fromEntries(Object.entries(set).map(([k, t]) => [k, t.shape[1]!]))])),
  );
  const rows = slices[0]!.end - slices[0]!.start;
  // every feature set side by side in one (rows, ΣD) matrix: one allgather (Gloo takes one tensor per rank)
  const columns = Object.entries(widths).flatMap(([net, set]) => Object.entries(set).map(([k, d]) => ({ net, k, d })));
  const width = columns.reduce((sum, c) => sum + c.d, 0);
  const input = torch.scope(() =>
    torch.cat(
      columns.map(({ net, k, d }) => padRows(mine.get(net)?.[k], rows, d)),
      1,
    ),
  );
  for (const set of mine.values()) for (const t of Object.values(set)) t.dispose();
  const outputs = Array.from({ length: group.worldSize }, () => torch.zeros([rows, width], { dtype: 'float32' }));
  try {
    await group.allgather([outputs], [input]).wait();
    return torch.scope(() => {
      const out = new Map<string, FeatureSet>(Object.keys(widths).map((net) => [net, {}]));
      let at = 0;
      for (const { net, k, d } of columns) {
        const parts = slices.flatMap(({ start, end }, r) => (end > start ? [outputs[r]!.narrow(0, 0, end - start).narrow(1, at, d)] : []));
        out.get(net)![k] = torch.cat(parts, 0).contiguous();
        at += d;
      }
      return out;
    });
  } finally {
    for (const t of [input, ...outputs]) t.dispose();
  }
}

/** (rows, d): the features of a slice (absent for an empty one) followed by zero rows. */
function padRows(features: Tensor | undefined, rows: number, d: number): Tensor {
  const have = features?.shape[0] ?? 0;
  if (features === undefined || have === 0) return torch.zeros([rows, d], { dtype: 'float32' });
  return have === rows ? features : torch.cat([features, torch.zeros([rows - have, d], { dtype: 'float32' })], 0);
}
