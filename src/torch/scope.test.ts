/**
 * Deterministic release of native memory: scope(), keep(), dispose(), Symbol.dispose and `using`.
 * liveTensors() counts native tensor handles that are neither disposed nor garbage-collected, so
 * every assertion here is exact and independent of the garbage collector.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import * as torch from './index.js';
import { innermostScopeEntries } from './scope.js';

describe('scope', () => {
  test('intermediates are released, the returned tensor survives', () => {
    const base = torch.liveTensors();
    let inner: torch.Tensor | undefined;
    const y = torch.scope(() => {
      inner = torch.ones([3]).mul(2);
      return inner.add(1);
    });
    assert.equal(inner!.isDisposed, true);
    assert.equal(y.isDisposed, false);
    assert.deepEqual(y.toArray(), [3, 3, 3]);
    assert.equal(torch.liveTensors(), base + 1);
    y.dispose();
    assert.equal(y.isDisposed, true);
    assert.equal(torch.liveTensors(), base);
  });

  test('tensors inside returned arrays, plain objects and Maps survive', () => {
    const base = torch.liveTensors();
    const out = torch.scope(() => {
      const a = torch.zeros([1]);
      const b = torch.ones([1]);
      torch.full([1], 5); // dropped
      return { list: [a, { b }], map: new Map([['c', torch.full([1], 3)]]), n: 42 };
    });
    assert.equal(torch.liveTensors(), base + 3);
    assert.equal((out.list[0] as torch.Tensor).isDisposed, false);
    assert.deepEqual(out.map.get('c')!.toArray(), [3]);
    for (const t of [out.list[0] as torch.Tensor, (out.list[1] as { b: torch.Tensor }).b, out.map.get('c')!]) t.dispose();
    assert.equal(torch.liveTensors(), base);
  });

  test('nested scopes: a result moves to the enclosing scope', () => {
    const base = torch.liveTensors();
    let fromInner: torch.Tensor | undefined;
    const outer = torch.scope(() => {
      assert.equal(torch.scopeDepth(), 1);
      fromInner = torch.scope(() => {
        assert.equal(torch.scopeDepth(), 2);
        return torch.ones([2]).mul(3);
      });
      assert.equal(fromInner.isDisposed, false, 'alive in the outer scope');
      return fromInner.add(1);
    });
    assert.equal(torch.scopeDepth(), 0);
    assert.equal(fromInner!.isDisposed, true, 'released with the outer scope');
    assert.deepEqual(outer.toArray(), [4, 4]);
    outer.dispose();
    assert.equal(torch.liveTensors(), base);
  });

  test('keep() lets a tensor outlive every scope', () => {
    const base = torch.liveTensors();
    let kept: torch.Tensor | undefined;
    torch.scope(() => {
      torch.scope(() => {
        kept = torch.keep(torch.arange(3));
        torch.zeros([2]);
      });
    });
    assert.equal(kept!.isDisposed, false);
    assert.deepEqual(kept!.toArray(), [0, 1, 2]);
    assert.equal(torch.liveTensors(), base + 1);
    kept!.dispose();
    assert.equal(torch.liveTensors(), base);
  });

  test('tensors created outside the scope are left alone, also when returned', () => {
    const x = torch.ones([2]);
    const base = torch.liveTensors();
    const same = torch.scope(() => {
      x.mul(2);
      return x;
    });
    assert.equal(same, x);
    assert.equal(x.isDisposed, false);
    assert.equal(torch.liveTensors(), base);
    x.dispose();
  });

  test('an exception releases the intermediates and restores the depth', () => {
    const base = torch.liveTensors();
    let leaked: torch.Tensor | undefined;
    assert.throws(
      () =>
        torch.scope(() => {
          leaked = torch.ones([4]);
          torch.scope(() => {
            torch.zeros([3]);
            throw new RangeError('inner failure');
          });
        }),
      RangeError,
    );
    assert.equal(leaked!.isDisposed, true);
    assert.equal(torch.scopeDepth(), 0);
    assert.equal(torch.liveTensors(), base);
    // a libtorch error inside the scope
    assert.throws(() => torch.scope(() => torch.ones([2, 3]).matmul(torch.ones([2, 3]))), /cannot be multiplied/);
    assert.equal(torch.liveTensors(), base);
  });

  test('async callbacks are refused and their tensors released', () => {
    const base = torch.liveTensors();
    assert.throws(() => torch.scope(async () => torch.ones([1])), TypeError);
    assert.equal(torch.liveTensors(), base);
    assert.equal(torch.scopeDepth(), 0);
  });

  test('dispose() inside a scope, twice, and after the scope is harmless', () => {
    const base = torch.liveTensors();
    const y = torch.scope(() => {
      const t = torch.ones([2]);
      t.dispose();
      t.dispose();
      assert.equal(t.isDisposed, true);
      return torch.zeros([1]);
    });
    y.dispose();
    y.dispose();
    assert.equal(torch.liveTensors(), base);
    assert.equal(String(y), 'Tensor(disposed)');
  });

  test('gradient handles and generator states created in a scope are released', () => {
    const w = torch.ones([3], { requiresGrad: true });
    const base = torch.liveTensors();
    torch.scope(() => {
      w.mul(w).sum().backward();
      w.grad!.toArray();
      new torch.Generator(1).getState();
    });
    assert.equal(torch.liveTensors(), base);
    assert.deepEqual(w.grad!.toArray(), [2, 2, 2], 'the gradient itself lives on');
    w.grad!.dispose(); // a temporary handle (getter creates one; this releases it)
    w.dispose();
  });

  test('Symbol.dispose releases a tensor', () => {
    const base = torch.liveTensors();
    const t = torch.ones([2]);
    t[Symbol.dispose]();
    assert.equal(t.isDisposed, true);
    assert.equal(torch.liveTensors(), base);
  });

  test('`using` declarations release at the end of the block, also on throw', () => {
    const base = torch.liveTensors();
    let seen: torch.Tensor | undefined;
    {
      using t = torch.ones([2]);
      using u = t.add(1);
      seen = u;
      assert.deepEqual(u.toArray(), [2, 2]);
      assert.equal(torch.liveTensors(), base + 2);
    }
    assert.equal(seen.isDisposed, true);
    assert.equal(torch.liveTensors(), base);
    assert.throws(() => {
      using v = torch.zeros([5]);
      seen = v;
      throw new Error('leave the block');
    }, /leave the block/);
    assert.equal(seen.isDisposed, true);
    assert.equal(torch.liveTensors(), base);
  });

  test('a long loop of explicit disposes (and keeps) inside one scope keeps its list bounded', () => {
    const base = torch.liveTensors();
    const one = torch.ones([1]);
    let most = 0;
    let kept: torch.Tensor[] = [];
    const survivor = torch.scope(() => {
      const first = one.mul(3); // tracked before the loop, must survive every compaction
      for (let i = 0; i < 20_000; i++) {
        one.add(i).dispose();
        if (i % 1000 === 0) kept.push(torch.keep(one.mul(i)));
        most = Math.max(most, innermostScopeEntries());
      }
      assert.equal(torch.liveTensors(), base + 2 + kept.length, 'one, first and the kept tensors');
      return first.add(1);
    });
    assert.ok(most <= 2 * 1025 + 1, `the list held up to ${most} entries for at most 2 live ones`);
    assert.equal(innermostScopeEntries(), 0);
    assert.deepEqual(survivor.toArray(), [4]);
    assert.equal(kept.length, 20);
    assert.deepEqual(kept[3]!.toArray(), [3000], 'kept tensors outlive the scope');
    for (const t of [survivor, one, ...kept]) t.dispose();
    kept = [];
    assert.equal(torch.liveTensors(), base);
  });

  test('a tensor disposed early is not disposed again when its scope closes; a returned one moves out', () => {
    const base = torch.liveTensors();
    const out = torch.scope(() => {
      const a = torch.ones([2]);
      a.dispose();
      const b = torch.zeros([2]);
      assert.equal(innermostScopeEntries(), 2);
      return { b, n: 1 };
    });
    assert.equal(out.b.isDisposed, false);
    assert.equal(torch.liveTensors(), base + 1);
    out.b.dispose();
    assert.equal(torch.liveTensors(), base);
  });
});
