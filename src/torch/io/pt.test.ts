import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import { SerializationError } from './errors.js';
import { readPtRaw } from './pt.js';
import type { PyObject, PyValue } from './pyvalue.js';
import type { RawTensor } from './raw.js';
import { encode, makeZip, normalize, rng, unzip, type Json, type ZipInput } from '../../../test/io-testing.js';

const CKPTS = ['ckpt_p2.pt', 'ckpt_p3.pt', 'ckpt_p4.pt', 'ckpt_p5.pt', 'ckpt_cuda.pt'];
const expected = normalize(JSON.parse(readFileSync(fixturePath('io/ckpt.expected.json'), 'utf8')) as Json);
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(fixturePath(`io/${name}`)));
const f32 = (t: RawTensor): number[] => [...new Float32Array(t.data.slice().buffer)];

for (const name of CKPTS) {
  test(`${name}: the whole checkpoint matches what PyTorch loads`, () => {
    const fromPath = readPtRaw(fixturePath(`io/${name}`));
    assert.deepEqual(normalize(encode(fromPath)), expected);
    assert.deepEqual(normalize(encode(readPtRaw(read(name)))), expected);
  });
}

test('checkpoint structure: state dicts, optimizer state, Namespace, steps', () => {
  const ck = readPtRaw(fixturePath('io/ckpt_p2.pt')) as Map<string, PyValue<RawTensor>>;
  assert.deepEqual([...ck.keys()], ['model', 'ema', 'opt', 'args', 'steps', 'extra']);
  const model = ck.get('model') as Map<string, RawTensor>;
  assert.ok(model instanceof Map);
  assert.deepEqual(model.get('x_embedder.weight')?.shape, [3, 4]);
  assert.equal(model.get('buf_bf16')?.dtype, 'bfloat16');
  assert.equal(model.get('buf_bool')?.dtype, 'bool');
  assert.deepEqual([...(model.get('buf_bool')?.data ?? [])], [1, 0, 0, 1]);
  // views: base = arange(24).reshape(4, 6); transposed = base.t(); offset_view = base[1:3, 2:5]; step_view = arange(10, f16)[1::3]
  assert.deepEqual(
    f32(model.get('transposed') as RawTensor),
    [0, 6, 12, 18, 1, 7, 13, 19, 2, 8, 14, 20, 3, 9, 15, 21, 4, 10, 16, 22, 5, 11, 17, 23],
  );
  assert.deepEqual(f32(model.get('offset_view') as RawTensor), [8, 9, 10, 14, 15, 16]);
  assert.deepEqual([...new Uint16Array(model.get('step_view')!.data.slice().buffer)], [0x3c00, 0x4400, 0x4700]); // 1, 4, 7 in float16
  assert.deepEqual(model.get('scalar')?.shape, []);
  assert.deepEqual(model.get('empty')?.shape, [0, 4]);
  const opt = ck.get('opt') as Map<string, PyValue<RawTensor>>;
  const state = opt.get('state') as Map<number, Map<string, RawTensor>>;
  assert.deepEqual([...state.keys()], [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...(state.get(0)?.keys() ?? [])], ['step', 'exp_avg', 'exp_avg_sq']);
  const groups = opt.get('param_groups') as Map<string, PyValue<RawTensor>>[];
  assert.equal(groups[0]?.get('lr'), 1e-3);
  assert.deepEqual(groups[0]?.get('betas'), [0.9, 0.999]);
  assert.deepEqual(groups[0]?.get('params'), [0, 1, 2, 3, 4, 5, 6]);
  const args = ck.get('args') as PyObject;
  assert.equal(args.__class__, 'argparse.Namespace');
  assert.equal(args.model, 'SiT-B/2');
  assert.equal(args.resume, null);
  assert.equal(ck.get('steps'), 1234);
  const extra = ck.get('extra') as Map<PyValue, PyValue>;
  assert.equal(extra.get('big'), 2n ** 70n);
  assert.deepEqual(extra.get('bytes'), Uint8Array.from([0, 1, 0xfe, 0xff]));
  // distinct tensors never share memory, even when they share a storage
  const buffers = new Set<ArrayBufferLike>();
  for (const t of model.values()) {
    if (t.data.byteLength === 0) continue;
    assert.ok(!buffers.has(t.data.buffer));
    buffers.add(t.data.buffer);
  }
});

test('tiny.pt: parameters keep requires_grad; torch.device and torch.Size become plain values', () => {
  const t = readPtRaw(fixturePath('io/tiny.pt')) as Map<string, PyValue<RawTensor>>;
  assert.deepEqual(f32(t.get('w') as RawTensor), [0, 1, 2, 3, 4, 5]);
  assert.equal((t.get('w') as RawTensor).requiresGrad, undefined);
  assert.equal((t.get('p') as RawTensor).requiresGrad, true);
  assert.equal(t.get('dev'), 'cuda:1');
  assert.deepEqual(t.get('size'), [2, 3]);
});

const tinyFiles = unzip(read('tiny.pt'));
const tinyExpected = encode(readPtRaw(read('tiny.pt')));

test('repacked archives: deflated, ZIP64, another root folder, big-endian byte order', () => {
  assert.deepEqual(encode(readPtRaw(makeZip(tinyFiles.map((f) => ({ ...f, deflate: true }))))), tinyExpected);
  assert.deepEqual(encode(readPtRaw(makeZip(tinyFiles, { zip64: true }))), tinyExpected);
  assert.deepEqual(encode(readPtRaw(makeZip(tinyFiles.map((f) => ({ ...f, name: f.name.replace(/^tiny\//, 'archive/') }))))), tinyExpected);
  const swap4 = (b: Uint8Array): Uint8Array => b.map((_, i) => b[(i & ~3) + 3 - (i & 3)] as number);
  const big: ZipInput[] = tinyFiles.map((f) => (f.name.includes('/data/') ? { ...f, data: swap4(f.data) } : f));
  big.push({ name: 'tiny/byteorder', data: new TextEncoder().encode('big') });
  assert.deepEqual(encode(readPtRaw(makeZip(big))), tinyExpected);
});

/** Assert that reading `input` throws a SerializationError matching `re`. */
function rejects(input: string | Uint8Array, re: RegExp): void {
  assert.throws(
    () => readPtRaw(input),
    (e: unknown) => e instanceof SerializationError && re.test(e.message),
  );
}

/** A torch.save-style archive holding `pickle` as data.pkl and the given storages. */
function archive(pickle: Uint8Array, storages: Record<string, Uint8Array>): Uint8Array {
  return makeZip([
    { name: 'a/data.pkl', data: pickle },
    ...Object.entries(storages).map(([k, data]) => ({ name: `a/data/${k}`, data })),
    { name: 'a/version', data: new TextEncoder().encode('3\n') },
  ]);
}

/** Protocol-2 pickle of {'w': _rebuild_tensor_v2(storage(type, '0', loc, numel), offset, size, stride, False, None)}. */
function tensorPickle(opts: {
  type?: string;
  numel?: number;
  offset?: number;
  size?: number[];
  stride?: number[];
  loc?: string;
}): Uint8Array {
  const s = (x: string): string => `X${String.fromCharCode(x.length & 0xff, x.length >> 8, 0, 0)}${x}`;
  const tuple = (xs: number[]): string =>
    `(${xs.map((x) => `J${String.fromCharCode(x & 0xff, (x >> 8) & 0xff, (x >> 16) & 0xff, (x >>> 24) & 0xff)}`).join('')}t`;
  const text =
    `\x80\x02}${s('w')}ctorch._utils\n_rebuild_tensor_v2\n((${s('storage')}ctorch\n${opts.type ?? 'FloatStorage'}\n${s('0')}${s(opts.loc ?? 'cpu')}` +
    `J${String.fromCharCode((opts.numel ?? 4) & 0xff, 0, 0, 0)}tQJ${String.fromCharCode(opts.offset ?? 0, 0, 0, 0)}${tuple(opts.size ?? [4])}${tuple(opts.stride ?? [1])}\x89NtRs.`;
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

test('hand-made archives: strides, locations, and every failure mode has a clear message', () => {
  const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const w = (b: Uint8Array): number[] => f32((readPtRaw(b) as Map<string, RawTensor>).get('w') as RawTensor);
  assert.deepEqual(w(archive(tensorPickle({}), { 0: data })), [1, 2, 3, 4]);
  assert.deepEqual(w(archive(tensorPickle({ loc: 'mps' }), { 0: data })), [1, 2, 3, 4]);
  assert.deepEqual(w(archive(tensorPickle({ size: [2, 2], stride: [1, 2] }), { 0: data })), [1, 3, 2, 4]);
  assert.deepEqual(w(archive(tensorPickle({ size: [3], stride: [0], offset: 2 }), { 0: data })), [3, 3, 3]);
  rejects(archive(tensorPickle({ size: [3], offset: 2 }), { 0: data }), /reaches element 4 of a 4-element storage/);
  rejects(archive(tensorPickle({ size: [2, 2], stride: [1] }), { 0: data }), /size \[2, 2\] and stride \[1\] differ/);
  rejects(archive(tensorPickle({}), {}), /archive has no record "a\/data\/0" for storage 0/);
  rejects(archive(tensorPickle({}), { 0: data.subarray(0, 12) }), /record "a\/data\/0" has 12 bytes, storage 0 needs 4 × 4 = 16/);
  rejects(
    archive(tensorPickle({ type: 'ComplexFloatStorage' }), { 0: data }),
    /unsupported storage type <global torch.ComplexFloatStorage>/,
  );
  rejects(makeZip([{ name: 'a/version', data: new Uint8Array(1) }]), /no data.pkl record/);
  rejects(
    makeZip([
      { name: 'm/constants.pkl', data: new Uint8Array(1) },
      { name: 'm/code/x.py', data: new Uint8Array(1) },
    ]),
    /TorchScript archive/,
  );
  rejects(fixturePath('io/legacy.pt'), /legacy \(pre-1.6, non-zip\) torch.save format is not supported/);
  assert.throws(() => readPtRaw(fixturePath('io/no-such-file.pt')), /ENOENT/);
});

test("in-memory input: results never alias the caller's buffer", () => {
  const bytes = read('tiny.pt');
  const t = readPtRaw(bytes) as Map<string, RawTensor>;
  bytes.fill(0);
  assert.deepEqual(f32(t.get('w') as RawTensor), [0, 1, 2, 3, 4, 5]);
});

test('truncated or corrupted checkpoints fail with SerializationError (or, for harmless flips, still load)', () => {
  const good = read('ckpt_p2.pt');
  for (let k = 0; k <= 40; k++) {
    const cut = Math.floor((k * (good.byteLength - 1)) / 40);
    assert.throws(() => readPtRaw(good.subarray(0, cut)), SerializationError, `cut at ${cut}`);
  }
  // a truncated or damaged pickle inside an otherwise valid archive (CRC recomputed)
  const files = unzip(good);
  const pkl = files.find((f) => f.name.endsWith('data.pkl')) as ZipInput;
  for (let k = 0; k < 60; k++) {
    const cut = Math.floor((k * pkl.data.byteLength) / 60);
    const bad = files.map((f) => (f === pkl ? { ...f, data: f.data.subarray(0, cut) } : f));
    assert.throws(() => readPtRaw(makeZip(bad)), SerializationError, `pickle cut at ${cut}`);
  }
  const r = rng(5);
  for (let k = 0; k < 200; k++) {
    const b = pkl.data.slice();
    const at = Math.floor(r() * b.byteLength);
    b[at] = Math.floor(r() * 256);
    try {
      readPtRaw(makeZip(files.map((f) => (f === pkl ? { ...f, data: b } : f))));
    } catch (e) {
      assert.ok(e instanceof SerializationError, `pickle byte ${at}: ${String(e)}`);
    }
  }
  // random flips anywhere in the file, with and without CRC checks
  for (const verifyCrc of [true, false]) {
    for (let k = 0; k < 150; k++) {
      const b = good.slice();
      const at = Math.floor(r() * b.byteLength);
      b[at] = (b[at] as number) ^ (1 << Math.floor(r() * 8));
      try {
        readPtRaw(b, { verifyCrc });
      } catch (e) {
        assert.ok(e instanceof SerializationError, `byte ${at}: ${String(e)}`);
      }
    }
  }
});
