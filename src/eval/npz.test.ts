/**
 * .npy/.npz layout: byte-level checks of the zip and npy records, round trips through the reg-ts
 * reader, ZIP64, streaming errors, and — when Debian's python3-numpy is installed — NumPy reading what
 * reg-ts writes and reg-ts reading what `np.savez` writes (test/reference/sampling/npz_check.py).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { crc32 } from '../torch/io/crc32.js';
import { readNpy } from '../torch/io/npy.js';
import { fixturePath } from '../../test/fixture-path.js';
import { makeZip } from '../../test/io-testing.js';
import { listNpz, npyHeader, NpzWriter, parseNpyHeader, readNpz, writeNpz, type NpyArray } from './npz.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SCRIPT = path.join(ROOT, 'test', 'reference', 'sampling', 'npz_check.py');
const PY = '/usr/bin/python3';
const hasNumpy = existsSync(PY) && spawnSync(PY, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-npz-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function bytesOf(values: number[], ctor: { new (v: number[]): ArrayBufferView } | 'i64'): Uint8Array {
  const arr = ctor === 'i64' ? BigInt64Array.from(values.map(BigInt)) : new ctor(values);
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

/** The arrays npz_check.py writes with np.savez. */
function fixedArrays(): Record<string, NpyArray> {
  return {
    arr_0: { dtype: 'uint8', shape: [3, 4, 5, 3], data: Uint8Array.from({ length: 180 }, (_, i) => i % 256) },
    f32: {
      dtype: 'float32',
      shape: [2, 3],
      data: bytesOf(
        [0, 1, 2, 3, 4, 5].map((v) => v / 8),
        Float32Array,
      ),
    },
    i64: { dtype: 'int64', shape: [4], data: bytesOf([-2, -1, 0, 2 ** 40], 'i64') },
    b: { dtype: 'bool', shape: [2, 2], data: Uint8Array.from([1, 0, 0, 1]) },
    scalar: { dtype: 'float64', shape: [], data: bytesOf([1.5], Float64Array) },
  };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('npy header', () => {
  test('format 1.0 dict, padded to 64 bytes, as NumPy writes it', () => {
    const h = npyHeader('uint8', [50000, 256, 256, 3]);
    const text = Buffer.from(h.subarray(10)).toString('latin1');
    assert.deepEqual([...h.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    assert.equal(h.length % 64, 0);
    assert.equal(h[8]! + 256 * h[9]!, h.length - 10);
    assert.equal(text.trimEnd(), "{'descr': '|u1', 'fortran_order': False, 'shape': (50000, 256, 256, 3), }");
    assert.ok(text.endsWith('\n'));
    assert.ok(
      Buffer.from(npyHeader('float32', [7]))
        .toString('latin1')
        .includes("'shape': (7,)"),
    );
    assert.ok(Buffer.from(npyHeader('float64', [])).toString('latin1').includes("'shape': ()"));
    const p = parseNpyHeader(h);
    assert.deepEqual([p.dtype, p.shape, p.fortranOrder, p.dataOffset], ['uint8', [50000, 256, 256, 3], false, h.length]);
  });
});

describe('npz writer', () => {
  test('zip layout: stored members arr_0.npy …, local headers, CRC, central directory', () => {
    const file = path.join(tmp, 'layout.npz');
    const arrays = fixedArrays();
    writeNpz(file, arrays);
    const bytes = readFileSync(file);
    // first local header
    assert.equal(bytes.readUInt32LE(0), 0x04034b50);
    assert.equal(bytes.readUInt16LE(8), 0, 'stored (no compression)');
    const nameLen = bytes.readUInt16LE(26);
    assert.equal(bytes.subarray(30, 30 + nameLen).toString(), 'arr_0.npy');
    const size = bytes.readUInt32LE(22);
    const dataStart = 30 + nameLen + bytes.readUInt16LE(28);
    const member = bytes.subarray(dataStart, dataStart + size);
    assert.equal(bytes.readUInt32LE(14), crc32(member), 'CRC-32 of the member');
    assert.equal(size, 128 + 180);
    assert.deepEqual([...member.subarray(128)], [...arrays.arr_0!.data]);
    // end of central directory: 5 entries
    const eocd = bytes.length - 22;
    assert.equal(bytes.readUInt32LE(eocd), 0x06054b50);
    assert.equal(bytes.readUInt16LE(eocd + 10), 5);
    const members = listNpz(file);
    assert.deepEqual(
      members.map((m) => m.name),
      ['arr_0', 'f32', 'i64', 'b', 'scalar'],
    );
    assert.ok(members.every((m) => m.compression === 0 && !m.zip64));
    const back = readNpz(file);
    for (const [k, a] of Object.entries(arrays)) {
      const r = back.get(k)!;
      assert.deepEqual([r.dtype, r.shape], [a.dtype, a.shape], k);
      assert.equal(sha(r.data), sha(a.data), k);
    }
    // no temporary file left behind
    assert.deepEqual(
      readdirSync(tmp).filter((f) => f.includes('.tmp-')),
      [],
    );
  });

  test('ZIP64 records (forced) read back', () => {
    const file = path.join(tmp, 'zip64.npz');
    writeNpz(file, fixedArrays(), { zip64: true });
    const members = listNpz(file);
    assert.ok(members.every((m) => m.zip64));
    assert.equal(sha(readNpz(file).get('arr_0')!.data), sha(fixedArrays().arr_0!.data));
  });

  test('streaming in chunks equals one write; size errors; nothing visible before close', () => {
    const a = path.join(tmp, 'one.npz');
    const b = path.join(tmp, 'chunks.npz');
    const data = Uint8Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => (i * 37) % 256);
    writeNpz(a, { arr_0: { dtype: 'uint8', shape: [2, 8, 8, 3], data } });
    const w = new NpzWriter(b);
    w.beginArray('arr_0', 'uint8', [2, 8, 8, 3]);
    for (let i = 0; i < data.length; i += 50) w.write(data.subarray(i, i + 50));
    assert.equal(existsSync(b), false);
    w.endArray();
    w.close();
    assert.equal(sha(readFileSync(a)), sha(readFileSync(b)), 'identical files (fixed timestamps)');

    const c = new NpzWriter(path.join(tmp, 'bad.npz'));
    c.beginArray('arr_0', 'uint8', [2, 2]);
    assert.throws(() => c.write(new Uint8Array(5)), /more data than the declared shape/);
    c.write(new Uint8Array(3));
    assert.throws(() => c.endArray(), /received/);
    c.abort();
    assert.equal(existsSync(path.join(tmp, 'bad.npz')), false);
    assert.throws(
      () => writeNpz(path.join(tmp, 'bad2.npz'), { x: { dtype: 'uint8', shape: [3], data: new Uint8Array(2) } }),
      /has 2 bytes/,
    );
  });
});

describe('NumPy interoperability (python3-numpy, installed by scripts/install.sh)', () => {
  test('Debian python3 with numpy is present', () => assert.ok(hasNumpy, `${PY} cannot import numpy: apt-get install python3-numpy`));
  const run = (...args: string[]) => {
    const r = spawnSync(PY, [SCRIPT, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };

  test('np.load reads what reg-ts writes (plain and ZIP64)', () => {
    for (const zip64 of [false, true]) {
      const file = path.join(tmp, `np-${zip64}.npz`);
      const arrays = fixedArrays();
      writeNpz(file, arrays, { zip64 });
      const got = JSON.parse(run('read', file)) as {
        arrays: Record<string, { dtype: string; shape: number[]; sha256: string; c_contiguous: boolean }>;
        members: { name: string; compress_type: number }[];
        crc_ok: boolean;
      };
      assert.equal(got.crc_ok, true);
      assert.deepEqual(
        got.members.map((m) => [m.name, m.compress_type]),
        Object.keys(arrays).map((k) => [`${k}.npy`, 0]),
      );
      for (const [k, a] of Object.entries(arrays)) {
        const g = got.arrays[k]!;
        assert.deepEqual(g.shape, a.shape, k);
        assert.equal(g.sha256, sha(a.data), k);
        assert.ok(g.c_contiguous);
      }
      assert.equal(got.arrays.arr_0!.dtype, '|u1');
      assert.equal(got.arrays.f32!.dtype, '<f4');
    }
  });

  test('reg-ts reads what np.savez writes, and its .npy members are byte-identical to ours', () => {
    const file = path.join(tmp, 'numpy.npz');
    run('write', file);
    const ours = path.join(tmp, 'ours.npz');
    const arrays = fixedArrays();
    writeNpz(ours, arrays);
    const theirs = readNpz(file);
    for (const [k, a] of Object.entries(arrays)) {
      const t = theirs.get(k)!;
      assert.deepEqual([t.dtype, t.shape], [a.dtype, a.shape], k);
      assert.equal(sha(t.data), sha(a.data), k);
    }
    const member = (f: string, name: string) => {
      const m = listNpz(f).find((x) => x.name === name)!;
      return readFileSync(f).subarray(m.dataOffset, m.dataOffset + m.size);
    };
    for (const k of Object.keys(arrays)) assert.equal(sha(member(ours, k)), sha(member(file, k)), `${k}.npy bytes`);
  });
});

/** A format-1.0 .npy with the header dict `dict` (padded as NumPy pads it) followed by `data`. */
function npyBytes(dict: string, data: Uint8Array): Uint8Array {
  const padded = dict + ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(padded.length, 8);
  return Buffer.concat([head, Buffer.from(padded, 'latin1'), data]);
}

function writeNpy(name: string, dict: string, data: Uint8Array): string {
  const file = path.join(tmp, name);
  writeFileSync(file, npyBytes(dict, data));
  return file;
}

const i64 = (values: number[]) => bytesOf(values, 'i64');

describe('hostile .npy headers and data (issue 12 item 1)', () => {
  test('Fortran-order arrays read back in C order (hand-made and np.savez of np.asfortranarray)', () => {
    const f = writeNpy('fortran.npy', "{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3), }", i64([0, 3, 1, 4, 2, 5]));
    const a = readNpy(f);
    assert.deepEqual([a.dtype, a.shape], ['int64', [2, 3]]);
    assert.deepEqual([...new BigInt64Array(a.data.slice().buffer)].map(Number), [0, 1, 2, 3, 4, 5]);
    const npz = readNpz(fixturePath('eval', 'fortran.npz'));
    const i = npz.get('i64')!;
    assert.deepEqual([...new BigInt64Array(i.data.slice().buffer)].map(Number), [0, 1, 2, 3, 4, 5]);
    const f32 = npz.get('f32')!;
    assert.deepEqual(f32.shape, [2, 3, 4]);
    assert.deepEqual(
      [...new Float32Array(f32.data.slice().buffer)],
      Array.from({ length: 24 }, (_, k) => k / 8),
    );
  });

  test('data shorter or longer than numel·itemsize is refused naming the file and the shape', () => {
    const dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }";
    const short = writeNpy('short.npy', dict, i64([0, 1, 2, 3, 4]));
    assert.throws(
      () => readNpy(short),
      new RegExp(`^Error: ${short}: truncated: 40 data bytes, the header's 'shape' \\[2, 3\\] of int64 needs 48$`),
    );
    const long = writeNpy('long.npy', dict, i64([0, 1, 2, 3, 4, 5, 6]));
    assert.throws(() => readNpy(long), /long\.npy: too long: 56 data bytes, the header's 'shape' \[2, 3\] of int64 needs 48/);
  });

  test('NaN, negative, fractional and non-numeric dimensions are refused by name', () => {
    for (const [dim, name] of [
      ['nan', 'nan'],
      ['-1', 'neg'],
      ['1.5', 'frac'],
      ['1e3', 'exp'],
      ['', 'empty'],
    ] as const) {
      const f = writeNpy(`${name}.npy`, `{'descr': '|u1', 'fortran_order': False, 'shape': (${dim}, 3), }`, new Uint8Array(3));
      assert.throws(
        () => readNpy(f),
        (e: Error) => e.message === `${f}: not a valid .npy (npy: 'shape' dimension '${dim}' is not a non-negative integer)`,
        dim,
      );
    }
    const huge = writeNpy('huge.npy', "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", new Uint8Array(0));
    assert.throws(() => readNpy(huge), /huge\.npy: not a valid \.npy \(npy: shape \[4294967296, 4294967296\] is too large\)/);
  });

  test('header dicts with missing, extra or duplicate keys, an unknown dtype or a bad fortran_order are refused', () => {
    const cases: [string, RegExp][] = [
      ["{'descr': '<f4', 'shape': (1,), }", /header keys are \[descr, shape\], expected exactly \[descr, fortran_order, shape\]/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 'x', }", /header keys are \[descr, extra, fortran_order, shape\]/],
      ["{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", /duplicate header key 'descr'/],
      ["{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", /'descr' '>f4' is not a supported dtype/],
      ["{'descr': '<f4', 'fortran_order': 'yes', 'shape': (1,), }", /'fortran_order' is 'yes', expected True or False/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': 1, }", /cannot parse the header dict at ''shape': 1,'/],
      ["['descr', '<f4']", /header is not a dict/],
    ];
    for (const [dict, re] of cases) {
      const f = writeNpy('dict.npy', dict, new Uint8Array(4));
      assert.throws(
        () => readNpy(f),
        (e: Error) => e.message.startsWith(`${f}: not a valid .npy`) && re.test(e.message),
        dict,
      );
    }
  });

  test('readNpz names the archive and the member of a bad array', () => {
    const file = path.join(tmp, 'bad-member.npz');
    const good = npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", Uint8Array.from([1, 2]));
    const bad = npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", Uint8Array.from([1, 2]));
    writeFileSync(
      file,
      makeZip([
        { name: 'ok.npy', data: good },
        { name: 'arr_0.npy', data: bad },
      ]),
    );
    assert.throws(() => readNpz(file), new RegExp(`^Error: ${file}: member 'arr_0\\.npy': truncated: 2 data bytes`));
  });
});
