/**
 * PNG files (lossless, atomic writes) and image grids laid out as torchvision's make_grid.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { encodePng, makeGrid, readRgb, splitBatch, writePng } from './images.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-images-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

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
