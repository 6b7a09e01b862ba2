/**
 * Decoding and the official uint8 packaging; PNG files and grids.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import * as torch from '../torch/index.js';
import { PixelDecoder, toUint8Images } from './decode.js';
import { encodePng, makeGrid, readRgb, splitBatch, writePng } from '../eval/images.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-decode-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

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

describe('PNG files and grids', () => {
  test('PNG round trip is lossless; writes are atomic (no temporary files left)', async () => {
    const img = { data: Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 53) % 256), width: 5, height: 4, channels: 3 as const };
    const back = await readRgb(await encodePng(img));
    assert.deepEqual([back.width, back.height], [5, 4]);
    assert.deepEqual([...back.data], [...img.data]);
    const file = path.join(tmp, 'sub', '000001.png');
    await writePng(file, img);
    assert.ok(existsSync(file));
    assert.deepEqual(readdirSync(path.dirname(file)), ['000001.png']);
    assert.deepEqual([...(await readRgb(file)).data], [...img.data]);
  });

  test("grid geometry of torchvision's make_grid (padding 2, ⌈√n⌉ per row)", () => {
    const n = 5;
    const h = 3;
    const w = 2;
    const batch = new Uint8Array(n * h * w * 3);
    for (let i = 0; i < n; i++) batch.fill(10 * (i + 1), i * h * w * 3, (i + 1) * h * w * 3);
    const g = makeGrid(splitBatch(batch, n, h, w));
    // 3 per row, 2 rows: width 3·(2+2)+2 = 14, height 2·(3+2)+2 = 12
    assert.deepEqual([g.width, g.height], [14, 12]);
    const px = (y: number, x: number) => g.data[(y * g.width + x) * 3]!;
    assert.equal(px(0, 0), 0);
    assert.equal(px(2, 2), 10);
    assert.equal(px(2, 6), 20);
    assert.equal(px(2, 10), 30);
    assert.equal(px(7, 2), 40);
    assert.equal(px(7, 6), 50);
    assert.equal(px(7, 10), 0, 'empty slot stays padding');
    assert.equal(makeGrid(splitBatch(batch, n, h, w), { nrow: 5 }).width, 5 * 4 + 2);
  });
});
