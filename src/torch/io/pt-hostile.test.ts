/**
 * Issue 12 item 6 for `.pt`: stride-0 and overlapping views, declared storage sizes against the bytes in
 * the zip, deflate's limit, and allocation failures all end in a SerializationError that names the file
 * and the tensor, quickly and without allocating what the file asks for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SerializationError } from './errors.js';
import { readPtRaw, readPtWith } from './pt.js';
import type { RawTensor } from './raw.js';
import { MemorySource } from './source.js';
import { ZipReader } from './zip.js';
import { makePt, makeZip, ptPickle } from '../../../test/io-testing.js';

/** `f` must throw a SerializationError matching `pattern`, within 200 ms and 64 MiB of new array buffers. */
function refused(f: () => unknown, pattern: RegExp): void {
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  assert.throws(f, (e: unknown) => e instanceof SerializationError && pattern.test(e.message));
  assert.ok(performance.now() - t0 < 200, 'fails fast');
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 2 ** 20, 'in bounded memory');
}

test('a stride-0 view of a one-element storage (494 bytes → 512 MiB) is refused by name, before any copy', () => {
  const file = makePt([{ name: 'w', storage: '0', numel: 1, offset: 0, size: [2 ** 27], stride: [0] }]);
  assert.ok(file.byteLength < 600, `${file.byteLength} bytes`);
  refused(
    () => readPtRaw(file),
    /^<buffer>: tensor float32\[134217728\] on storage 0: view \(offset 0, size \[134217728\], stride \[0\]\) has 134217728 elements, more than its 1-element storage holds \(a stride-0 or overlapping view; re-save it with \.contiguous\(\)\)$/,
  );
  // 8 GiB asked through two stride-0 dimensions
  refused(
    () => readPtRaw(makePt([{ name: 'w', storage: '0', numel: 4, offset: 0, size: [2 ** 16, 2 ** 15], stride: [0, 0] }])),
    /tensor float32\[65536, 32768\] on storage 0: .*has 2147483648 elements, more than its 4-element storage/,
  );
});

test('overlapping views may copy their storage a few times (a tensor and its transpose), not without bound', () => {
  const full = (name: string) => ({ name, storage: 's', numel: 6, offset: 0, size: [2, 3], stride: [3, 1] });
  const ok = readPtRaw(makePt([full('a'), { ...full('b'), size: [3, 2], stride: [1, 3] }])) as Map<string, RawTensor>;
  assert.deepEqual(
    [...ok.values()].map((t) => t.shape),
    [
      [2, 3],
      [3, 2],
    ],
  );
  refused(
    () => readPtRaw(makePt(['a', 'b', 'c', 'd', 'e'].map(full))),
    /on storage s: the views of this 6-element storage copy 30 elements, more than 4 times the storage \(overlapping views\)/,
  );
});

test("a storage's declared size is checked against its record before the record is read or inflated", () => {
  const huge = makePt([{ name: 'w', storage: '0', numel: 2 ** 30, offset: 0, size: [4], stride: [1] }], { '0': new Uint8Array(16) });
  refused(() => readPtRaw(huge), /^<buffer>: record "archive\/data\/0" has 16 bytes, storage 0 needs 1073741824 × 4 = 4294967296$/);
});

test('a deflated record that declares more than deflate can produce is refused before inflating', () => {
  const file = makeZip([
    { name: 'archive/data.pkl', data: ptPickle([{ name: 'w', storage: '0', numel: 2 ** 28, offset: 0, size: [1], stride: [1] }]) },
    { name: 'archive/data/0', data: new Uint8Array(1000), deflate: true },
  ]);
  // raise the deflated record's uncompressed size (offset 24 of its central-directory record) to 1 GiB
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let at = file.byteLength - 22;
  while (!(view.getUint32(at, true) === 0x02014b50 && view.getUint16(at + 10, true) === 8)) at--;
  view.setUint32(at + 24, 2 ** 30, true);
  refused(
    () => readPtRaw(file),
    /^<buffer>: zip entry "archive\/data\/0": declares 1073741824 bytes from \d+ compressed, more than deflate can produce \(corrupt\)$/,
  );
});

test('a tensor that cannot be made (an allocation failure in the conversion) is named with its size', () => {
  const file = makePt([{ name: 'w', storage: '0', numel: 6, offset: 0, size: [2, 3], stride: [3, 1] }]);
  assert.throws(
    () =>
      readPtWith(file, () => {
        throw new RangeError('Array buffer allocation failed');
      }),
    (e: unknown) =>
      e instanceof SerializationError &&
      e.message === '<buffer>: tensor float32[2, 3] on storage 0: cannot make it (24 bytes): Array buffer allocation failed',
  );
});

test('a central-directory name that differs from its local header (an edit CRC-32 does not cover) is refused', () => {
  const zip = makeZip([{ name: 'archive/i64', data: new Uint8Array(8) }]);
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let cd = zip.byteLength - 22;
  while (view.getUint32(cd, true) !== 0x02014b50) cd--;
  zip[cd + 46 + 'archive/i'.length] = '-'.charCodeAt(0); // central name 'archive/i-4'
  const reader = new ZipReader(new MemorySource(zip));
  assert.throws(
    () => reader.read('archive/i-4'),
    (e: unknown) =>
      e instanceof SerializationError &&
      e.message === '<buffer>: zip entry "archive/i-4": its local header names it "archive/i64" (corrupt archive)',
  );
});

test('an end record whose entry count or directory size was edited (hiding entries) is refused', () => {
  const zip = makeZip([
    { name: 'a', data: new Uint8Array(4) },
    { name: 'b', data: new Uint8Array(4) },
  ]);
  const eocd = zip.byteLength - 22;
  const edit = (f: (v: DataView) => void): ZipReader => {
    const copy = zip.slice();
    f(new DataView(copy.buffer));
    return new ZipReader(new MemorySource(copy));
  };
  assert.deepEqual(edit(() => undefined).names(), ['a', 'b']);
  const refusedWith = (f: (v: DataView) => void, message: RegExp) =>
    assert.throws(
      () => edit(f),
      (e: unknown) => e instanceof SerializationError && message.test(e.message),
    );
  refusedWith((v) => {
    v.setUint16(eocd + 8, 1, true);
    v.setUint16(eocd + 10, 1, true);
  }, /^<buffer>: central directory holds 94 bytes but its 1 entries take 47 \(corrupt archive\)$/);
  refusedWith((v) => v.setUint16(eocd + 10, 1, true), /counts 2 entries on this disk but 1 in all/);
  refusedWith((v) => {
    for (const at of [8, 10, 12]) v.setUint16(eocd + at, 0, true);
    v.setUint16(eocd + 14, 0, true);
  }, /does not end where its end record starts/);
});
