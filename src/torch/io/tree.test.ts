import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replaceLeaves } from './tree.js';

class Leaf {
  constructor(readonly v: number) {}
}
const isLeaf = (v: unknown): v is Leaf => v instanceof Leaf;

test('replaces leaves in arrays, Map values, Sets and plain objects, keeping order', () => {
  const a = new Leaf(1);
  const tree = {
    x: [
      a,
      2,
      new Map<unknown, unknown>([
        ['k', a],
        ['j', new Set([new Leaf(3), 4])],
      ]),
    ],
  };
  const out = replaceLeaves(tree, isLeaf, (l) => `L${l.v}`) as typeof tree;
  assert.equal(out, tree);
  assert.deepEqual(out, {
    x: [
      'L1',
      2,
      new Map<unknown, unknown>([
        ['k', 'L1'],
        ['j', new Set(['L3', 4])],
      ]),
    ],
  });
});

test('each shared leaf is replaced once; a matching root is replaced', () => {
  const a = new Leaf(1);
  let calls = 0;
  const out = replaceLeaves([a, a, [a]], isLeaf, () => ({ n: ++calls })) as unknown[];
  assert.equal(calls, 1);
  assert.equal(out[0], out[1]);
  assert.equal(
    replaceLeaves(a, isLeaf, () => 'root'),
    'root',
  );
});

test('cycles and deep nesting terminate without recursion', () => {
  const cyc: unknown[] = [new Leaf(5)];
  cyc.push(cyc);
  replaceLeaves(cyc, isLeaf, () => 'x');
  assert.equal(cyc[0], 'x');
  assert.equal(cyc[1], cyc);
  let deep: unknown[] = [new Leaf(0)];
  const root = deep;
  for (let i = 0; i < 200_000; i++) {
    const next: unknown[] = [];
    deep.push(next);
    deep = next;
  }
  deep.push(new Leaf(9));
  replaceLeaves(root, isLeaf, (l) => l.v);
  assert.equal(deep[0], 9);
});
