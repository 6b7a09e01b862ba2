import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { BatchNorm2d, Conv2d, Embedding, LayerNorm, Linear, Module, ModuleList, init } from './index.js';

/** y = tanh(x·Wᵀ + b)·2, with the intermediates a forward leaves behind (linear output, tanh). */
class Doubler extends Module {
  readonly lin: Linear;
  constructor(dim: number) {
    super();
    this.lin = this.child('lin', new Linear(dim, dim));
  }
  forward(x: Tensor): Tensor {
    return this.lin.forward(x).tanh().mul(2);
  }
}

/** Two children, a buffer, a tensor-valued plain-object result. */
class Pair extends Module {
  readonly a: Doubler;
  readonly b: Doubler;
  readonly scale: Tensor;
  constructor() {
    super();
    this.a = this.child('a', new Doubler(3));
    this.b = this.child('b', new Doubler(3));
    this.scale = this.buffer('scale', torch.full([3], 0.5), { persistent: false });
  }
  forward(x: Tensor, fail = false): { first: Tensor; both: Tensor[] } {
    const first = this.a.forward(x);
    const second = this.b.forward(first.mul(this.scale));
    if (fail) throw new Error('failing forward');
    return { first, both: [first, second.add(1)] };
  }
}

test('forward runs in its own scope: results survive, intermediates are freed, inputs untouched', () => {
  const m = new Pair();
  const x = torch.randn([2, 3]);
  const before = torch.liveTensors();
  const out = torch.noGrad(() => m.forward(x));
  assert.equal(torch.liveTensors(), before + 2, 'only first and both[1] are alive');
  assert.equal(out.both[0], out.first);
  assert.ok(!x.isDisposed);
  const want = torch.scope(() => torch.noGrad(() => x.matmul(m.a.lin.weight.t()).add(m.a.lin.bias!).tanh().mul(2)));
  assert.equal(
    torch.scope(() => want.sub(out.first).abs().max().item()),
    0,
  );
  want.dispose();
  for (const t of out.both) t.dispose();
  assert.equal(torch.liveTensors(), before);
  assert.throws(() => m.forward(x, true), /failing forward/);
  assert.equal(torch.liveTensors(), before, 'a throwing forward frees what it created');
  // inside an outer scope, the results belong to it
  torch.scope(() => void m.forward(x));
  assert.equal(torch.liveTensors(), before);
  // with autograd: the graph keeps what backward needs, the handles are still freed
  torch.scope(() => m.forward(x).both[1]!.sum().backward());
  m.zeroGrad();
  assert.equal(torch.liveTensors(), before);
  m.dispose();
  x.dispose();
});

test('dispose frees every parameter and buffer (persistent or not), and may be called twice', () => {
  const before = torch.liveTensors();
  const m = new Pair();
  const bn = new BatchNorm2d(4);
  assert.equal(torch.liveTensors(), before + 4 + 1 + 4);
  const tensors = [...m.parameters(), m.scale];
  m.dispose();
  bn.dispose();
  assert.ok(tensors.every((t) => t.isDisposed));
  assert.equal(torch.liveTensors(), before);
  m.dispose();
  assert.equal(torch.liveTensors(), before);
  {
    using scoped = new Doubler(2);
    assert.equal(scoped.parameters().length, 2);
  }
  assert.equal(torch.liveTensors(), before, '`using` disposes');
});

test('requiresGrad_(false) freezes every parameter', () => {
  const m = new Pair();
  assert.equal(m.trainableParameters().length, 4);
  assert.equal(m.requiresGrad_(false), m);
  assert.equal(m.trainableParameters().length, 0);
  m.requiresGrad_(true);
  assert.equal(m.trainableParameters().length, 4);
  m.dispose();
});

test('ModuleList names children by index (gaps kept); chain frees each step unless keepAll', () => {
  const list = new ModuleList<Doubler>([
    [0, new Doubler(2)],
    [2, new Doubler(2)],
    [5, new Doubler(2)],
  ]);
  assert.deepEqual(
    [...list.stateDict().keys()],
    ['0.lin.weight', '0.lin.bias', '2.lin.weight', '2.lin.bias', '5.lin.weight', '5.lin.bias'],
  );
  assert.equal(list.length, 3);
  const x = torch.randn([1, 2]);
  torch.noGrad(() => {
    const seen: Tensor[] = [];
    const h0 = x.clone();
    const out = list.chain(h0, (m, h, i) => {
      assert.equal(m, list.items[i]);
      const next = m.forward(h);
      seen.push(next);
      return next;
    });
    assert.ok(h0.isDisposed && seen[0]!.isDisposed && seen[1]!.isDisposed && !out.isDisposed);
    assert.equal(out, seen[2]);
    const want = list.items.reduce((h, m) => torch.scope(() => m.forward(h)), x);
    assert.ok(torch.scope(() => want.sub(out).abs().max().item()) === 0);
    const kept: Tensor[] = [];
    const h1 = x.clone();
    list.chain(h1, (m, h) => (kept.push(m.forward(h)), kept.at(-1)!), { keepAll: true });
    assert.ok(!h1.isDisposed && kept.every((t) => !t.isDisposed));
    for (const t of [out, want, h1, ...kept]) t.dispose();
  });
  list.dispose();
  x.dispose();
});

test('skipInit: same names and shapes, nothing drawn from the generator, large weights cost no memory', () => {
  const build = () =>
    new ModuleList<Module>([
      new Linear(6, 5),
      new LayerNorm(5),
      new Embedding(4, 5),
      new Conv2d(3, 8, 3, { groups: 1 }),
      new BatchNorm2d(8),
    ]);
  const shapes = (m: Module) => [...m.stateDict()].map(([k, t]) => [k, t.shape]);
  torch.manualSeed(7);
  const normal = build();
  const afterNormal = torch.scope(() => torch.rand([4]).toArray());
  torch.manualSeed(7);
  const skipped = init.skipInit(build);
  const afterSkipped = torch.scope(() => torch.rand([4]).toArray());
  torch.manualSeed(7);
  const untouched = torch.scope(() => torch.rand([4]).toArray());
  assert.deepEqual(shapes(skipped), shapes(normal));
  assert.deepEqual(afterSkipped, untouched, 'a skipInit build draws nothing');
  assert.notDeepEqual(afterNormal, untouched, 'a normal build draws its initial values');
  assert.equal(skipped.trainableParameters().length, normal.trainableParameters().length);
  normal.dispose();
  skipped.dispose();
  // 40 000 × 10 000 float32 = 1.6 GB of weights: only address space until written
  const rss = process.memoryUsage.rss();
  const big = init.skipInit(() => new Linear(10_000, 40_000));
  assert.deepEqual(big.weight.shape, [40_000, 10_000]);
  assert.ok(process.memoryUsage.rss() - rss < 200e6, `RSS grew by ${((process.memoryUsage.rss() - rss) / 1e6).toFixed(0)} MB`);
  big.dispose();
  // initialisers are live again after the build, also after a throwing one
  assert.throws(
    () =>
      init.skipInit(() => {
        throw new Error('build failed');
      }),
    /build failed/,
  );
  const z = init.zeros_(torch.ones([3]));
  assert.deepEqual(z.toArray(), [0, 0, 0]);
  z.dispose();
});

test('BatchNorm2d: eval-mode formula with PyTorch names; training mode refuses', () => {
  const bn = new BatchNorm2d(2, 1e-3);
  assert.deepEqual([...bn.stateDict().keys()], ['weight', 'bias', 'running_mean', 'running_var']);
  torch.noGrad(() => {
    bn.weight.copy_(torch.tensor([2, 3]));
    bn.bias.copy_(torch.tensor([0.5, -1]));
    bn.runningMean.copy_(torch.tensor([1, -2]));
    bn.runningVar.copy_(torch.tensor([4, 0.25]));
  });
  const x = torch.tensor([1, 3, 0, -2], { shape: [1, 2, 2, 1] });
  assert.throws(() => bn.forward(x), /training mode .* not implemented; call eval\(\)/);
  bn.eval();
  const y = torch.noGrad(() => bn.forward(x)).toArray() as number[];
  const want = [1, 3, 0, -2].map((v, i) => {
    const c = i < 2 ? 0 : 1;
    const [g, b, mu, s2] = [[2, 3][c]!, [0.5, -1][c]!, [1, -2][c]!, [4, 0.25][c]!];
    return ((v - mu) / Math.sqrt(s2 + 1e-3)) * g + b;
  });
  y.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${v} vs ${want[i]}`));
  bn.dispose();
  x.dispose();
});

/** A float parameter and an int64 buffer (as BatchNorm's num_batches_tracked). */
class Counted extends Module {
  readonly weight: Tensor;
  readonly count: Tensor;
  constructor() {
    super();
    this.weight = this.param('weight', torch.zeros([2]));
    this.count = this.buffer('count', torch.zeros([1], { dtype: 'int64' }));
  }
}

test('loadStateDict casts within a dtype kind and rejects another kind, naming the key and both dtypes', () => {
  const m = new Counted();
  const weight = torch.tensor([0.039, -0.0764], { dtype: 'float64' });
  const count = torch.tensor([7], { dtype: 'int32' });
  m.loadStateDict({ weight, count });
  assert.equal(m.weight.dtype, 'float32');
  assert.deepEqual(m.weight.toArray(), [Math.fround(0.039), Math.fround(-0.0764)]);
  assert.equal(m.count.dtype, 'int64');
  assert.deepEqual(m.count.toArray(), [7]);
  const asInt = torch.tensor([1, 2], { dtype: 'int32' });
  assert.throws(
    () => m.loadStateDict({ weight: asInt, count }),
    /'weight' is stored as int32 but the model holds float32 \(expected a floating dtype: float16, bfloat16, float32 or float64\)/,
  );
  const asBool = torch.tensor([1, 0], { dtype: 'bool' });
  assert.throws(() => m.loadStateDict({ weight: asBool, count }), /'weight' is stored as bool but the model holds float32/);
  const countAsFloat = torch.tensor([7.5], { dtype: 'float32' });
  assert.throws(
    () => m.loadStateDict({ weight, count: countAsFloat }),
    /'count' is stored as float32 but the model holds int64 \(expected an integer dtype/,
  );
  assert.deepEqual(m.weight.toArray(), [Math.fround(0.039), Math.fround(-0.0764)], 'a rejected load changes nothing');
  for (const t of [weight, count, asInt, asBool, countAsFloat]) t.dispose();
  m.dispose();
});
