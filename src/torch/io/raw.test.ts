import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byteLengthOf, contiguousStrides, gatherStrided, isContiguous, isRawTensor, numel, rawTensor, viewExtent } from './raw.js';
import { rng } from '../../../test/io-testing.js';

test('numel and byteLengthOf', () => {
  assert.equal(numel([]), 1);
  assert.equal(numel([2, 0, 3]), 0);
  assert.equal(byteLengthOf('bfloat16', [3, 4]), 24);
  assert.throws(() => numel([-1]), RangeError);
  assert.throws(() => numel([1.5]), RangeError);
  assert.throws(() => numel([2 ** 40, 2 ** 40]), RangeError);
});

test('rawTensor checks the byte length and copies the shape', () => {
  const shape = [2, 2];
  const t = rawTensor('int16', shape, new Uint8Array(8));
  shape[0] = 9;
  assert.deepEqual(t.shape, [2, 2]);
  assert.ok(isRawTensor(t));
  assert.throws(() => rawTensor('float32', [3], new Uint8Array(8)), /needs 12 bytes, got 8/);
  assert.throws(() => rawTensor('complex64' as never, [1], new Uint8Array(8)), TypeError);
});

/** Reference: element-by-element gather. */
function naive(storage: Uint8Array, item: number, offset: number, shape: number[], stride: number[]): Uint8Array {
  const n = numel(shape);
  const out = new Uint8Array(n * item);
  const cs = contiguousStrides(shape);
  for (let i = 0; i < n; i++) {
    let e = offset;
    for (let d = 0; d < shape.length; d++) e += (Math.floor(i / (cs[d] as number)) % (shape[d] as number)) * (stride[d] as number);
    out.set(storage.subarray(e * item, (e + 1) * item), i * item);
  }
  return out;
}

test('gatherStrided matches a naive gather on random views', () => {
  const r = rng(7);
  const storage = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) & 0xff);
  for (let k = 0; k < 300; k++) {
    const nd = Math.floor(r() * 5);
    const shape = Array.from({ length: nd }, () => Math.floor(r() * 4) + (r() < 0.1 ? 0 : 1));
    const stride = Array.from({ length: nd }, () => Math.floor(r() * 6));
    const item = [1, 2, 4, 8][Math.floor(r() * 4)] as number;
    const offset = Math.floor(r() * 10);
    const ext = viewExtent(offset, shape, stride);
    if (ext !== null && ext.end * item > storage.byteLength) continue;
    assert.deepEqual(
      gatherStrided(storage, item, offset, shape, stride),
      naive(storage, item, offset, shape, stride),
      `shape ${shape} stride ${stride}`,
    );
  }
});

test('transposed view', () => {
  // base = arange(6).reshape(2, 3) as uint8; base.t() has shape [3, 2], stride [1, 3]
  const base = Uint8Array.from([0, 1, 2, 3, 4, 5]);
  assert.deepEqual([...gatherStrided(base, 1, 0, [3, 2], [1, 3])], [0, 3, 1, 4, 2, 5]);
  assert.deepEqual([...gatherStrided(base, 1, 4, [], [])], [4]);
});

test('viewExtent and isContiguous', () => {
  assert.deepEqual(viewExtent(2, [2, 3], [3, 1]), { begin: 2, end: 8 });
  assert.equal(viewExtent(0, [0, 3], [3, 1]), null);
  assert.throws(() => viewExtent(-1, [1], [1]), RangeError);
  assert.throws(() => viewExtent(0, [1, 2], [1]), RangeError);
  assert.ok(isContiguous([2, 3], [3, 1]));
  assert.ok(isContiguous([2, 1], [1, 99]));
  assert.ok(!isContiguous([3, 2], [1, 3]));
});
