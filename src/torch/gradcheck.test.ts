/** The gradcheck helper itself: it passes correct gradients and catches wrong ones. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { gradcheck, GradcheckError } from './gradcheck.js';
import * as torch from './index.js';

const f64 = (values: number[], shape?: number[]): torch.Tensor => torch.tensor(values, { dtype: 'float64', shape });

describe('gradcheck', () => {
  test('passes a correct gradient and reports what it measured', () => {
    const x = f64([0.5, -1.25, 2, 3], [2, 2]);
    const r = gradcheck((a) => a!.mul(a!).sin(), [x]);
    assert.equal(r.checked, 4);
    assert.ok(r.maxAbsError < 1e-8, `max abs error ${r.maxAbsError}`);
    assert.ok(r.maxRelError < 1e-5);
    x.dispose();
  });

  test('catches a wrong gradient (a detach inside the function) and names the element', () => {
    const x = f64([0.5, -1.25, 2]);
    // d/dx (x · stopgrad(x)) is x for autograd but 2x for finite differences
    assert.throws(
      () => gradcheck((a) => a!.mul(a!.detach()), [x]),
      (e: unknown) => e instanceof GradcheckError && e.input === 0 && e.element === 0 && Math.abs(e.numeric / e.analytic - 2) < 1e-6, // r·2x versus r·x
    );
    x.dispose();
  });

  test('leaves the inputs untouched and releases every tensor, also on failure', () => {
    const x = f64([1, 2, 3]);
    const before = torch.liveTensors();
    gradcheck((a) => a!.exp(), [x]);
    assert.throws(() => gradcheck((a) => a!.mul(a!.detach()), [x]), GradcheckError);
    assert.equal(torch.liveTensors(), before);
    assert.deepEqual(x.toArray(), [1, 2, 3]);
    assert.equal(x.requiresGrad, false);
    assert.equal(x.grad, null);
    x.dispose();
  });

  test('several outputs, an unused input and a non-float input', () => {
    const a = f64([0.3, 0.7, -0.2, 1.1], [2, 2]);
    const unused = f64([5]);
    const idx = torch.tensor([1, 0], { dtype: 'int64' });
    const r = gradcheck((x, _u, i) => [x!.indexSelect(0, i!), x!.sum(1)], [a, unused, idx]);
    assert.equal(r.checked, 5); // a's 4 elements and unused's 1 (zero gradient), not the indices
    for (const t of [a, unused, idx]) t.dispose();
  });

  test('rejects float32 inputs and outputs, and bad wrt indices', () => {
    const x32 = torch.tensor([1, 2]);
    const x64 = f64([1, 2]);
    assert.throws(() => gradcheck((a) => a!.exp(), [x32]), TypeError);
    assert.throws(() => gradcheck((a) => a!.exp(), [x32], { wrt: [0] }), /float64/);
    assert.throws(() => gradcheck((a) => a!.float(), [x64]), /float64/);
    assert.throws(() => gradcheck((a) => a!, [x64], { wrt: [3] }), RangeError);
    x32.dispose();
    x64.dispose();
  });
});
