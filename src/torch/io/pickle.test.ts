import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import { SerializationError } from './errors.js';
import { MAX_INT_BYTES, MAX_INT_DIGITS, unpickle } from './pickle.js';
import { PyGlobal, type PyObject } from './pyvalue.js';
import { encode, normalize, rng, type Json } from '../../../test/io-testing.js';

interface Case {
  name: string;
  protocol: number;
  hex: string;
  expected: Json;
}
const cases = JSON.parse(readFileSync(fixturePath('io/pickles.json'), 'utf8')) as Case[];
const bytesOf = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/** Bytes from a mix of opcode strings (Latin-1) and byte arrays. */
function p(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const x of parts) {
    if (typeof x === 'string') for (let i = 0; i < x.length; i++) out.push(x.charCodeAt(i));
    else out.push(...x);
  }
  return Uint8Array.from(out);
}

test('pickles written by CPython (protocols 0–5) unpickle to the expected values', () => {
  assert.ok(cases.length > 50);
  const protocols = new Set<number>();
  for (const c of cases) {
    protocols.add(c.protocol);
    const got = unpickle(bytesOf(c.hex), { name: c.name });
    assert.deepEqual(normalize(encode(got)), normalize(c.expected), `${c.name} protocol ${c.protocol}`);
  }
  assert.deepEqual([...protocols].sort(), [0, 1, 2, 3, 4, 5]);
});

test('unknown classes become plain objects; class references stay names', () => {
  const c = cases.find((x) => x.name === 'namespace' && x.protocol === 2) as Case;
  const ns = unpickle(bytesOf(c.hex)) as PyObject;
  assert.equal(ns.__class__, 'argparse.Namespace');
  assert.equal(ns.lr, 0.1);
  assert.equal(Object.getPrototypeOf(ns), Object.prototype);
  // c builtins\nlen\n as a bare value
  const g = unpickle(p('\x80\x02cbuiltins\nlen\nq\x00.'));
  assert.ok(g instanceof PyGlobal);
  assert.equal(g.qualname, 'builtins.len');
  // calling an unknown function records its arguments instead of running it
  assert.deepEqual(unpickle(p('\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.')), { __class__: 'os.system', __args__: ['ls'] });
});

test('shared references and self-reference survive', () => {
  // l = [1]; l.append(l)  (protocol 2): ] q0 ( K1 h0 e .
  const l = unpickle(p('\x80\x02]q\x00(K\x01h\x00e.')) as unknown[];
  assert.equal(l[0], 1);
  assert.equal(l[1], l);
  const c = cases.find((x) => x.name === 'shared' && x.protocol === 5) as Case;
  const s = unpickle(bytesOf(c.hex)) as [unknown[], unknown[], Map<string, unknown>];
  assert.equal(s[0], s[1]);
  assert.equal(s[2].get('again'), s[0]);
});

test('opcodes CPython rarely emits: LONG4, BINBYTES8, BINUNICODE8, BYTEARRAY8, DUP, POP, POP_MARK, INST, OBJ, STRING', () => {
  assert.equal(unpickle(p('\x8b\x02\x00\x00\x00\xff\x7f.')), 0x7fff);
  assert.equal(unpickle(p('\x8b\x09\x00\x00\x00', [0, 0, 0, 0, 0, 0, 0, 0, 0x80], '.')), -(2n ** 71n));
  assert.deepEqual(unpickle(p('\x8e', [2, 0, 0, 0, 0, 0, 0, 0], 'ab.')), Uint8Array.from([97, 98]));
  assert.deepEqual(unpickle(p('\x96', [1, 0, 0, 0, 0, 0, 0, 0], 'z.')), Uint8Array.from([122]));
  assert.equal(unpickle(p('\x8d', [3, 0, 0, 0, 0, 0, 0, 0], 'abc.')), 'abc');
  assert.deepEqual(unpickle(p('K\x072\x86.')), [7, 7]);
  assert.equal(unpickle(p('K\x01K\x020.')), 1);
  assert.equal(unpickle(p('K\x01(K\x02K\x031.')), 1);
  assert.deepEqual(unpickle(p("(S'a'\nimymod\nCls\n.")), { __class__: 'mymod.Cls', __args__: ['a'] });
  assert.deepEqual(unpickle(p('(cmymod\nCls\nK\x01o.')), { __class__: 'mymod.Cls', __args__: [1] });
  assert.equal(unpickle(p("S'\\x41\\n\\'q\\''\n.")), "A\n'q'");
  assert.equal(unpickle(p('V\\u00e9\\U0001f680x\n.')), 'é🚀x');
  assert.deepEqual(unpickle(p('(I01\nI00\nI-7\nL12345678901234567890L\nF1.5\nFinf\nl.')), [
    true,
    false,
    -7,
    12345678901234567890n,
    1.5,
    Infinity,
  ]);
  // BUILD with (dict, slots) state and with a non-dict state
  assert.deepEqual(unpickle(p('cm\nC\n)\x81N}X\x01\x00\x00\x00xK\x01s\x86b.')), { __class__: 'm.C', x: 1 });
  assert.deepEqual(unpickle(p('cm\nC\n)\x81K\x05b.')), { __class__: 'm.C', __state__: 5 });
  // SETITEMS / APPENDS on instances of unknown dict/list subclasses
  assert.deepEqual(unpickle(p('cm\nD\n)\x81(K\x01K\x02u.')), { __class__: 'm.D', __dictitems__: new Map([[1, 2]]) });
  assert.deepEqual(unpickle(p('cm\nL\n)\x81(K\x01K\x02e.')), { __class__: 'm.L', __listitems__: [1, 2] });
  // attributes named like Object.prototype members are plain data
  const o = unpickle(p('cm\nC\n)\x81}X\x09\x00\x00\x00__proto__K\x01sb.')) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(o), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(o, '__proto__')?.value, 1);
});

test('custom global handlers and persistent ids', () => {
  const out = unpickle(p('\x80\x02cm\nf\nK\x02\x85RX\x01\x00\x00\x00kQ.'), {
    globals: { 'm.f': (a) => (a[0] as number) * 10 },
    persistentLoad: (pid) => `loaded:${String(pid)}`,
  });
  assert.equal(out, 'loaded:k');
  assert.throws(() => unpickle(p('X\x01\x00\x00\x00kQ.')), /no persistent_load/);
  assert.throws(
    () =>
      unpickle(p('cm\nf\n)R.'), {
        globals: {
          'm.f': () => {
            throw new Error('boom');
          },
        },
      }),
    /m\.f: boom/,
  );
});

/** unpickle must throw a SerializationError (and nothing else) on every case below. */
function bad(bytes: Uint8Array, re: RegExp): void {
  assert.throws(
    () => unpickle(bytes, { name: 'x.pkl' }),
    (e: unknown) => e instanceof SerializationError && re.test(e.message) && e.message.startsWith('x.pkl: '),
  );
}

test('malformed pickles give clear errors', () => {
  bad(p(''), /without STOP/);
  bad(p('\x80\x02K'), /truncated pickle/);
  bad(p('\x80\x06.'), /unsupported pickle protocol 6/);
  bad(p('\xff'), /unknown pickle opcode 0xff/);
  bad(p('.'), /stack underflow/);
  bad(p('e.'), /MARK missing/);
  bad(p('h\x05.'), /memo entry 5 is missing/);
  bad(p('X\xff\xff\xff\x7f'), /truncated pickle: needs 2147483647 more bytes/);
  bad(p('\x8d', [0, 0, 0, 0, 0, 0, 0, 0x40], '.'), /truncated pickle: length/);
  bad(p('\x95', [0xff, 0, 0, 0, 0, 0, 0, 0], 'N.'), /truncated pickle: length 255/);
  bad(p('X\x01\x00\x00\x00\xff.'), /invalid UTF-8/);
  bad(p('\x82\x01.'), /extension registry/);
  bad(p('\x97.'), /out-of-band buffers/);
  bad(p('K\x01)R.'), /cannot call a number/);
  bad(p('K\x01K\x02K\x03s.'), /not a dict/);
  bad(p('K\x01K\x02a.'), /not a list/);
  bad(p('Ifoo\n.'), /bad integer/);
  bad(p('S"abc\n.'), /not quoted/);
});

/** Every offset for small inputs; 300 spread out plus the last 30 for big ones. */
function cutPoints(n: number): number[] {
  if (n <= 330) return Array.from({ length: n }, (_, i) => i);
  return [...Array.from({ length: 300 }, (_, i) => Math.floor((i * (n - 30)) / 300)), ...Array.from({ length: 30 }, (_, i) => n - 30 + i)];
}

test('every truncation and random corruption of real pickles fails cleanly or succeeds (never hangs or throws anything else)', () => {
  const samples = cases.filter((c) => c.protocol === 0 || c.protocol === 2 || c.protocol === 5).map((c) => bytesOf(c.hex));
  const r = rng(11);
  for (const good of samples) {
    for (const cut of cutPoints(good.byteLength)) {
      assert.throws(() => unpickle(good.subarray(0, cut)), SerializationError);
    }
    for (let k = 0; k < 50; k++) {
      const b = good.slice();
      for (let flips = 1 + Math.floor(r() * 3); flips > 0; flips--) {
        const at = Math.floor(r() * b.byteLength);
        b[at] = Math.floor(r() * 256);
      }
      try {
        unpickle(b);
      } catch (e) {
        assert.ok(e instanceof SerializationError, String(e));
      }
    }
  }
});

test('big integers decode in linear time and are bounded to what a checkpoint can hold (issue 12 item 3)', () => {
  // the largest allowed LONG4, all 0x01 bytes: decoded exactly
  const ones = new Uint8Array(MAX_INT_BYTES).fill(1);
  const expected = BigInt(`0x${'01'.repeat(MAX_INT_BYTES)}`);
  const t0 = performance.now();
  assert.equal(unpickle(p('\x8b', [0, 4, 0, 0], [...ones], '.')), expected);
  assert.equal(unpickle(p('\x8a\x02', [0x00, 0x80], '.')), -32768);
  assert.equal(unpickle(p('\x8a\x00.')), 0);
  // the recipe: LONG4 of 300,000 bytes is refused at once, naming the pickle and the byte
  const big = new Uint8Array(Buffer.concat([p('\x80\x02\x8b', [0xe0, 0x93, 0x04, 0x00]), new Uint8Array(300000).fill(1), p('.')]));
  assert.throws(
    () => unpickle(big, { name: 'x.pt: a/data.pkl' }),
    (e: unknown) =>
      e instanceof SerializationError &&
      /^x\.pt: a\/data\.pkl: LONG4 integer of 300000 bytes is larger than any checkpoint holds \(at most 1024\) \(pickle byte 2\)$/.test(
        e.message,
      ),
  );
  // protocol 0 text integers are bounded the same way
  assert.throws(
    () => unpickle(p(`I${'9'.repeat(MAX_INT_DIGITS + 2)}\n.`)),
    /text integer of 2469 characters is larger than any checkpoint holds/,
  );
  assert.equal(unpickle(p(`L${'9'.repeat(MAX_INT_DIGITS)}L\n.`)), 10n ** BigInt(MAX_INT_DIGITS) - 1n);
  assert.ok(performance.now() - t0 < 1000, 'big integers take milliseconds');
});
