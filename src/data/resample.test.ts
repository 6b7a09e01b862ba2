import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { centerCropDhariwal, roundHalfEven } from './center-crop.js';
import { decodeRgb } from './decode.js';
import { resizeHWC, type ResampleFilter } from './resample.js';
import { fixturePath } from '../../test/fixture-path.js';

const PIL = fixturePath('data', 'pil');

interface Digest {
  readonly sha256: string;
  readonly sum: number;
  readonly head: number[];
}
interface Expected {
  readonly resize: (Digest & { input: string; size: [number, number]; filter: ResampleFilter })[];
  readonly center_crop: (Digest & { input: string; resolution: number })[];
}
const expected = JSON.parse(readFileSync(join(PIL, 'expected.json'), 'utf8')) as Expected;

function assertDigest(bytes: Uint8Array, want: Digest, what: string): void {
  const sum = bytes.reduce((a, b) => a + b, 0);
  assert.deepEqual([...bytes.subarray(0, 12)], want.head, `${what}: first bytes`);
  assert.equal(sum, want.sum, `${what}: pixel sum`);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), want.sha256, `${what}: sha256`);
}

test('resizeHWC matches Pillow 9.4 bit for bit (box, bilinear, bicubic; RGB and L; up and down)', async () => {
  for (const c of expected.resize) {
    const rgb = await decodeRgb(join(PIL, c.input), 'drop');
    const gray = c.input.startsWith('gray');
    const src = gray ? rgb.data.filter((_, i) => i % 3 === 0) : rgb.data;
    const out = resizeHWC(src, rgb.width, rgb.height, gray ? 1 : 3, c.size[0], c.size[1], c.filter);
    assertDigest(out, c, `${c.input} → ${c.size.join('x')} ${c.filter}`);
  }
});

test('centerCropDhariwal matches ADM center_crop_arr on Pillow', async () => {
  assert.equal(expected.center_crop.length, 3);
  for (const c of expected.center_crop) {
    const img = await decodeRgb(join(PIL, c.input), 'drop');
    const out = centerCropDhariwal(img, c.resolution);
    assert.equal(out.width, c.resolution);
    assertDigest(out.data, c, `${c.input} crop ${c.resolution}`);
  }
});

test('roundHalfEven is Python round', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 2.4999, 2.6, 31.5, 32.5].map(roundHalfEven), [0, 2, 2, 2, 3, 32, 32]);
});

test('resizeHWC rejects a wrong buffer size', () => {
  assert.throws(() => resizeHWC(new Uint8Array(5), 2, 2, 1, 1, 1, 'box'), /expected 4 bytes/);
});
