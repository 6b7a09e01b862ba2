/**
 * Collectives on plain JavaScript values, for the bookkeeping of a data-parallel run (loss terms, stop
 * decisions, which checkpoint to resume): numbers travel as a float64 tensor, JSON as UTF-8 bytes.
 */
import { tensor } from './creation.js';
import type { ProcessGroup } from './distributed.js';

/** Reduces plain numbers across ranks (in float64): the same array on every rank. */
export async function reduceNumbers(group: ProcessGroup, values: readonly number[], op: 'sum' | 'max' | 'min' = 'sum'): Promise<number[]> {
  const t = tensor(Float64Array.from(values));
  try {
    await group.allreduce([t], op).wait();
    return t.toArray();
  } finally {
    t.dispose();
  }
}

/** Rank `root`'s JSON value on every rank (the others pass anything; it is ignored). */
export async function broadcastJson<T>(group: ProcessGroup, value: T, root = 0): Promise<T> {
  const mine = group.rank === root ? new TextEncoder().encode(JSON.stringify(value)) : new Uint8Array(0);
  const [length] = await reduceNumbers(group, [mine.length], 'max');
  const buf = new Uint8Array(length!);
  buf.set(mine);
  const t = tensor(buf);
  try {
    await group.broadcast([t], root).wait();
    return JSON.parse(new TextDecoder().decode(new Uint8Array(t.toTypedArray() as Uint8Array))) as T;
  } finally {
    t.dispose();
  }
}
