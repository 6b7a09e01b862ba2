/**
 * Decoding and the official uint8 packaging.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as torch from '../torch/index.js';
import { PixelDecoder, toUint8Images } from './decode.js';

/** The official formula in float32: uint8(clamp(255·((x+1)/2), 0, 255)), truncating. */
function official(x: number): number {
  const f = Math.fround;
  const v = f(f(f(f(x) + 1) / 2) * 255);
  return Math.trunc(Math.min(255, Math.max(0, v)));
}

describe('uint8 packaging', () => {
  test('matches the official clamp-and-truncate formula, NHWC layout, gray → RGB, NaN → 0', () => {
    torch.scope(() => {
      const vals = [-2, -1, -0.999, -0.5, 0, 0.0039, 0.5, 0.99, 0.996, 1, 1.5, NaN];
      const x = torch.tensor(vals, { shape: [1, 3, 2, 2] });
      const u = toUint8Images(x);
      assert.deepEqual(u.shape, [1, 2, 2, 3]);
      assert.equal(u.dtype, 'uint8');
      const got = u.toArray();
      // element (c, h, w) of the input lands at (h, w, c)
      for (let c = 0; c < 3; c++) {
        for (let p = 0; p < 4; p++) {
          const v = vals[c * 4 + p]!;
          assert.equal(got[p * 3 + c], Number.isNaN(v) ? 0 : official(v), `value ${v}`);
        }
      }
      assert.equal(official(0), 127, 'truncation, not rounding');
      const gray = toUint8Images(torch.tensor([-1, 0, 1, 0.5], { shape: [1, 1, 2, 2] }));
      assert.deepEqual(gray.toArray(), [0, 0, 0, 127, 127, 127, 255, 255, 255, 191, 191, 191]);
      assert.throws(() => toUint8Images(torch.zeros([1, 4, 2, 2])), /\(B, 1\|3, H, W\)/);
    });
  });

  test('pixel decoder: image = x / scale + shift', () => {
    torch.scope(() => {
      const d = new PixelDecoder({ scale: 2, shift: 0.5 });
      assert.deepEqual(d.decode(torch.tensor([2, -1], { dtype: 'float64' })).toArray(), [1.5, 0]);
      assert.deepEqual(new PixelDecoder().decode(torch.tensor([0.25])).toArray(), [0.25]);
      assert.throws(() => new PixelDecoder({ scale: 0 }), /non-zero/);
    });
  });
});
