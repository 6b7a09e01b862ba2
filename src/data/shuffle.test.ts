import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochPermutation, Rng } from './shuffle.js';

// Reference values from an independent Python implementation of SplitMix64 + xoshiro128**.
test('Rng reproduces the reference stream for (seed, stream)', () => {
  const a = new Rng(42);
  assert.deepEqual([a.nextUint32(), a.nextUint32(), a.nextUint32(), a.nextUint32()], [1552505907, 4113083374, 3991650357, 132206321]);
  const b = new Rng(42, 3);
  assert.deepEqual([b.nextUint32(), b.nextUint32()], [4270423161, 4248737757]);
  const c = new Rng(0);
  assert.deepEqual([c.nextUint32(), c.nextUint32()], [443589289, 1472243107]);
});

test('epochPermutation: reference orders, determinism, a permutation every time', () => {
  assert.deepEqual([...epochPermutation(10, 42, 0)], [8, 0, 1, 6, 3, 4, 2, 5, 9, 7]);
  assert.deepEqual([...epochPermutation(10, 42, 1)], [9, 7, 8, 6, 2, 3, 5, 4, 1, 0]);
  assert.deepEqual([...epochPermutation(10, 7, 0)], [5, 1, 2, 8, 6, 7, 0, 9, 4, 3]);
  const p = epochPermutation(60000, 1, 5);
  assert.deepEqual(p, epochPermutation(60000, 1, 5));
  assert.notDeepEqual(p, epochPermutation(60000, 1, 6));
  assert.deepEqual(
    [...p].sort((x, y) => x - y),
    Array.from({ length: 60000 }, (_, i) => i),
  );
});

test('nextBelow is in range and roughly uniform', () => {
  const rng = new Rng(9);
  const counts = new Array<number>(7).fill(0);
  for (let i = 0; i < 70000; i++) counts[rng.nextBelow(7)]!++;
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `count ${c}`);
  assert.throws(() => rng.nextBelow(0), /bad bound/);
  assert.throws(() => new Rng(-1), /non-negative/);
});
