import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWeightGroup, halfToFloat } from './weights.js';

test('halfToFloat', () => {
  assert.deepEqual([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00, 0x0000].map(halfToFloat), [1, -2, 0.333251953125, 2 ** -24, Infinity, 0]);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

test('decodeWeightGroup: float32, uint8 and uint16 affine, float16, across two shards', () => {
  const f32 = new Uint8Array(new Float32Array([1.5, -2]).buffer);
  const u16 = new Uint8Array(new Uint16Array([0, 1000]).buffer);
  const f16 = new Uint8Array(new Uint16Array([0x3c00]).buffer);
  const all = Uint8Array.from([...f32, 0, 255, 7, ...u16, ...f16]);
  const group = {
    paths: ['s1', 's2'],
    weights: [
      { name: 'a/w', shape: [2], dtype: 'float32' },
      { name: 'b/q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8' as const, scale: 0.1, min: -1 } },
      { name: 'c/q', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16' as const, scale: 0.5, min: 2 } },
      { name: 'd/h', shape: [1, 1], dtype: 'float32', quantization: { dtype: 'float16' as const } },
    ],
  };
  const out = decodeWeightGroup(group, [all.subarray(0, 9), all.subarray(9)]);
  assert.deepEqual(
    out.map((w) => w.name),
    ['a/w', 'b/q', 'c/q', 'd/h'],
  );
  assert.deepEqual([...out[0]!.data], [1.5, -2]);
  assert.deepEqual([...out[1]!.data], [-1, 255 * 0.1 - 1, 7 * 0.1 - 1].map(Math.fround));
  assert.deepEqual([...out[2]!.data], [2, 502]);
  assert.deepEqual(out[3]!.shape, [1, 1]);
  assert.deepEqual([...out[3]!.data], [1]);
  assert.throws(() => decodeWeightGroup(group, [all.subarray(0, 9)]), /b\/q: shards s1, s2 end at byte 9/);
  assert.throws(() => decodeWeightGroup(group, [all, new Uint8Array(1)]), /1 bytes beyond/);
  const noScale = { paths: ['s'], weights: [{ name: 'x', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8' as const } }] };
  assert.throws(() => decodeWeightGroup(noScale, [new Uint8Array(1)]), /without scale and min/);
  const int = { paths: ['s'], weights: [{ name: 'x', shape: [1], dtype: 'int32' }] };
  assert.throws(() => decodeWeightGroup(int, [new Uint8Array(4)]), /unsupported dtype int32/);
});
