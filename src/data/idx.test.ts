import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseIdx, readIdxFile } from './idx.js';
import { fixturePath } from '../../test/fixture-path.js';

const FMNIST = fixturePath('data', 'fashion-mnist');

function idx(type: number, shape: number[], body: number[]): Uint8Array {
  const head = [0, 0, type, shape.length];
  for (const d of shape) head.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return Uint8Array.from([...head, ...body]);
}

test('parseIdx reads uint8 and big-endian int32 / float32', () => {
  const u8 = parseIdx(idx(0x08, [2, 3], [1, 2, 3, 4, 5, 6]));
  assert.equal(u8.dtype, 'uint8');
  assert.deepEqual(u8.shape, [2, 3]);
  assert.deepEqual([...u8.data], [1, 2, 3, 4, 5, 6]);
  const i32 = parseIdx(idx(0x0c, [2], [0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0]));
  assert.deepEqual([...i32.data], [-2, 256]);
  const f32 = parseIdx(idx(0x0d, [1], [0x3f, 0xc0, 0, 0]));
  assert.deepEqual([...f32.data], [1.5]);
});

test('parseIdx rejects bad magic, unknown types, truncation and trailing bytes', () => {
  assert.throws(() => parseIdx(Uint8Array.from([1, 0, 8, 1]), 'x.idx'), /x\.idx: not an IDX file/);
  assert.throws(() => parseIdx(Uint8Array.from([0, 0, 0x42, 1]), 'x.idx'), /unknown IDX type code 0x42/);
  assert.throws(() => parseIdx(Uint8Array.from([0, 0, 8, 2, 0, 0, 0]), 'x.idx'), /truncated IDX header/);
  assert.throws(() => parseIdx(idx(0x08, [2, 3], [1, 2, 3]), 'x.idx'), /truncated IDX data: shape \[2, 3\] needs 6 bytes, found 3/);
  assert.throws(() => parseIdx(idx(0x08, [2], [1, 2, 3])), /1 unexpected trailing bytes/);
});

test('readIdxFile gunzips the real Fashion-MNIST slice', () => {
  const images = readIdxFile(join(FMNIST, 't10k-images-idx3-ubyte.gz'));
  assert.deepEqual(images.shape, [300, 28, 28]);
  const labels = readIdxFile(join(FMNIST, 't10k-labels-idx1-ubyte.gz'));
  assert.deepEqual([...labels.data.subarray(0, 12)], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5]);
});

test('readIdxFile reports a truncated or corrupt gzip stream with the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reg-idx-'));
  const whole = readFileSync(join(FMNIST, 't10k-images-idx3-ubyte.gz'));
  const cut = join(dir, 'cut.gz');
  writeFileSync(cut, whole.subarray(0, whole.length >> 1));
  assert.throws(
    () => readIdxFile(cut),
    (e: Error) => e.message.startsWith(`${cut}: corrupt or truncated gzip`),
  );
  const short = join(dir, 'short.gz');
  writeFileSync(short, gzipSync(idx(0x08, [10, 28, 28], [1, 2, 3])));
  assert.throws(() => readIdxFile(short), /short\.gz: truncated IDX data/);
});

test('parseIdx refuses more than IDX_MAX_DIMS dimensions (the 34-dim NaN-product recipe) by name', () => {
  const hostile = idx(0x08, [...Array<number>(33).fill(0xffffffff), 0], []);
  assert.throws(() => parseIdx(hostile, 'x.idx'), /x\.idx: IDX header declares 34 dimensions, at most 8 are supported/);
});

test('parseIdx sizes the data in exact integers: a huge product is refused, a zero dimension is empty', () => {
  assert.throws(
    () => parseIdx(idx(0x0e, [0xffffffff, 0xffffffff, 2], []), 'x.idx'),
    /x\.idx: IDX shape \[4294967295, 4294967295, 2\] declares 295147905041913872400 bytes of data, too many to read/,
  );
  const empty = parseIdx(idx(0x08, [...Array<number>(7).fill(0xffffffff), 0], []), 'x.idx');
  assert.deepEqual([empty.shape.length, empty.data.length], [8, 0]);
});

test('readIdxFile caps gzip inflation at the size the IDX header declares', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reg-idx-'));
  const bomb = join(dir, 'bomb.gz');
  // A header declaring 2×2 bytes followed by 64 MiB of zeros: compresses to ~64 KiB.
  writeFileSync(bomb, gzipSync(Buffer.concat([idx(0x08, [2, 2], [1, 2, 3, 4]), Buffer.alloc(64 << 20)])));
  const t0 = Date.now();
  assert.throws(
    () => readIdxFile(bomb),
    new RegExp(`^Error: ${bomb}: gzip stream inflates to more than the 16 bytes its IDX header declares$`),
  );
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  const huge = join(dir, 'huge.gz');
  // A header declaring 3.2 GB in a stream of a few dozen bytes.
  writeFileSync(huge, gzipSync(idx(0x08, [50000, 256, 256], [])));
  assert.throws(
    () => readIdxFile(huge),
    /huge\.gz: IDX header declares 3276800016 bytes, more than this \d+-byte gzip stream can inflate to/,
  );
  const exact = join(dir, 'exact.gz');
  writeFileSync(exact, gzipSync(idx(0x08, [2, 2], [1, 2, 3, 4])));
  assert.deepEqual([...readIdxFile(exact).data], [1, 2, 3, 4]);
  const hidden = join(dir, 'hidden.gz');
  // A gzip header with a 20 KB file name (FNAME): the IDX header lies beyond the probed prefix.
  const plain = gzipSync(idx(0x08, [1], [7]));
  const fname = Buffer.concat([Buffer.alloc(20000, 0x61), Buffer.from([0])]);
  writeFileSync(
    hidden,
    Buffer.concat([plain.subarray(0, 3), Buffer.from([plain[3]! | 0x08]), plain.subarray(4, 10), fname, plain.subarray(10)]),
  );
  assert.throws(() => readIdxFile(hidden), /hidden\.gz: no IDX header in the first 16384 bytes of the gzip stream/);
});
