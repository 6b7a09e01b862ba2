import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openImageFolder } from './image-folder.js';
import { hwcToChw } from './pixels.js';
import { fixturePath } from '../../test/fixture-path.js';

const PIL = fixturePath('data', 'pil');

interface FolderCase {
  readonly file: string;
  readonly resolution: number;
  readonly sha256: string;
  readonly sum: number;
}

test('class folders, recursive sorted files, and ADM center crops equal to Pillow', async () => {
  const expected = (JSON.parse(readFileSync(join(PIL, 'expected.json'), 'utf8')) as { folder: FolderCase[] }).folder;
  const ds = openImageFolder({ root: join(PIL, 'folder'), resolution: 16 });
  assert.deepEqual(ds.classNames, ['bird', 'cat']);
  assert.deepEqual(ds.files, ['bird/b0.png', 'bird/b1.png', 'cat/nested/c0.png']);
  assert.deepEqual([...ds.labels], [0, 0, 1]);
  assert.deepEqual([ds.channels, ds.height, ds.width], [3, 16, 16]);
  for (const [i, want] of expected.entries()) {
    assert.equal(ds.files[i], want.file);
    const { pixels, label } = await ds.get(i);
    assert.equal(label, ds.labels[i]);
    // Expected digests are of HWC arrays; the dataset delivers CHW.
    const hwc = new Uint8Array(pixels.length);
    const plane = 16 * 16;
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) hwc[p * 3 + c] = pixels[c * plane + p]!;
    assert.deepEqual(hwcToChw(hwc, 16, 16, 3), pixels);
    assert.equal(
      hwc.reduce((a, b) => a + b, 0),
      want.sum,
      want.file,
    );
    assert.equal(createHash('sha256').update(hwc).digest('hex'), want.sha256, want.file);
  }
  await assert.rejects(ds.get(3), /out of range/);
});

test('clear errors: missing root, no class folders, empty class folder, undecodable file', async () => {
  assert.throws(() => openImageFolder({ root: '/nonexistent/imagenet', resolution: 8 }), /image folder not found: \/nonexistent\/imagenet/);
  const root = mkdtempSync(join(tmpdir(), 'reg-folder-'));
  assert.throws(() => openImageFolder({ root, resolution: 8 }), /no class subfolders/);
  mkdirSync(join(root, 'a'));
  writeFileSync(join(root, 'a', 'readme.txt'), 'x');
  assert.throws(() => openImageFolder({ root, resolution: 8 }), /class folder a holds no image/);
  writeFileSync(join(root, 'a', 'broken.png'), 'not a png');
  const ds = openImageFolder({ root, resolution: 8 });
  await assert.rejects(ds.get(0), /cannot decode image .*broken\.png/);
});
