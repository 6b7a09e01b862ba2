/**
 * The addon's two ways of calling an operator: unboxed for the common tensor/Scalar patterns
 * (native/src/dispatch.cc, callUnboxed) and boxed for everything else. The operator fixtures
 * (ops.test.ts) check the values of both against PyTorch; this file checks which operators take
 * which path, and that the unboxed one keeps the boxed path's scalar typing, defaults, errors and
 * autograd.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import * as torch from './index.js';
import { type Handle, native } from './native.js';

describe('unboxed operator calls', () => {
  test('the common patterns are unboxed; in-place, view, list and optional schemas stay boxed', () => {
    const forms: Record<string, string> = {
      'aten::add.Tensor': 'TTS',
      'aten::add.Scalar': 'TSS',
      'aten::mul.Tensor': 'TT',
      'aten::mul.Scalar': 'TS',
      'aten::neg': 'T',
      'aten::eq.Tensor': 'TT',
      'aten::add_.Tensor': 'boxed', // in-place: Tensor(a!)
      'aten::detach': 'boxed', // a view: Tensor(a)
      'aten::sum.dim_IntList': 'boxed',
      'aten::clamp': 'boxed', // optional Scalars
    };
    for (const [qualified, form] of Object.entries(forms)) {
      const [name, overload = ''] = qualified.split('.');
      assert.equal(torch.op(name!, overload).callForm, form, qualified);
    }
  });

  test('integral numbers stay integer scalars, fractional ones promote, as on the boxed path', () => {
    torch.scope(() => {
      const i = torch.tensor([1, 2, 3], { dtype: 'int64' });
      const kept = i.add(2);
      assert.equal(kept.dtype, 'int64');
      assert.deepEqual(kept.toArray(), [3, 4, 5]);
      const promoted = i.mul(0.5);
      assert.equal(promoted.dtype, 'float32');
      assert.deepEqual(promoted.toArray(), [0.5, 1, 1.5]);
    });
  });

  test('a missing alpha takes the schema default, a given one is used', () => {
    torch.scope(() => {
      const a = torch.tensor([1, 2]);
      const b = torch.tensor([10, 20]);
      assert.deepEqual(a.add(b).toArray(), [11, 22]);
      assert.deepEqual(a.add(b, 2).toArray(), [21, 42]);
      assert.deepEqual(a.sub(b, 0.5).toArray(), [-4, -8]);
      assert.deepEqual(a.add(3, 2).toArray(), [7, 8]); // add.Scalar with alpha
    });
  });

  test('arguments the unboxed path cannot take fall back to the boxed path and its errors', () => {
    torch.scope(() => {
      const a = torch.ones([2]);
      const gone = torch.ones([2]);
      gone.dispose();
      assert.throws(() => a.add(gone), /aten::add\.Tensor: argument 'other': the tensor was disposed/);
      assert.throws(() => a.add('x' as unknown as number), /expected a tensor, got a string|expects a number/);
      // a boolean Scalar is valid on the boxed path (the Tensor methods never pass one)
      const i = torch.tensor([1, 2], { dtype: 'int64' });
      const h = native.call(torch.op('aten::mul', 'Scalar').id, i.handle, true) as Handle;
      assert.deepEqual(new torch.Tensor(h).toArray(), [1, 2]);
    });
  });

  test('gradients flow through unboxed calls', () => {
    const x = torch.tensor([1, 2, 3]).requiresGrad_();
    torch.scope(() => x.mul(x).add(x, 2).sum().backward());
    assert.deepEqual(x.grad!.toArray(), [4, 6, 8]); // d/dx (x² + 2x) = 2x + 2
    x.grad!.dispose();
    x.dispose();
  });
});
