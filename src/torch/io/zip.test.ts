import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32, crc32Js } from './crc32.js';
import { SerializationError } from './errors.js';
import { MemorySource } from './source.js';
import { makeZip, rng } from '../../../test/io-testing.js';
import { ZipReader } from './zip.js';

const enc = new TextEncoder();
const files = [
  { name: 'arch/data.pkl', data: enc.encode('pickle bytes') },
  { name: 'arch/data/0', data: Uint8Array.from({ length: 1000 }, (_, i) => i % 7) },
  { name: 'arch/empty', data: new Uint8Array(0) },
  { name: 'arch/ünï', data: enc.encode('x') },
];

const open = (b: Uint8Array): ZipReader => new ZipReader(new MemorySource(b, 'test.zip'));

test('crc32: native and JS agree with the known check value', () => {
  assert.equal(crc32Js(enc.encode('123456789')), 0xcbf43926);
  assert.equal(crc32(enc.encode('123456789')), 0xcbf43926);
  const r = rng(1);
  const b = Uint8Array.from({ length: 10_000 }, () => Math.floor(r() * 256));
  assert.equal(crc32(b), crc32Js(b));
});

for (const variant of [
  { label: 'stored' },
  { label: 'deflated', deflate: true },
  { label: 'ZIP64', zip64: true },
  {
    label: 'ZIP64 + deflate + comment + leading junk',
    zip64: true,
    deflate: true,
    comment: 'a comment with PK\u0005\u0006 inside',
    pad: 13,
  },
]) {
  test(`reads ${variant.label} archives`, () => {
    const z = open(
      makeZip(
        files.map((f) => ({ ...f, deflate: variant.deflate })),
        variant,
      ),
    );
    assert.deepEqual(
      z.names(),
      files.map((f) => f.name),
    );
    for (const f of files) assert.deepEqual(z.read(f.name), f.data, f.name);
    assert.equal(z.get('missing'), undefined);
    assert.throws(() => z.read('missing'), /archive has no record "missing"/);
  });
}

test('CRC mismatch is detected (and can be skipped)', () => {
  const z = open(makeZip([{ name: 'a', data: enc.encode('hello'), crc: 1234 }]));
  assert.throws(() => z.read('a'), /CRC-32 mismatch/);
  assert.deepEqual(z.read('a', false), enc.encode('hello'));
});

test('not a zip, truncated or corrupt archives give SerializationErrors', () => {
  assert.throws(() => open(new Uint8Array(10)), /not a zip archive/);
  assert.throws(() => open(enc.encode('x'.repeat(100))), /no end-of-central-directory record/);
  for (const zip64 of [false, true]) {
    for (const deflate of [false, true]) {
      const good = makeZip(
        files.map((f) => ({ ...f, deflate })),
        { zip64 },
      );
      // every truncation: either the directory is unreadable or (when only data is cut) reading fails
      for (let cut = 0; cut < good.byteLength; cut++) {
        assert.throws(
          () => {
            const z = open(good.subarray(0, cut));
            for (const n of z.names()) z.read(n);
          },
          SerializationError,
          `zip64=${zip64} deflate=${deflate} cut=${cut}`,
        );
      }
      // every single-bit flip: an error or correct data, never anything else
      const r = rng(zip64 ? 2 : 1);
      for (let k = 0; k < 2000; k++) {
        const bad = good.slice();
        const at = Math.floor(r() * bad.byteLength);
        bad[at] = (bad[at] as number) ^ (1 << Math.floor(r() * 8));
        try {
          const z = open(bad);
          for (const f of files) {
            const e = z.get(f.name);
            if (e !== undefined) assert.deepEqual(z.read(e), f.data);
          }
        } catch (e) {
          assert.ok(e instanceof SerializationError, `flip at ${at}: ${String(e)}`);
        }
      }
    }
  }
});

test('unsupported features are named', () => {
  const good = makeZip([{ name: 'a', data: enc.encode('hello') }]);
  const method = good.slice();
  const cd = good.length - 22 - 46 - 1; // central record of the only entry
  method[cd + 10] = 12; // bzip2
  assert.throws(() => open(method).read('a'), /unsupported compression method 12/);
  const encrypted = good.slice();
  encrypted[cd + 8] = (encrypted[cd + 8] as number) | 1;
  assert.throws(() => open(encrypted).read('a'), /is encrypted/);
  const disks = good.slice();
  disks[good.length - 22 + 4] = 1;
  assert.throws(() => open(disks), /multi-disk/);
});
