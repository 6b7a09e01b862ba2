import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import { arange, fromBytes } from '../creation.js';
import type { DType } from '../dtype.js';
import { cudaAvailable, liveTensors } from '../runtime.js';
import { scope } from '../scope.js';
import { Tensor } from '../tensor.js';
import { SerializationError } from './errors.js';
import { readSafetensorsRaw } from './safetensors.js';
import { encode, makeZip, normalize, rng, sparseLargeFile, unzip, type Json } from '../../../test/io-testing.js';
import { asStateDict, loadPt, loadSafetensors, saveSafetensors, toRaw, toTensor } from './tensors.js';
import { ITEM_SIZE, rawTensor } from './raw.js';
import type { PyObject, PyValue } from './pyvalue.js';

const dir = mkdtempSync(join(tmpdir(), 'regts-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const DTYPES: DType[] = ['float64', 'float32', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];

function randomBytes(dtype: DType, n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n * ITEM_SIZE[dtype] }, () => (dtype === 'bool' ? (r() < 0.5 ? 1 : 0) : Math.floor(r() * 256)));
}

const asRaw = (v: unknown) => (v instanceof Tensor ? toRaw(v) : undefined);

test('saveSafetensors/loadSafetensors round trip every dtype, copied and memory-mapped', () => {
  const tensors = new Map<string, Tensor>();
  DTYPES.forEach((d, i) => {
    tensors.set(d, fromBytes(randomBytes(d, 6, i), d, [2, 3]));
    tensors.set(`${d}.scalar`, fromBytes(randomBytes(d, 1, 50 + i), d, []));
    tensors.set(`${d}.empty`, fromBytes(new Uint8Array(0), d, [0, 5]));
  });
  const path = join(dir, 'rt.safetensors');
  saveSafetensors(path, tensors, { step: '7' });
  for (const mmap of [false, true]) {
    const { tensors: got, metadata } = loadSafetensors(path, { mmap });
    assert.deepEqual(metadata, { step: '7' });
    assert.deepEqual([...got.keys()].sort(), [...tensors.keys()].sort());
    for (const [k, t] of tensors) {
      const g = got.get(k) as Tensor;
      assert.equal(g.dtype, t.dtype, k);
      assert.deepEqual(g.shape, t.shape, k);
      assert.equal(g.device, 'cpu');
      assert.deepEqual(g.toBytes(), t.toBytes(), `${k} mmap=${mmap}`);
    }
  }
});

test('non-contiguous tensors are saved in logical order; a mapped tensor can be written without touching the file', () => {
  const path = join(dir, 'views.safetensors');
  const base = arange(0, 12, 1, { dtype: 'float32' }).reshape(3, 4);
  saveSafetensors(path, { t: base.t(), s: base.slice(1, 1, 4, 2) });
  const raw = readSafetensorsRaw(path).tensors;
  assert.deepEqual([...new Float32Array(raw.get('t')!.data.slice().buffer)], [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  assert.deepEqual([...new Float32Array(raw.get('s')!.data.slice().buffer)], [1, 3, 5, 7, 9, 11]);
  const before = readFileSync(path);
  const { tensors } = loadSafetensors(path, { mmap: true });
  tensors.get('t')!.fill_(42);
  assert.deepEqual(tensors.get('t')!.toArray(), new Array(12).fill(42));
  assert.deepEqual(readFileSync(path), before);
});

test('the Python-written safetensors fixture loads as tensors', () => {
  const { tensors, metadata } = loadSafetensors(fixturePath('io/tensors.safetensors'), { mmap: true });
  assert.equal(metadata.format, 'pt');
  assert.deepEqual(tensors.get('i64')?.dtype, 'int64');
  assert.deepEqual(tensors.get('u8')?.toArray(), [0, 255, 17]);
  assert.deepEqual(tensors.get('scalar')?.item(), 1.25);
});

test('loadPt: the checkpoint fixtures load as tensors matching PyTorch', () => {
  const want = normalize(JSON.parse(readFileSync(fixturePath('io/ckpt.expected.json'), 'utf8')) as Json);
  for (const name of ['ckpt_p2.pt', 'ckpt_p5.pt', 'ckpt_cuda.pt']) {
    scope(() => {
      const ck = loadPt(fixturePath(`io/${name}`));
      assert.deepEqual(normalize(encode(ck, asRaw)), want, name);
      const m = ck as Map<string, PyValue<Tensor>>;
      const model = asStateDict(m.get('model'), 'model');
      assert.deepEqual(model.get('transposed')?.shape, [6, 4]);
      assert.deepEqual(model.get('transposed')?.strides, [4, 1]);
      assert.equal((m.get('args') as PyObject).__class__, 'argparse.Namespace');
      assert.throws(() => asStateDict(m.get('args'), 'args'), /args is not a dict of tensors/);
    });
  }
});

test('loadPt: parameters require grad; toTensor/toRaw round trip', () => {
  const t = loadPt(fixturePath('io/tiny.pt')) as Map<string, PyValue<Tensor>>;
  assert.equal((t.get('p') as Tensor).requiresGrad, true);
  assert.equal((t.get('w') as Tensor).requiresGrad, false);
  const r = rawTensor('bfloat16', [2], Uint8Array.from([0x80, 0x3f, 0x00, 0xc0]));
  assert.deepEqual(toTensor(r).toArray(), [1, -2]);
  assert.deepEqual(toRaw(toTensor(r)), r);
});

test('a failed load releases the tensors it already made', () => {
  const files = unzip(new Uint8Array(readFileSync(fixturePath('io/ckpt_p2.pt'))));
  // the storage that is read last has the wrong size: every tensor before it has been built by then
  const last = files.filter((f) => /\/data\/\d+$/.test(f.name)).at(-1)!;
  const bad = makeZip(files.map((f) => (f === last ? { ...f, data: f.data.subarray(0, f.data.byteLength - 1) } : f)));
  const before = liveTensors();
  assert.throws(() => loadPt(bad), SerializationError);
  assert.equal(liveTensors(), before);
  const path = join(dir, 'bad.safetensors');
  writeFileSync(path, new Uint8Array(4));
  assert.throws(() => loadSafetensors(path), SerializationError);
  assert.equal(liveTensors(), before);
});

test('saveSafetensors rejects disposed and non-tensor values', () => {
  const t = fromBytes(new Uint8Array(4), 'float32', [1]);
  t.dispose();
  assert.throws(() => saveSafetensors(join(dir, 'x.safetensors'), { t }), /has been disposed/);
  assert.throws(() => saveSafetensors(join(dir, 'x.safetensors'), { t: 1 as unknown as Tensor }), /is not a Tensor/);
});

if (cudaAvailable()) {
  test('device option moves loaded tensors to CUDA', () => {
    const { tensors } = loadSafetensors(fixturePath('io/tensors.safetensors'), { device: 'cuda:0', mmap: true });
    assert.equal(tensors.get('f32')?.device, 'cuda:0');
    const ck = loadPt(fixturePath('io/ckpt_p2.pt'), { device: 'cuda:0' }) as Map<string, PyValue<Tensor>>;
    const model = asStateDict(ck.get('model'));
    assert.equal(model.get('buf_bf16')?.device, 'cuda:0');
    const path = join(dir, 'from-cuda.safetensors');
    saveSafetensors(path, model);
    assert.deepEqual(encode(readSafetensorsRaw(path).tensors.get('transposed')), encode(toRaw(model.get('transposed')!.cpu())));
  });
} else {
  test('device option: asking for CUDA without it fails clearly and leaks nothing', () => {
    const before = liveTensors();
    assert.throws(() => loadSafetensors(fixturePath('io/tensors.safetensors'), { device: 'cuda:0' }), /CUDA is not available/);
    assert.throws(() => loadPt(fixturePath('io/ckpt_p2.pt'), { device: 'cuda:0' }), /CUDA is not available/);
    assert.equal(liveTensors(), before);
  });
}

test('memory-maps a file larger than 4 GiB (sparse) and reads a tensor past 4 GiB', () => {
  const path = join(dir, 'sparse.safetensors');
  const made = sparseLargeFile(path);
  if (made === null) return;
  try {
    const { tensors } = loadSafetensors(path, { mmap: true });
    assert.deepEqual(tensors.get('far')?.toArray(), [0x04030201, 0x08070605, 0x0c0b0a09, 0x100f0e0d]);
  } finally {
    rmSync(path, { force: true });
  }
});
