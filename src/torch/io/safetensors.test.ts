import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import { SerializationError } from './errors.js';
import { ITEM_SIZE, rawTensor, type RawDType, type RawTensor } from './raw.js';
import {
  readSafetensorsHeader,
  readSafetensorsRaw,
  SafetensorsFile,
  serializeSafetensorsRaw,
  writeSafetensorsItems,
  writeSafetensorsRaw,
} from './safetensors.js';
import { MemorySource } from './source.js';
import { encode, rng, sparseLargeFile, type Json } from '../../../test/io-testing.js';

const dir = mkdtempSync(join(tmpdir(), 'regts-st-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const DTYPES: RawDType[] = ['float64', 'float32', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];

function randomTensor(dtype: RawDType, shape: number[], seed: number): RawTensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
  const data = Uint8Array.from({ length: n }, () => (dtype === 'bool' ? (r() < 0.5 ? 1 : 0) : Math.floor(r() * 256)));
  return rawTensor(dtype, shape, data);
}

/** Header JSON of a safetensors buffer. */
function headerOf(b: Uint8Array): Record<string, unknown> {
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n))) as Record<string, unknown>;
}

/** A safetensors buffer with a hand-written header and data. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), rawHeader?: Uint8Array): Uint8Array {
  const h = rawHeader ?? new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(data, 8 + h.byteLength);
  return out;
}

test('round trip of every dtype, through a file and through memory', () => {
  const tensors = new Map<string, RawTensor>();
  DTYPES.forEach((d, i) => {
    tensors.set(`t_${d}`, randomTensor(d, [3, i + 1], i));
    tensors.set(`scalar_${d}`, randomTensor(d, [], 100 + i));
    tensors.set(`empty_${d}`, randomTensor(d, [0, 2], 200 + i));
  });
  const path = join(dir, 'all.safetensors');
  writeSafetensorsRaw(path, tensors, { format: 'pt', ünïcode: 'välue ✓' });
  const fromFile = readSafetensorsRaw(path);
  const fromMem = readSafetensorsRaw(new Uint8Array(readFileSync(path)));
  for (const got of [fromFile, fromMem]) {
    assert.deepEqual(got.metadata, { format: 'pt', ünïcode: 'välue ✓' });
    assert.equal(got.tensors.size, tensors.size);
    for (const [k, t] of tensors) {
      const g = got.tensors.get(k);
      assert.ok(g, k);
      assert.equal(g.dtype, t.dtype);
      assert.deepEqual(g.shape, t.shape);
      assert.deepEqual(g.data, t.data, k);
    }
  }
  assert.deepEqual(serializeSafetensorsRaw(tensors, { format: 'pt', ünïcode: 'välue ✓' }), new Uint8Array(readFileSync(path)));
});

test('layout: 8-byte aligned header padded with spaces, every tensor aligned to its element size', () => {
  const tensors: Record<string, RawTensor> = {
    a: randomTensor('uint8', [3], 1),
    b: randomTensor('float64', [1], 2),
    c: randomTensor('float16', [3], 3),
    d: randomTensor('int32', [1], 4),
  };
  const bytes = serializeSafetensorsRaw(tensors);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = readSafetensorsHeader(new MemorySource(bytes));
  for (const e of header.entries) assert.equal(e.byteOffset % ITEM_SIZE[e.dtype], 0, e.name);
  assert.deepEqual(
    header.entries.map((e) => e.name),
    ['b', 'd', 'c', 'a'],
  );
  assert.ok(!('__metadata__' in headerOf(bytes)));
});

test('names keep their order, including integer-like names', () => {
  const names = ['z', '10', '2', 'a.b', '__proto__', ''];
  const tensors = new Map(names.map((k, i) => [k, randomTensor('float32', [1], i)]));
  const got = readSafetensorsRaw(serializeSafetensorsRaw(tensors));
  assert.deepEqual([...got.tensors.keys()], names);
  assert.deepEqual(got.tensors.get('__proto__')?.data, tensors.get('__proto__')?.data);
});

test('reads the fixture written by the Python reference writer', () => {
  const want = JSON.parse(readFileSync(fixturePath('io/tensors.expected.json'), 'utf8')) as {
    metadata: Json;
    tensors: { dict: [string, Json][] };
  };
  const got = readSafetensorsRaw(fixturePath('io/tensors.safetensors'));
  assert.deepEqual(got.metadata, want.metadata);
  // the Python writer orders data by (element size desc, name); compare by name
  assert.deepEqual([...got.tensors.keys()].sort(), want.tensors.dict.map(([k]) => k).sort());
  for (const [name, enc] of want.tensors.dict) assert.deepEqual(encode(got.tensors.get(name)), enc, name);
  // writing them back gives a file the reader reads identically
  const again = readSafetensorsRaw(serializeSafetensorsRaw(got.tensors, got.metadata));
  assert.deepEqual(encode(again.tensors), encode(got.tensors));
});

test('SafetensorsFile reads single tensors lazily and reports bad names', () => {
  const path = join(dir, 'lazy.safetensors');
  writeSafetensorsRaw(path, { w: randomTensor('float32', [2, 2], 1), b: randomTensor('float32', [2], 2) });
  using f = SafetensorsFile.open(path);
  assert.deepEqual(f.names(), ['w', 'b']);
  assert.deepEqual(f.readRaw('b').shape, [2]);
  assert.throws(() => f.readRaw('nope'), /no tensor named "nope"/);
});

test('atomic write: replaces the file, leaves no temporary files, keeps the old file when writing fails', () => {
  const path = join(dir, 'atomic.safetensors');
  writeSafetensorsRaw(path, { x: randomTensor('float32', [4], 1) });
  const before = readFileSync(path);
  assert.throws(
    () =>
      writeSafetensorsItems(path, [
        { name: 'x', dtype: 'float32', shape: [4], bytes: () => new Uint8Array(16) },
        {
          name: 'y',
          dtype: 'float32',
          shape: [4],
          bytes: () => {
            throw new Error('device lost');
          },
        },
      ]),
    /device lost/,
  );
  assert.deepEqual(readFileSync(path), before);
  assert.throws(
    () => writeSafetensorsItems(path, [{ name: 'x', dtype: 'float32', shape: [4], bytes: () => new Uint8Array(15) }]),
    /needs 16 bytes, got 15/,
  );
  assert.deepEqual(readFileSync(path), before);
  writeSafetensorsRaw(path, { y: randomTensor('int8', [2], 2) });
  assert.deepEqual([...readSafetensorsRaw(path).tensors.keys()], ['y']);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.tmp')),
    [],
  );
});

test('writer rejects bad input', () => {
  const t = randomTensor('float32', [1], 1);
  assert.throws(() => serializeSafetensorsRaw({ __metadata__: t }), /cannot be named "__metadata__"/);
  assert.throws(() => serializeSafetensorsRaw({ a: t }, { k: 1 as unknown as string }), /metadata value for "k" is not a string/);
  assert.throws(() => serializeSafetensorsRaw({ a: { dtype: 'float32', shape: [2], data: new Uint8Array(4) } }), /needs 8 bytes, got 4/);
  assert.throws(() => serializeSafetensorsRaw({ a: 5 as unknown as RawTensor }), /not a RawTensor/);
  assert.throws(() => writeSafetensorsRaw(join(dir, 'atomic.safetensors', 'x.safetensors'), { a: t }), /ENOTDIR|EEXIST/);
});

test('writer creates missing parent directories', () => {
  const t = randomTensor('float32', [2], 1);
  const path = join(dir, 'made/on/demand/x.safetensors');
  writeSafetensorsRaw(path, { a: t });
  assert.deepEqual([...readSafetensorsRaw(path).tensors.keys()], ['a']);
});

/** Assert that reading `bytes` fails with a SerializationError whose message matches `re`. */
function rejects(bytes: Uint8Array, re: RegExp): void {
  const path = join(dir, 'bad.safetensors');
  writeFileSync(path, bytes);
  assert.throws(
    () => readSafetensorsRaw(path),
    (e: unknown) => e instanceof SerializationError && re.test(e.message) && e.message.startsWith(path),
  );
}

test('corrupt headers give clear errors naming the file and tensor', () => {
  const f32 = (offsets: [number, number], shape = [2]) => ({ dtype: 'F32', shape, data_offsets: offsets });
  rejects(new Uint8Array(5), /8-byte header length is missing/);
  rejects(build({}).subarray(0, 9), /exceeds the file size/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
  rejects(huge, /header length 9223372036854775808 exceeds the file size/);
  rejects(build(null, undefined, new TextEncoder().encode('{"a": ')), /not valid JSON/);
  rejects(build(null, undefined, new TextEncoder().encode('[1, 2]')), /not a JSON object/);
  rejects(build(null, undefined, Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d])), /not valid UTF-8/);
  rejects(
    build({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
    /tensor "w": unsupported dtype "F8_E4M3"/,
  );
  rejects(build({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "w": shape \[-1\]/);
  rejects(build({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, new Uint8Array(4)), /tensor "w": data_offsets \[0\] is not a pair/);
  rejects(build({ w: f32([0, 8]) }, new Uint8Array(7)), /tensor "w": data_offsets \[0, 8\] run past the end of the data \(7 bytes/);
  rejects(build({ w: f32([4, 0]) }, new Uint8Array(8)), /tensor "w": data_offsets \[4, 0\] are reversed/);
  rejects(build({ w: f32([0, 12]) }, new Uint8Array(12)), /tensor "w": F32\[2\] needs 8 bytes but data_offsets \[0, 12\] hold 12/);
  rejects(build({ w: f32([0, 8]), v: f32([4, 12]) }, new Uint8Array(12)), /tensors "w" and "v" have overlapping data_offsets/);
  rejects(build({ w: 3 }), /tensor "w": header entry is not an object/);
  rejects(build({ __metadata__: { a: 1 } }), /"__metadata__" value for "a" is not a string/);
  rejects(build({ __metadata__: [] }), /"__metadata__" is not an object/);
});

test('a file truncated anywhere, or with bytes flipped in its header, never reads silently wrong', () => {
  const tensors = Object.fromEntries(DTYPES.map((d, i) => [d, randomTensor(d, [2, 3], i)]));
  const good = serializeSafetensorsRaw(tensors, { k: 'v' });
  for (let cut = 0; cut < good.byteLength; cut++) {
    assert.throws(() => readSafetensorsRaw(good.subarray(0, cut)), SerializationError, `cut at ${cut}`);
  }
  const hdrLen = Number(new DataView(good.buffer).getBigUint64(0, true)) + 8;
  const r = rng(3);
  for (let k = 0; k < 400; k++) {
    const bad = good.slice();
    const at = Math.floor(r() * hdrLen);
    bad[at] = (bad[at] as number) ^ (1 << Math.floor(r() * 8));
    try {
      const got = readSafetensorsRaw(bad);
      // a flip inside a name or metadata string may still parse: then every tensor is still well-formed
      for (const t of got.tensors.values()) assert.equal(t.data.byteLength, t.shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[t.dtype]);
    } catch (e) {
      assert.ok(e instanceof SerializationError, `flip at ${at}: ${String(e)}`);
    }
  }
});

test('files larger than 4 GiB: 64-bit offsets and positioned reads (sparse file)', () => {
  const path = join(dir, 'sparse.safetensors');
  const made = sparseLargeFile(path);
  if (made === null) return;
  try {
    using f = SafetensorsFile.open(path);
    assert.ok(f.entry('far').byteOffset > 2 ** 32);
    assert.deepEqual(f.readRaw('far').data, made.far);
    assert.deepEqual(f.readRaw('near').data, new Uint8Array(4));
  } finally {
    rmSync(path, { force: true });
  }
});

/** `bytes` with its 8-byte header length changed by `delta`. */
function shiftHeaderLength(bytes: Uint8Array, delta: number): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  view.setBigUint64(0, view.getBigUint64(0, true) + BigInt(delta), true);
  return out;
}

test('a header length shifted by one byte either way is rejected (the tensors would shift)', () => {
  const path = join(dir, 'shift.safetensors');
  writeSafetensorsRaw(path, { w: rawTensor('float32', [2], new Uint8Array(new Float32Array([1.5, -2]).buffer)) });
  const good = new Uint8Array(readFileSync(path));
  const n = Number(new DataView(good.buffer).getBigUint64(0, true));
  assert.equal(good[8 + n - 1], 0x20, 'precondition: the writer padded this header with a space');
  assert.equal(good[8 + n], 0x00, 'precondition: the data starts with a 0x00 byte (1.5 as float32)');
  assert.deepEqual(readSafetensorsRaw(good).tensors.get('w')?.data, good.subarray(8 + n));
  rejects(shiftHeaderLength(good, -1), /data section holds 9 bytes but the tensors cover 8: 1 trailing bytes/);
  rejects(shiftHeaderLength(good, +1), /header is not valid JSON: Unexpected non-whitespace character/);
});

test('layout rules of the reference implementation: space padding, offsets from 0, contiguous, no trailing bytes', () => {
  const f32 = (offsets: [number, number]) => ({ dtype: 'F32', shape: [2], data_offsets: offsets });
  const json = JSON.stringify({ w: f32([0, 8]) });
  const padded = (pad: string) => new TextEncoder().encode(json + pad);
  assert.deepEqual([...readSafetensorsRaw(build(null, new Uint8Array(8), padded('   '))).tensors.keys()], ['w']);
  for (const pad of ['\t', '\n', '  \r', ' \0', ' x']) {
    rejects(build(null, new Uint8Array(8), padded(pad)), /header (padding after the JSON object is not spaces|is not valid JSON)/);
  }
  rejects(
    build({ w: f32([4, 12]) }, new Uint8Array(12)),
    /tensor "w": data_offsets \[4, 12\] leave a 4-byte gap after the start of the data/,
  );
  rejects(
    build({ w: f32([0, 8]), v: f32([12, 20]) }, new Uint8Array(20)),
    /tensor "v": data_offsets \[12, 20\] leave a 4-byte gap after tensor "w"/,
  );
  rejects(
    build({ w: f32([0, 8]), v: f32([8, 16]) }, new Uint8Array(17)),
    /data section holds 17 bytes but the tensors cover 16: 1 trailing bytes/,
  );
  rejects(build({}, new Uint8Array(3)), /data section holds 3 bytes but the tensors cover 0/);
  rejects(build({ w: f32([0, 8]), v: f32([0, 8]) }, new Uint8Array(8)), /tensors "w" and "v" have overlapping data_offsets/);
  // the order of the header does not matter, only the offsets (and empty tensors may share a position)
  const reordered = { v: f32([8, 16]), e: { dtype: 'F32', shape: [0], data_offsets: [8, 8] }, w: f32([0, 8]) };
  assert.deepEqual(
    readSafetensorsHeader(new MemorySource(build(reordered, new Uint8Array(16)))).entries.map((e) => e.name),
    ['w', 'e', 'v'],
  );
});

test('a header length above the 100 MB limit is rejected before anything is read', () => {
  const size = 200_000_000;
  let reads = 0;
  const src = {
    name: 'big.safetensors',
    size,
    read: (offset: number, length: number) => {
      reads++;
      const b = new Uint8Array(length);
      if (offset === 0) new DataView(b.buffer).setBigUint64(0, 150_000_000n, true);
      return b;
    },
    close: () => undefined,
  };
  assert.throws(
    () => readSafetensorsHeader(src),
    (e: unknown) =>
      e instanceof SerializationError &&
      e.file === 'big.safetensors' &&
      /header length 150000000 exceeds the 100000000-byte limit/.test(e.message),
  );
  assert.equal(reads, 1);
});
