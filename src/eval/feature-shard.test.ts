import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardSlice } from './feature-shard.js';

test('shard slices: whole batches, contiguous, covering every image once, the first the longest', () => {
  const slices = (n: number, w: number, b: number) => Array.from({ length: w }, (_, r) => shardSlice(n, r, w, b));
  assert.deepEqual(slices(12, 2, 4), [
    { start: 0, end: 8 },
    { start: 8, end: 12 },
  ]);
  assert.deepEqual(slices(12, 2, 64), [
    { start: 0, end: 12 },
    { start: 12, end: 12 },
  ]);
  assert.deepEqual(slices(50_000, 3, 64), [
    { start: 0, end: 16_704 },
    { start: 16_704, end: 33_408 },
    { start: 33_408, end: 50_000 },
  ]);
  assert.deepEqual(slices(5, 4, 1), [
    { start: 0, end: 2 },
    { start: 2, end: 4 },
    { start: 4, end: 5 },
    { start: 5, end: 5 },
  ]);
  assert.throws(() => shardSlice(10, 2, 2, 4), /bad rank 2 of 2/);
});
