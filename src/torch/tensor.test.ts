/**
 * The Tensor object itself: metadata, data in and out for every dtype, dtype moves, random
 * generators (seeding, state save/restore), operator lookup and runtime facts. Operator values are
 * in ops.test.ts, gradients in grad.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import * as torch from './index.js';
import { F } from './index.js';
import { scoped } from '../../test/scoped.js';

describe('metadata', () => {
  test(
    'shape, ndim, numel, size, strides, toString',
    scoped(() => {
      const x = torch.zeros([2, 3, 4]);
      assert.deepEqual(x.shape, [2, 3, 4]);
      assert.ok(Object.isFrozen(x.shape));
      assert.equal(x.ndim, 3);
      assert.equal(x.numel, 24);
      assert.equal(x.size(-1), 4);
      assert.equal(x.size(0), 2);
      assert.deepEqual(x.strides, [12, 4, 1]);
      assert.deepEqual(x.transpose(0, 2).strides, [1, 4, 12]);
      assert.equal(x.dtype, 'float32');
      assert.equal(x.device, 'cpu');
      assert.equal(String(x), 'Tensor(shape=[2, 3, 4], dtype=float32, device=cpu)');
    }),
  );

  test(
    '0-d and empty tensors',
    scoped(() => {
      const s = torch.tensor(3.5);
      assert.deepEqual(s.shape, []);
      assert.equal(s.numel, 1);
      assert.equal(s.item(), 3.5);
      const e = torch.zeros([0, 3]);
      assert.equal(e.numel, 0);
      assert.deepEqual(e.toArray(), []);
      assert.equal(e.sum().item(), 0);
      assert.deepEqual(torch.cat([e, torch.ones([1, 3])]).shape, [1, 3]);
    }),
  );

  test(
    'item() of float, integer and boolean tensors',
    scoped(() => {
      assert.equal(torch.tensor([2.25]).item(), 2.25);
      assert.equal(torch.tensor([7], { dtype: 'int64' }).item(), 7);
      assert.equal(torch.tensor([-3], { dtype: 'int32' }).item(), -3);
      assert.equal(torch.tensor([true]).item(), 1);
      assert.equal(torch.tensor([0.1], { dtype: 'float64' }).item(), 0.1);
      assert.equal(torch.tensor([[[5]]]).item(), 5);
    }),
  );
});

describe('data in and out', () => {
  const ALL: torch.DType[] = ['uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64', 'bool'];
  const SIZE: Record<torch.DType, number> = {
    uint8: 1,
    int8: 1,
    int16: 2,
    int32: 4,
    int64: 8,
    float16: 2,
    bfloat16: 2,
    float32: 4,
    float64: 8,
    bool: 1,
  };

  for (const dtype of ALL) {
    test(
      `fromBytes/toBytes round trip: ${dtype}`,
      scoped(() => {
        const n = 6;
        const bytes = new Uint8Array(n * SIZE[dtype]);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) & 0x7f; // no NaN patterns in the float types
        if (dtype === 'bool') bytes.forEach((_, i) => (bytes[i] = i % 2));
        const t = torch.fromBytes(bytes, dtype, [2, 3]);
        assert.equal(t.dtype, dtype);
        assert.deepEqual(t.shape, [2, 3]);
        assert.deepEqual(t.toBytes(), bytes);
        assert.equal(t.toTypedArray().byteLength, bytes.length);
      }),
    );
  }

  test(
    'tensor() from nested arrays, typed arrays and with dtype/shape options',
    scoped(() => {
      assert.equal(torch.tensor([1, 2]).dtype, 'float32');
      assert.equal(torch.tensor([true]).dtype, 'bool');
      assert.equal(torch.tensor(new Float64Array([1, 2])).dtype, 'float64');
      assert.equal(torch.tensor(new Int32Array([1, 2])).dtype, 'int32');
      assert.equal(torch.tensor(new Uint8Array([1, 2])).dtype, 'uint8');
      assert.equal(torch.tensor(new Int16Array([1, 2])).dtype, 'int16');
      assert.equal(torch.tensor(new Int8Array([1, 2])).dtype, 'int8');
      const big = torch.tensor(new BigInt64Array([1n, -2n]));
      assert.equal(big.dtype, 'int64');
      assert.deepEqual(big.toArray(), [1, -2]);
      assert.deepEqual(torch.tensor(new Float32Array([9, 1, 2, 3]).subarray(1)).toArray(), [1, 2, 3], 'a view with a byte offset');
      assert.deepEqual(torch.tensor(new Int32Array([7, 8]), { dtype: 'float32' }).toArray(), [7, 8]);
      const shaped = torch.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
      assert.deepEqual(shaped.shape, [2, 3]);
      assert.deepEqual(shaped.toArray(), [1, 2, 3, 4, 5, 6]);
      const bf = torch.tensor([1.5, -2, 3.140625], { dtype: 'bfloat16' });
      assert.equal(bf.dtype, 'bfloat16');
      assert.deepEqual(bf.toArray(), [1.5, -2, 3.140625]);
      assert.deepEqual(Array.from(bf.toTypedArray() as Uint16Array), [0x3fc0, 0xc000, 0x4049]);
      const h = torch.tensor([0.5, 65504], { dtype: 'float16' });
      assert.deepEqual(Array.from(h.toTypedArray() as Uint16Array), [0x3800, 0x7bff]);
      assert.deepEqual(
        torch
          .tensor(
            [
              [1, 2],
              [3, 4],
            ],
            { dtype: 'int64' },
          )
          .toArray(),
        [1, 2, 3, 4],
      );
      assert.deepEqual(torch.tensor([1, 2], { device: 'cpu', dtype: 'float64' }).toArray(), [1, 2]);
      assert.throws(() => torch.tensor([1, 2, 3], { shape: [2, 2] }), RangeError);
    }),
  );

  test(
    'int64 beyond 2^53 is exact in toTypedArray',
    scoped(() => {
      const v = 2n ** 62n + 1n;
      const t = torch.tensor(new BigInt64Array([v, -v]));
      const back = t.add(0).toTypedArray() as BigInt64Array;
      assert.equal(back[0], v);
      assert.equal(back[1], -v);
    }),
  );

  test(
    'toBytes of a non-contiguous view returns the logical (row-major) order',
    scoped(() => {
      const x = torch.arange(6, undefined, 1, { dtype: 'float32' }).view(2, 3).t();
      assert.deepEqual(Array.from(new Float32Array(x.toBytes().buffer)), [0, 3, 1, 4, 2, 5]);
      assert.deepEqual(x.toArray(), [0, 3, 1, 4, 2, 5]);
    }),
  );

  test(
    'dtype moves: to, float, double, long, cpu',
    scoped(() => {
      const x = torch.tensor([1.7, -2.2]);
      assert.equal(x.double().dtype, 'float64');
      assert.deepEqual(x.long().toArray(), [1, -2]);
      assert.equal(x.long().float().dtype, 'float32');
      assert.equal(x.to({ dtype: 'float16', device: 'cpu' }).dtype, 'float16');
      assert.equal(x.to('cpu').device, 'cpu');
      assert.equal(x.cpu().dtype, 'float32');
      assert.deepEqual(x.to('bool').toArray(), [1, 1]);
      assert.ok(torch.isFloatingPoint('bfloat16') && !torch.isFloatingPoint('int64') && !torch.isFloatingPoint('bool'));
    }),
  );

  test(
    'creation helpers: randnLike, like-functions keep dtype, arange defaults',
    scoped(() => {
      const x = torch.zeros([2, 3], { dtype: 'float64' });
      const r = torch.randnLike(x, new torch.Generator(5));
      assert.equal(r.dtype, 'float64');
      assert.deepEqual(r.shape, [2, 3]);
      assert.equal(torch.zerosLike(x).dtype, 'float64');
      assert.equal(torch.fullLike(x, 2).dtype, 'float64');
      assert.equal(torch.arange(5).dtype, 'int64');
      assert.equal(torch.arange(0, 1, 0.5).dtype, 'float32');
      assert.deepEqual(torch.arange(3, undefined, 1, { dtype: 'float64' }).toArray(), [0, 1, 2]);
      assert.deepEqual(torch.linspace(0, 1, 0).shape, [0]);
    }),
  );

  test(
    'setData_ swaps the data and keeps the leaf',
    scoped(() => {
      const w = torch.zeros([2], { requiresGrad: true });
      w.setData_(torch.ones([3], { dtype: 'float64' }));
      assert.deepEqual(w.shape, [3]);
      assert.equal(w.dtype, 'float64');
      assert.equal(w.isLeaf, true);
      assert.equal(w.requiresGrad, true);
      w.sum().backward();
      assert.deepEqual(w.grad!.toArray(), [1, 1, 1]);
    }),
  );
});

describe('random generators', () => {
  test(
    'same seed, same stream; different seeds differ',
    scoped(() => {
      const a = torch.randn([16], { generator: new torch.Generator(11) }).toArray();
      const b = torch.randn([16], { generator: new torch.Generator(11) }).toArray();
      const c = torch.randn([16], { generator: new torch.Generator(12) }).toArray();
      assert.deepEqual(a, b);
      assert.notDeepEqual(a, c);
      assert.equal(new torch.Generator(11).seed, 11);
    }),
  );

  test(
    'getState/setState resumes a generator exactly',
    scoped(() => {
      const g = new torch.Generator(99);
      torch.rand([5], { generator: g });
      const state = g.getState();
      assert.equal(state.dtype, 'uint8');
      const next = torch.randn([20], { generator: g }).toArray();
      const nextInt = torch.randint(0, 1000, [7], { generator: g }).toArray();
      g.setState(state);
      assert.deepEqual(torch.randn([20], { generator: g }).toArray(), next);
      assert.deepEqual(torch.randint(0, 1000, [7], { generator: g }).toArray(), nextInt);
      const other = new torch.Generator(0);
      other.setState(state);
      assert.deepEqual(torch.randn([20], { generator: other }).toArray(), next, 'a state moves between generators');
    }),
  );

  test(
    'manualSeed and global state save/restore; explicit generators leave the global one alone',
    scoped(() => {
      torch.manualSeed(5);
      const first = torch.rand([8]).toArray();
      torch.manualSeed(5);
      const saved = torch.getRngState();
      torch.randn([100], { generator: new torch.Generator(1) });
      assert.deepEqual(torch.rand([8]).toArray(), first);
      torch.setRngState(saved);
      assert.deepEqual(torch.rand([8]).toArray(), first);
    }),
  );

  test(
    'randint range and randperm is a permutation',
    scoped(() => {
      const g = new torch.Generator(4);
      const r = torch.randint(-3, 4, [500], { generator: g }).toArray();
      assert.ok(r.every((v) => Number.isInteger(v) && v >= -3 && v < 4));
      assert.equal(new Set(r).size, 7);
      const p = torch.randperm(50, { generator: g }).toArray();
      assert.deepEqual(
        [...p].sort((x, y) => x - y),
        Array.from({ length: 50 }, (_, i) => i),
      );
    }),
  );
});

describe('operators and runtime', () => {
  test('op lookup, schema, availability', () => {
    assert.match(torch.op('aten::add', 'Tensor').schema, /^aten::add\.Tensor\(Tensor self, Tensor other/);
    assert.equal(torch.op('aten::add', 'Tensor'), torch.op('aten::add', 'Tensor'), 'shared instance');
    assert.equal(torch.hasOp('aten::mm'), true);
    assert.equal(torch.hasOp('aten::not_an_operator'), false);
    assert.equal(F.hasFusedAttention(), torch.hasOp('aten::scaled_dot_product_attention'));
  });

  test('buildInfo, CUDA facts and thread control', () => {
    const info = torch.buildInfo();
    assert.match(info.libtorch, /^\d+\.\d+/);
    assert.equal(torch.cudaAvailable(), info.cudaAvailable);
    assert.equal(torch.cudaDeviceCount(), info.cudaDeviceCount);
    assert.equal(torch.cudaAvailable(), torch.cudaDeviceCount() > 0);
    const threads = torch.getNumThreads();
    try {
      torch.setNumThreads(2);
      assert.equal(torch.getNumThreads(), 2);
      torch.scope(() =>
        assert.equal(
          torch
            .ones([64, 64])
            .matmul(torch.ones([64, 64]))
            .sum()
            .item(),
          64 ** 3,
        ),
      );
    } finally {
      torch.setNumThreads(threads);
    }
    assert.equal(torch.getNumThreads(), threads);
  });
});
