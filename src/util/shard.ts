/**
 * How a global batch is split across the ranks of a data-parallel run, in one place (the loader, the
 * synthetic source and the trainer's per-sample noise all follow it): rank r of W takes the positions
 * r, r + W, r + 2W, … of the global batch, as PyTorch's DistributedSampler does.
 */

/** The positions in [0, count) that rank `rank` of `worldSize` takes. */
export function shardPositions(count: number, rank: number, worldSize: number): number[] {
  if (!Number.isInteger(worldSize) || worldSize < 1 || !Number.isInteger(rank) || rank < 0 || rank >= worldSize)
    throw new RangeError(`bad rank ${rank} / worldSize ${worldSize}`);
  const out: number[] = [];
  for (let k = rank; k < count; k += worldSize) out.push(k);
  return out;
}
