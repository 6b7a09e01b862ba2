/**
 * Bounded-concurrency async loop.
 */

/**
 * Calls `fn(0) … fn(count − 1)` with at most `concurrency` calls pending at once and resolves when all
 * have finished; rejects with the first error (calls already started still run to completion).
 */
export async function forEachConcurrent(count: number, concurrency: number, fn: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, lane));
}
