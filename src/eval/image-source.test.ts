import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fixturePath } from '../../test/fixture-path.js';
import { openImageSource } from './image-source.js';
import { encodePng } from './images.js';
import { writeNpz } from './npz.js';

/** The fixture's images: (i·7) mod 256 over the flattened (5, 6, 4, 3) array. */
const IMAGES = Uint8Array.from({ length: 5 * 6 * 4 * 3 }, (_, i) => (i * 7) % 256);

test('an .npz read by index range: stored (positioned reads) and compressed give the same images', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'image-source-'));
  try {
    const stored = path.join(dir, 'stored.npz');
    writeNpz(stored, { arr_0: { dtype: 'uint8', shape: [5, 6, 4, 3], data: IMAGES } });
    for (const file of [stored, fixturePath('eval/images_compressed.npz')]) {
      const src = await openImageSource(file);
      assert.deepEqual([src.count, src.height, src.width], [5, 6, 4]);
      assert.deepEqual(await src.read(1, 3), IMAGES.subarray(1 * 72, 4 * 72));
      assert.match(src.fingerprint(), /^[0-9a-f]{64}$/);
      src.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('grey arr_0 (N, H, W) comes out as RGB', async () => {
  const src = await openImageSource(fixturePath('eval/images_grey.npz'));
  const rgb = await src.read(0, 5);
  assert.equal(rgb.length, 5 * 6 * 4 * 3);
  for (let p = 0; p < 5 * 6 * 4; p++) for (let c = 0; c < 3; c++) assert.equal(rgb[p * 3 + c], IMAGES[p * 3]);
  src.close();
});

test('a folder: images in sorted name order; its fingerprint changes with any byte', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'image-source-'));
  try {
    const folder = path.join(dir, 'imgs');
    mkdirSync(folder);
    for (const i of [2, 0, 1]) {
      writeFileSync(
        path.join(folder, `${i}.png`),
        await encodePng({ data: IMAGES.subarray(i * 72, (i + 1) * 72), width: 4, height: 6, channels: 3 }),
      );
    }
    writeFileSync(path.join(folder, 'notes.txt'), 'not an image');
    const src = await openImageSource(folder);
    assert.deepEqual([src.count, src.height, src.width], [3, 6, 4]);
    assert.deepEqual(await src.read(0, 3), IMAGES.subarray(0, 3 * 72));
    const before = src.fingerprint();
    writeFileSync(path.join(folder, '1.png'), await encodePng({ data: IMAGES.subarray(3 * 72, 4 * 72), width: 4, height: 6, channels: 3 }));
    assert.notEqual((await openImageSource(folder)).fingerprint(), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('not a set of images: clear errors naming the file', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'image-source-'));
  try {
    const noImages = path.join(dir, 'stats.npz');
    writeNpz(noImages, { mu: { dtype: 'float64', shape: [2], data: new Uint8Array(16) } });
    await assert.rejects(openImageSource(noImages), /stats\.npz: no 'arr_0' member/);
    const floats = path.join(dir, 'floats.npz');
    writeNpz(floats, { arr_0: { dtype: 'float32', shape: [1, 2, 2, 3], data: new Uint8Array(48) } });
    await assert.rejects(openImageSource(floats), /floats\.npz: 'arr_0' is float32 \[1, 2, 2, 3\], expected uint8 images/);
    await assert.rejects(openImageSource(path.join(dir, 'none')), /none: no such file or folder/);
    writeFileSync(path.join(dir, 'x.txt'), '');
    await assert.rejects(openImageSource(path.join(dir, 'x.txt')), /expected an \.npz/);
    mkdirSync(path.join(dir, 'empty'));
    await assert.rejects(openImageSource(path.join(dir, 'empty')), /no PNG, JPEG or WebP images/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
