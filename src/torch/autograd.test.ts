/** The autograd API (requiresGrad, grad, backward, grad modes, detach, leaves) and autocast. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import * as torch from './index.js';
import { F } from './index.js';
import { scoped } from '../../test/scoped.js';

describe('autograd', () => {
  test(
    'requiresGrad_, requiresGrad option, isLeaf',
    scoped(() => {
      const x = torch.tensor([1, 2, 3]);
      assert.equal(x.requiresGrad, false);
      assert.equal(x.requiresGrad_(), x, 'returns this');
      assert.equal(x.requiresGrad, true);
      assert.equal(x.isLeaf, true);
      const y = x.mul(2);
      assert.equal(y.requiresGrad, true);
      assert.equal(y.isLeaf, false);
      x.requiresGrad_(false);
      assert.equal(x.requiresGrad, false);
      assert.equal(torch.zeros([2], { requiresGrad: true }).requiresGrad, true);
      assert.equal(torch.tensor([1.5], { requiresGrad: true }).requiresGrad, true);
      assert.equal(torch.randn([2], { requiresGrad: true }).isLeaf, true);
      assert.equal(torch.zeros([2]).add(1).isLeaf, true, 'results of untracked ops are leaves');
    }),
  );

  test(
    'backward of a scalar fills grad of the leaves; grads accumulate',
    scoped(() => {
      const x = torch.tensor([1, 2, 3], { requiresGrad: true });
      const w = torch.tensor([0.5, -1, 2], { requiresGrad: true });
      assert.equal(x.grad, null);
      x.mul(w).sum().backward();
      assert.deepEqual(x.grad!.toArray(), [0.5, -1, 2]);
      assert.deepEqual(w.grad!.toArray(), [1, 2, 3]);
      x.mul(w).sum().backward();
      assert.deepEqual(x.grad!.toArray(), [1, -2, 4], 'accumulated');
    }),
  );

  test(
    'backward with an explicit gradient (vector-Jacobian product)',
    scoped(() => {
      const x = torch.tensor([1, 2, 3], { requiresGrad: true });
      const y = x.square();
      y.backward(torch.tensor([1, 0.5, -1]));
      assert.deepEqual(x.grad!.toArray(), [2, 2, -6]);
    }),
  );

  test(
    'retainGraph allows a second backward; without it the graph is freed',
    scoped(() => {
      const x = torch.tensor([1, 2], { requiresGrad: true });
      const y = x.mul(x).sum();
      y.backward(undefined, { retainGraph: true });
      y.backward();
      assert.deepEqual(x.grad!.toArray(), [4, 8]);
      assert.throws(() => y.backward(), /second time/);
    }),
  );

  test(
    'grad get and set',
    scoped(() => {
      const x = torch.zeros([3], { requiresGrad: true });
      x.grad = torch.tensor([9, 8, 7]);
      assert.deepEqual(x.grad!.toArray(), [9, 8, 7]);
      x.sum().backward();
      assert.deepEqual(x.grad!.toArray(), [10, 9, 8], 'backward accumulates into the set gradient');
      x.grad = null;
      assert.equal(x.grad, null);
      x.sum().backward();
      assert.deepEqual(x.grad!.toArray(), [1, 1, 1]);
      assert.throws(() => {
        x.grad = torch.zeros([2]);
      }, /shape/);
      // each access is a new handle to the same storage: disposing one does not clear the gradient
      const g = x.grad!;
      g.dispose();
      assert.deepEqual(x.grad!.toArray(), [1, 1, 1]);
    }),
  );

  test(
    'retainGrad keeps the gradient of a non-leaf',
    scoped(() => {
      const x = torch.tensor([1, 2], { requiresGrad: true });
      const h = x.mul(3);
      h.retainGrad();
      h.square().sum().backward();
      assert.deepEqual(h.grad!.toArray(), [6, 12]);
      assert.deepEqual(x.grad!.toArray(), [18, 36]);
    }),
  );

  test(
    'noGrad and enableGrad nest and restore the mode, also after an exception',
    scoped(() => {
      const x = torch.ones([2], { requiresGrad: true });
      assert.equal(torch.isGradEnabled(), true);
      const y = torch.noGrad(() => {
        assert.equal(torch.isGradEnabled(), false);
        const inner = torch.enableGrad(() => {
          assert.equal(torch.isGradEnabled(), true);
          return x.mul(2);
        });
        assert.equal(torch.isGradEnabled(), false);
        assert.equal(inner.requiresGrad, true);
        return x.mul(2);
      });
      assert.equal(y.requiresGrad, false);
      assert.equal(torch.isGradEnabled(), true);
      assert.throws(
        () =>
          torch.noGrad(() => {
            throw new Error('boom');
          }),
        /boom/,
      );
      assert.equal(torch.isGradEnabled(), true, 'restored after the exception');
      torch.noGrad(() => {
        assert.throws(
          () =>
            torch.enableGrad(() => {
              throw new Error('boom');
            }),
          /boom/,
        );
        assert.equal(torch.isGradEnabled(), false);
      });
    }),
  );

  test(
    'in-place updates of parameters under noGrad (an SGD step)',
    scoped(() => {
      const w = torch.tensor([1, 2], { requiresGrad: true });
      w.mul(w).sum().backward();
      torch.noGrad(() => w.sub_(w.grad!, 0.1));
      assert.deepEqual(
        w.toArray().map((v) => Math.round(v * 1e6) / 1e6),
        [0.8, 1.6],
      );
      assert.equal(w.isLeaf, true);
      assert.equal(w.requiresGrad, true);
    }),
  );

  test(
    'detach shares data but cuts the graph',
    scoped(() => {
      const x = torch.tensor([1, 2], { requiresGrad: true });
      const y = x.mul(2);
      const d = y.detach();
      assert.equal(d.requiresGrad, false);
      assert.equal(d.isLeaf, true);
      assert.deepEqual(d.toArray(), [2, 4]);
      d.add_(1); // shares storage with y
      assert.deepEqual(y.detach().toArray(), [3, 5]);
      y.add(d).sum().backward();
      assert.deepEqual(x.grad!.toArray(), [2, 2], 'no gradient through the detached branch');
    }),
  );

  test(
    'gradient through a shared input and several paths',
    scoped(() => {
      const x = torch.tensor([0.5, -1], { requiresGrad: true });
      const a = x.exp();
      const loss = a.mul(x).add(a).sum(); // d/dx (x·eˣ + eˣ) = eˣ(x + 2)
      loss.backward();
      const g = x.grad!.toArray();
      [0.5, -1].forEach((v, i) => assert.ok(Math.abs(g[i]! - Math.exp(v) * (v + 2)) < 1e-6));
    }),
  );
});

describe('autocast', () => {
  test(
    'bfloat16 on the CPU: linear/matmul/conv run in bfloat16, precision-sensitive ops in float32',
    scoped(() => {
      const x = torch.randn([4, 8]);
      const w = torch.randn([3, 8]);
      assert.equal(torch.isAutocastEnabled(), false);
      const [y, s] = torch.autocast(() => {
        assert.equal(torch.isAutocastEnabled(), true);
        assert.equal(torch.isAutocastEnabled('cpu'), true);
        const out = F.linear(x, w);
        assert.equal(x.matmul(w.t()).dtype, 'bfloat16');
        assert.equal(x.view(1, 4, 8).bmm(w.t().unsqueeze(0)).dtype, 'bfloat16');
        assert.equal(F.conv2d(x.view(1, 1, 4, 8), torch.ones([1, 1, 2, 2])).dtype, 'bfloat16');
        return [out, out.prod()] as const;
      });
      assert.equal(y.dtype, 'bfloat16');
      assert.equal(s.dtype, 'float32', 'prod is on the CPU autocast float32 list (as in PyTorch 1.13)');
      assert.equal(torch.isAutocastEnabled(), false);
      assert.equal(F.linear(x, w).dtype, 'float32', 'off again after the scope');
      // bfloat16 has 8 significant bits: within ~1% of the float32 result
      const ref = F.linear(x, w).toArray();
      y.toArray().forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) <= 0.02 * Math.max(1, Math.abs(ref[i]!)), `${v} vs ${ref[i]}`));
    }),
  );

  test(
    'gradients flow back to float32 parameters through autocast',
    scoped(() => {
      const x = torch.randn([4, 8]);
      const w = torch.randn([3, 8], { requiresGrad: true });
      torch.autocast(() => F.linear(x, w).float().square().mean()).backward();
      assert.equal(w.grad!.dtype, 'float32');
      assert.deepEqual(w.grad!.shape, [3, 8]);
    }),
  );

  test(
    'state is restored after an exception and after nesting',
    scoped(() => {
      assert.throws(
        () =>
          torch.autocast(() => {
            throw new Error('inside autocast');
          }),
        /inside autocast/,
      );
      assert.equal(torch.isAutocastEnabled(), false);
      assert.equal(F.linear(torch.randn([2, 3]), torch.randn([2, 3])).dtype, 'float32');
      torch.autocast(() => {
        torch.autocast(() => assert.equal(torch.isAutocastEnabled(), true));
        assert.equal(torch.isAutocastEnabled(), true, 'inner exit keeps the outer region on');
        assert.throws(() => torch.autocast(() => 0, { dtype: 'float16' }), Error); // libtorch 1.13 CPU: bfloat16 only
        assert.equal(torch.isAutocastEnabled(), true);
        assert.equal(F.linear(torch.randn([2, 3]), torch.randn([2, 3])).dtype, 'bfloat16');
      });
      assert.equal(torch.isAutocastEnabled(), false);
    }),
  );
});
