/**
 * Randomness owned by samples rather than by processes: the draws for sample `key` of a stream come from
 * a CPU generator of their own, seeded mixSeed(seed, stream, key), so they are the same whichever rank,
 * micro-batch or device the sample lands on, and need no generator state to resume.
 */
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { fmix32 } from '../diffusion/noise.js';

/**
 * A 32-bit generator seed for stream `stream` at counter `k` of global seed `seed` (libtorch's CPU
 * generator keeps only 32 bits of a seed, so everything is mixed down to 32 bits).
 */
export function mixSeed(seed: number, stream: number, k = 0): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  const kLo = k >>> 0;
  const kHi = Math.floor(k / 2 ** 32) >>> 0;
  return fmix32(fmix32(fmix32(lo ^ Math.imul(stream, 0x9e3779b9)) ^ hi) ^ fmix32(kLo + 0x6a09e667) ^ kHi);
}

/**
 * For every key, calls `draw` with that key's generator (each returned tensor has a leading dimension of
 * 1 or more) and concatenates each field along dimension 0, in key order.
 */
export function drawPerSample<T extends Record<string, Tensor>>(
  seed: number,
  stream: number,
  keys: readonly number[],
  draw: (g: torch.Generator, key: number) => T,
): T {
  if (keys.length === 0) throw new RangeError('drawPerSample: no keys');
  return torch.scope(() => {
    const parts = keys.map((k) => draw(new torch.Generator(mixSeed(seed, stream, k)), k));
    const fields = Object.keys(parts[0]!) as (keyof T)[];
    return Object.fromEntries(fields.map((f) => [f, parts.length === 1 ? parts[0]![f] : torch.cat(parts.map((p) => p[f]))])) as T;
  });
}
