/**
 * Property-based tests (fast-check) of the file parsers: what a writer writes reads back exactly, and what
 * a reader is given that is not a valid file (any truncation, any bytes) ends in a SerializationError or
 * a value, never in another exception. The seeded fuzz campaign (test/fuzz) covers the same readers with
 * structured mutations; these state the laws directly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { fixturePath } from '../../../test/fixture-path.js';
import { SerializationError } from './errors.js';
import { NPY_DESCR, npyHeader, parseNpyHeader, type NpyDType } from './npy.js';
import { unpickle } from './pickle.js';
import { readPtRaw } from './pt.js';
import { ITEM_SIZE, rawTensor, type RawDType, type RawTensor } from './raw.js';
import { readSafetensorsRaw, serializeSafetensorsRaw } from './safetensors.js';

const RUNS = { seed: 2026, numRuns: 200 };
const DTYPES: RawDType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];

/** A small tensor of any dtype with arbitrary bytes. */
const tensorArb: fc.Arbitrary<RawTensor> = fc
  .record({ dtype: fc.constantFrom(...DTYPES), shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }) })
  .chain(({ dtype, shape }) => {
    const n = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data) => rawTensor(dtype, shape, data));
  });

const dictArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tensorArb, { maxKeys: 5 });

/** `f()` returns, or throws a SerializationError; anything else fails the property. */
function onlySerializationErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof SerializationError)) throw e;
  }
}

test('safetensors: every dict of tensors (any dtype, shape, bytes, names) and metadata reads back exactly', () => {
  fc.assert(
    fc.property(dictArb, fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 12 }), { maxKeys: 3 }), (dict, metadata) => {
      const { tensors, metadata: back } = readSafetensorsRaw(serializeSafetensorsRaw(new Map(Object.entries(dict)), metadata));
      assert.deepEqual(back, { ...metadata });
      assert.deepEqual([...tensors.keys()].sort(), Object.keys(dict).sort());
      for (const [k, t] of Object.entries(dict)) {
        const got = tensors.get(k)!;
        assert.deepEqual(
          [got.dtype, [...got.shape], Buffer.from(got.data).toString('hex')],
          [t.dtype, [...t.shape], Buffer.from(t.data).toString('hex')],
        );
      }
    }),
    RUNS,
  );
});

test('safetensors: every strict prefix of a valid file is a SerializationError', () => {
  fc.assert(
    fc.property(
      dictArb.filter((d) => Object.keys(d).length > 0),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (dict, cut) => {
        const file = serializeSafetensorsRaw(new Map(Object.entries(dict)));
        const end = Math.floor(cut * file.byteLength);
        assert.throws(() => readSafetensorsRaw(file.subarray(0, end)), SerializationError);
      },
    ),
    RUNS,
  );
});

test('.pt: every strict prefix of tiny.pt is a SerializationError; any bytes at all give a value or a SerializationError', () => {
  const tiny = new Uint8Array(readFileSync(fixturePath('io', 'tiny.pt')));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: tiny.byteLength - 1 }), (end) => {
      assert.throws(() => readPtRaw(tiny.subarray(0, end)), SerializationError);
    }),
    RUNS,
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => onlySerializationErrors(() => readPtRaw(bytes))),
    RUNS,
  );
});

test('pickle: any byte string (after a protocol header or not) unpickles to a value or a SerializationError', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ maxLength: 64 }), (proto, body) => {
      const bytes = proto ? Uint8Array.from([0x80, 0x02, ...body]) : body;
      onlySerializationErrors(() => unpickle(bytes));
    }),
    { ...RUNS, numRuns: 2000 },
  );
});

test('npy: the header of every dtype and shape parses back to them, its data 64-byte aligned', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...(Object.keys(NPY_DESCR) as NpyDType[])),
      fc.array(fc.integer({ min: 0, max: 4096 }), { maxLength: 4 }),
      (dtype, shape) => {
        const header = npyHeader(dtype, shape);
        const parsed = parseNpyHeader(header);
        assert.deepEqual([parsed.dtype, parsed.shape, parsed.fortranOrder, parsed.dataOffset], [dtype, shape, false, header.byteLength]);
        assert.equal(header.byteLength % 64, 0);
      },
    ),
    RUNS,
  );
});
