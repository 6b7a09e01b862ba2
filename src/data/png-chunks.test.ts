import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { fixturePath } from '../../test/fixture-path.js';
import { checkPngChunks, isPng } from './png-chunks.js';

const png = new Uint8Array(readFileSync(fixturePath('data', 'pil', 'gray-28x28.png')));

test('a PNG with intact chunks passes; truncation and a wrong chunk length are named', () => {
  assert.ok(isPng(png));
  assert.ok(!isPng(png.subarray(1)));
  checkPngChunks(png);
  assert.throws(() => checkPngChunks(png.subarray(0, png.byteLength - 12)), /^Error: PNG is truncated at byte 779 \(no IEND chunk\)$/);
  const long = png.slice();
  new DataView(long.buffer).setUint32(33, 1 << 30, false);
  assert.throws(() => checkPngChunks(long), /^Error: PNG chunk "IDAT" at byte 33 runs past the end of the file$/);
});

test('property: any change of one byte after the signature is an error (CRC-32 catches every single-byte error)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 8, max: png.byteLength - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const bad = png.slice();
      bad[at] = (bad[at] as number) ^ x;
      assert.throws(() => checkPngChunks(bad), /^Error: PNG (chunk .* at byte \d+ (has a wrong CRC-32|runs past the end)|is truncated)/);
    }),
    { seed: 12, numRuns: 300 },
  );
});
