/**
 * API details found missing by the engine's test author: gradcheck exported from the index, sub_
 * with a number, clamp/maximum/minimum with tensor bounds (and their gradients), one clear
 * TypeError for a non-tensor wherever a tensor is expected, fromBytes and setNumThreads argument
 * checks, scope()'s rule for class instances, autocast's dtype check, and attention's options.
 * (Values against PyTorch are in ops_extra.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import * as torch from './index.js';
import { F, type Tensor } from './index.js';
import { scoped } from '../../test/scoped.js';

const f64 = (values: number[], shape?: number[]): Tensor => torch.tensor(values, { dtype: 'float64', shape });

/** Expects a TypeError whose message matches `re`. */
function throwsType(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TypeError, `expected a TypeError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

describe('index exports', () => {
  test(
    'gradcheck and GradcheckError come from the index',
    scoped(() => {
      assert.equal(typeof torch.gradcheck, 'function');
      const x = f64([0.5, -1, 2]);
      assert.equal(torch.gradcheck((a) => a!.tanh(), [x]).checked, 3);
      assert.throws(() => torch.gradcheck((a) => a!.mul(a!.detach()), [x]), torch.GradcheckError);
    }),
  );
});

describe('in-place and bounds', () => {
  test(
    'sub_ with a number (and alpha), sub_ with a tensor still works',
    scoped(() => {
      const x = torch.tensor([1, 2, 3]);
      assert.equal(x.sub_(0.5), x, 'returns this');
      assert.deepEqual(x.toArray(), [0.5, 1.5, 2.5]);
      x.sub_(1, 2);
      assert.deepEqual(x.toArray(), [-1.5, -0.5, 0.5]);
      x.sub_(torch.tensor([1, 1, 1]));
      assert.deepEqual(x.toArray(), [-2.5, -1.5, -0.5]);
    }),
  );

  test(
    'clamp with tensor bounds in every combination; clamp_ likewise',
    scoped(() => {
      const x = torch.tensor([-3, -1, 0, 1, 3]);
      const lo = torch.tensor([-2, 0, 0, 2, -5]);
      const hi = torch.tensor([2]);
      assert.deepEqual(x.clamp(lo, hi).toArray(), [-2, 0, 0, 2, 2]);
      assert.deepEqual(x.clamp(lo).toArray(), [-2, 0, 0, 2, 3]);
      assert.deepEqual(x.clamp(undefined, hi).toArray(), [-3, -1, 0, 1, 2]);
      assert.deepEqual(x.clamp(null, hi).toArray(), [-3, -1, 0, 1, 2]);
      assert.deepEqual(x.clamp(lo, 1.5).toArray(), [-2, 0, 0, 1.5, 1.5]);
      assert.deepEqual(x.clamp(-0.5, hi).toArray(), [-0.5, -0.5, 0, 1, 2]);
      assert.deepEqual(x.clamp(-1, 1).toArray(), [-1, -1, 0, 1, 1], 'numbers as before');
      const y = x.clone();
      assert.equal(y.clamp_(lo, 1.5), y);
      assert.deepEqual(y.toArray(), [-2, 0, 0, 1.5, 1.5]);
      y.clamp_(null, hi.neg());
      assert.deepEqual(y.toArray(), [-2, -2, -2, -2, -2]);
      assert.throws(() => x.clamp(), /At least one of 'min' or 'max'/);
      assert.throws(() => x.clamp(torch.ones([3])), /size|shape|match/, 'bounds must broadcast');
    }),
  );

  test(
    'maximum / minimum with a tensor or a number',
    scoped(() => {
      const x = torch.tensor([-1, 0.5, 2]);
      assert.deepEqual(x.maximum(torch.tensor([0, 0, 3])).toArray(), [0, 0.5, 3]);
      assert.deepEqual(x.minimum(torch.tensor([0, 0, 3])).toArray(), [-1, 0, 2]);
      assert.deepEqual(x.maximum(0).toArray(), [0, 0.5, 2]);
      assert.deepEqual(x.minimum(1).toArray(), [-1, 0.5, 1]);
      assert.ok(Number.isNaN(torch.tensor([NaN]).maximum(0).item()), 'NaN propagates');
    }),
  );

  test(
    'gradients of clamp with tensor bounds reach the input and the bounds (float64)',
    scoped(() => {
      // away from ties, where the derivative is not defined
      const x = f64([-3, -1, 0.25, 1, 3, 0.5]);
      const lo = f64([-2, 0, -1, 2, -5, 0.1]);
      const hi = f64([2, 2, 2, 2.5, 2, 0.3]);
      torch.gradcheck((a, l, h) => a!.clamp(l!, h!), [x, lo, hi]);
      torch.gradcheck((a, l) => a!.clamp(l!, 1.5), [x, lo]);
      torch.gradcheck((a, h) => a!.clamp(-0.5, h!), [x, hi]);
      torch.gradcheck((a, l) => a!.maximum(l!), [x, lo]);
      torch.gradcheck((a) => a!.maximum(0.1).minimum(1.2), [x]);
    }),
  );
});

describe('a non-tensor where a tensor is expected is a clear TypeError', () => {
  const bad: [string, unknown][] = [
    ['a string', 'x'],
    ['null', null],
    ['an object', {}],
    ['an array', [1]],
    ['a boolean', true],
  ];
  for (const [what, v] of bad) {
    test(
      `${what}`,
      scoped(() => {
        const x = torch.ones([2, 2]);
        const t = v as Tensor;
        const got = new RegExp(`expected a tensor, got ${what}`);
        throwsType(() => x.add(t), /aten::add\.Tensor: argument 'other'/);
        throwsType(() => x.add(t), got);
        throwsType(() => x.matmul(t), /aten::matmul: argument 'other': expected a tensor/);
        throwsType(() => x.mul(t), got);
        throwsType(() => x.sub_(t), got);
        throwsType(() => x.maximum(t), got);
        throwsType(() => x.gather(0, t), /argument 'index': expected a tensor/);
        throwsType(() => x.indexSelect(0, t), got);
        throwsType(() => x.maskedFill(t, 0), /argument 'mask': expected a tensor/);
        throwsType(() => x.copy_(t), got);
        throwsType(() => x.lerp_(t, 0.5), got);
        throwsType(() => x.addcmul_(x, t), got);
        throwsType(() => x.setData_(t), got);
        throwsType(() => torch.cat([x, t]), /aten::cat: argument 'tensors': expected a tensor/);
        throwsType(() => torch.where(x.gt(0), t, x), got);
        throwsType(() => torch.zerosLike(t), got);
        throwsType(() => F.linear(x, t), /argument 'weight': expected a tensor/);
        throwsType(() => F.conv2d(t, x), /argument 'input': expected a tensor/);
        throwsType(() => F.relu(t), /F\.relu: argument 'x': expected a tensor/);
        throwsType(() => F.normalize(t), got);
        throwsType(() => F.scaledDotProductAttention(t, x, x), /F\.scaledDotProductAttention: argument 'q': expected a tensor/);
        throwsType(() => torch.randnLike(t), got);
        if (v !== null) {
          throwsType(() => x.backward(t), /backward gradient: expected a tensor/); // null is "no gradient"
          throwsType(() => x.clamp(t), got); // null is "no bound"
          throwsType(() => F.linear(x, x, t), /argument 'bias': expected a tensor/); // null is "no bias"
          throwsType(() => {
            x.grad = t; // null clears the gradient
          }, got);
        }
      }),
    );
  }

  test(
    'undefined for a required tensor, a number that is not a handle, a list that is not an array',
    scoped(() => {
      const x = torch.ones([2]);
      throwsType(() => x.add(undefined as unknown as Tensor), /argument 'other' is required/);
      throwsType(() => x.matmul(7 as unknown as Tensor), /expected a tensor, got a number that is not a tensor handle/);
      throwsType(() => x.index(x as unknown as Tensor[]), /argument 'indices' expects an array/);
      throwsType(() => torch.cat(x as unknown as Tensor[]), /argument 'tensors' expects an array/);
      throwsType(() => x.to(null as unknown as 'float32'), /to\(\): expected a dtype, a device/);
    }),
  );
});

describe('argument checks', () => {
  test(
    'fromBytes takes binary data only',
    scoped(() => {
      throwsType(
        () => torch.fromBytes([1, 2, 3, 4] as unknown as Uint8Array, 'uint8', [4]),
        /expected a typed array, DataView or ArrayBuffer, got an array \(use tensor\(\)/,
      );
      throwsType(() => torch.fromBytes('abcd' as unknown as Uint8Array, 'uint8', [4]), /got a string/);
      throwsType(() => torch.fromBytes(null as unknown as Uint8Array, 'uint8', [4]), /got null/);
      assert.deepEqual(torch.fromBytes(new Uint8Array([1, 2]).buffer, 'uint8', [2]).toArray(), [1, 2], 'an ArrayBuffer works');
      assert.deepEqual(torch.fromBytes(new DataView(new Uint8Array([3, 4]).buffer), 'uint8', [2]).toArray(), [3, 4], 'a DataView works');
    }),
  );

  test('setNumThreads: an integer from 1 to 1024', () => {
    const n = torch.getNumThreads();
    assert.equal(torch.MAX_THREADS, 1024);
    assert.throws(() => torch.setNumThreads(0), RangeError);
    assert.throws(() => torch.setNumThreads(-1), RangeError);
    assert.throws(() => torch.setNumThreads(1025), /at most 1024, got 1025/);
    assert.throws(() => torch.setNumThreads(1e9), RangeError);
    throwsType(() => torch.setNumThreads(1.5), /expected an integer/);
    throwsType(() => torch.setNumThreads(NaN), /expected an integer/);
    throwsType(() => torch.setNumThreads('2' as unknown as number), /expected an integer/);
    assert.equal(torch.getNumThreads(), n, 'nothing changed');
    torch.setNumThreads(n);
  });

  test('autocast: an unsupported dtype is a TypeError before the callback runs', () => {
    assert.deepEqual(torch.autocastDtypes('cpu').includes('bfloat16'), true);
    let ran = false;
    const unsupported = torch.autocastDtypes('cpu').includes('float16') ? 'float64' : 'float16';
    throwsType(
      () => torch.autocast(() => (ran = true), { dtype: unsupported }),
      new RegExp(`dtype ${unsupported} is not supported on cpu`),
    );
    throwsType(() => torch.autocast(() => (ran = true), { dtype: 'int64' }), /not supported/);
    assert.equal(ran, false);
    assert.equal(torch.isAutocastEnabled(), false, 'autocast state untouched');
    if (torch.buildInfo().libtorch.startsWith('1.')) assert.deepEqual(torch.autocastDtypes('cpu'), ['bfloat16']);
  });
});

describe('scope() and class instances', () => {
  class Pair {
    constructor(
      readonly a: Tensor,
      readonly b: Tensor,
    ) {}
  }

  test('a class instance holding a tensor of the scope is a TypeError; the scope releases everything', () => {
    const before = torch.liveTensors();
    throwsType(() => torch.scope(() => new Pair(torch.ones([1]), torch.zeros([1]))), /inside an instance of class Pair.*keep\(\)/s);
    throwsType(() => torch.scope(() => ({ result: [new Pair(torch.ones([1]), torch.zeros([1]))] })), /class Pair/);
    throwsType(() => torch.scope(() => new Map([['p', new Pair(torch.ones([1]), torch.zeros([1]))]])), /class Pair/);
    assert.equal(torch.liveTensors(), before);
    assert.equal(torch.scopeDepth(), 0);
  });

  test('the documented ways out: plain containers, Sets, keep(), tensors created outside the scope', () => {
    const before = torch.liveTensors();
    const outside = torch.ones([1]);
    const p = torch.scope(() => new Pair(outside, torch.keep(torch.zeros([1]))));
    assert.equal(p.b.isDisposed, false, 'kept');
    const q = torch.scope(() => {
      const t = torch.full([1], 7);
      return { t, wrapped: new Pair(t, outside) }; // t is reachable without the class instance
    });
    assert.equal(q.t.isDisposed, false);
    const s = torch.scope(() => new Set([torch.full([1], 3)]));
    assert.deepEqual([...s][0]!.toArray(), [3]);
    const deep = torch.scope(() => ({ a: [[{ b: new Map([['c', [torch.full([1], 5)]]]) }]] }));
    assert.deepEqual(deep.a[0]![0]!.b.get('c')![0]!.toArray(), [5]);
    for (const t of [outside, p.b, q.t, [...s][0]!, deep.a[0]![0]!.b.get('c')![0]!]) t.dispose();
    assert.equal(torch.liveTensors(), before);
  });

  test('keep() of a class instance holding a scope tensor is a TypeError too', () => {
    const before = torch.liveTensors();
    throwsType(() => torch.scope(() => torch.keep(new Pair(torch.ones([1]), torch.ones([1])))), /passed to keep\(\).*class Pair/s);
    assert.equal(torch.liveTensors(), before);
  });

  test('cycles and shared objects in the result are walked once', () => {
    const before = torch.liveTensors();
    const out = torch.scope(() => {
      const node: { t: Tensor; self?: unknown; list: unknown[] } = { t: torch.ones([1]), list: [] };
      node.self = node;
      node.list.push(node, node);
      return node;
    });
    assert.equal(out.t.isDisposed, false);
    out.t.dispose();
    assert.equal(torch.liveTensors(), before);
  });
});

describe('scaledDotProductAttention options', () => {
  test(
    'mask and isCausal together, a non-tensor mask, a bad scale: TypeErrors',
    scoped(() => {
      const q = torch.randn([1, 2, 3, 4]);
      throwsType(
        () => F.scaledDotProductAttention(q, q, q, { mask: torch.ones([3, 3], { dtype: 'bool' }), isCausal: true }),
        /either mask or isCausal/,
      );
      throwsType(
        () => F.scaledDotProductAttention(q, q, q, { mask: 1 as unknown as Tensor }),
        /argument 'mask': expected a tensor, got a number/,
      );
      throwsType(() => F.scaledDotProductAttention(q, q, q, { scale: NaN }), /scale must be a finite number/);
    }),
  );

  test(
    'causal equals the explicit tril mask; a boolean mask equals its additive form',
    scoped(() => {
      const g = new torch.Generator(3);
      const [q, k, v] = [0, 1, 2].map(() => torch.randn([2, 2, 5, 4], { generator: g, dtype: 'float64' })) as [Tensor, Tensor, Tensor];
      const tril = torch.ones([5, 5], { dtype: 'bool' }).tril();
      const causal = F.scaledDotProductAttention(q, k, v, { isCausal: true });
      const masked = F.scaledDotProductAttention(q, k, v, { mask: tril });
      const additive = F.scaledDotProductAttention(q, k, v, {
        mask: torch.zeros([5, 5], { dtype: 'float64' }).maskedFill(tril.logicalNot(), -Infinity),
      });
      assert.ok(causal.sub(masked).abs().max().item() < 1e-15);
      assert.ok(causal.sub(additive).abs().max().item() < 1e-15);
      // the first query sees only the first key
      assert.ok(causal.select(2, 0).sub(v.select(2, 0)).abs().max().item() < 1e-15);
    }),
  );

  test(
    'a query with every key masked out gives NaN, as in PyTorch',
    scoped(() => {
      const q = torch.randn([1, 1, 2, 4]);
      const mask = torch.tensor([
        [true, true],
        [false, false],
      ]);
      const out = F.scaledDotProductAttention(q, q, q, { mask, fused: false });
      assert.equal(out.select(2, 0).isnan().any().item(), 0);
      assert.equal(out.select(2, 1).isnan().all().item(), 1);
    }),
  );

  test(
    'gradients of masked, additive-masked, causal and scaled attention (float64 finite differences)',
    scoped(() => {
      const g = new torch.Generator(5);
      const r = (shape: number[]): Tensor => torch.randn(shape, { generator: g, dtype: 'float64' });
      const [q, k, v] = [r([1, 2, 3, 4]), r([1, 2, 5, 4]), r([1, 2, 5, 2])];
      const mask = torch.tensor([
        [true, false, true, true, false],
        [true, true, false, false, false],
        [false, true, true, true, true],
      ]);
      const additive = r([1, 1, 3, 5]);
      for (const fused of [true, false]) {
        torch.gradcheck((a, b, c) => F.scaledDotProductAttention(a!, b!, c!, { mask, fused }), [q, k, v]);
        torch.gradcheck((a, b, c, m) => F.scaledDotProductAttention(a!, b!, c!, { mask: m!, fused }), [q, k, v, additive]);
        torch.gradcheck((a, b, c) => F.scaledDotProductAttention(a!, b!, c!, { isCausal: true, scale: 0.3, fused }), [q, k, v]);
      }
    }),
  );
});
