import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import { SerializationError } from './errors.js';
import { readPtRaw } from './pt.js';
import type { RawTensor } from './raw.js';

const FILE = fixturePath('io/legacy_state.pt');
const expected = JSON.parse(readFileSync(fixturePath('io/legacy_state.expected.json'), 'utf8')) as Record<
  string,
  { dtype: string; shape: number[]; values: number[] }
>;

/** The elements of a RawTensor as numbers. */
function values(t: RawTensor): number[] {
  const b = t.data.slice().buffer;
  if (t.dtype === 'float32') return [...new Float32Array(b)];
  if (t.dtype === 'float64') return [...new Float64Array(b)];
  if (t.dtype === 'int64') return [...new BigInt64Array(b)].map(Number);
  if (t.dtype === 'float16') {
    // exact float16 → number for the few values of the fixture (normal numbers)
    return [...new Uint16Array(b)].map((h) => (h & 0x8000 ? -1 : 1) * 2 ** (((h >> 10) & 31) - 15) * (1 + (h & 1023) / 1024));
  }
  throw new Error(`dtype ${t.dtype} not in the fixture`);
}

test('legacy torch.save format: every tensor as PyTorch saved it (dtypes, a shared storage, a transposed view)', () => {
  const state = readPtRaw(FILE, { legacy: true }) as Map<string, RawTensor>;
  assert.deepEqual([...state.keys()], Object.keys(expected));
  for (const [k, want] of Object.entries(expected)) {
    const t = state.get(k)!;
    assert.equal(t.dtype, want.dtype, k);
    assert.deepEqual(t.shape, want.shape, k);
    assert.deepEqual(values(t), want.values, k);
  }
});

test('legacy format stays an error unless asked for', () => {
  assert.throws(() => readPtRaw(FILE), /legacy \(pre-1.6, non-zip\) torch.save format is not supported/);
});

test('truncated, extended or corrupted legacy files fail with SerializationError', () => {
  const good = new Uint8Array(readFileSync(FILE));
  for (const cut of [20, 200, good.length - 600, good.length - 9, good.length - 1]) {
    assert.throws(() => readPtRaw(good.subarray(0, cut), { legacy: true }), SerializationError, `cut at ${cut}`);
  }
  const longer = new Uint8Array(good.length + 4);
  longer.set(good);
  assert.throws(() => readPtRaw(longer, { legacy: true }), /4 trailing bytes after the last storage/);
  const badMagic = good.slice();
  badMagic[5] ^= 0xff;
  assert.throws(() => readPtRaw(badMagic, { legacy: true }), /not the magic number/);
});
