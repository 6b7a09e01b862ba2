import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relError } from '../../test/relative-error.js';
import { scoped } from '../../test/scoped.js';
import * as torch from '../torch/index.js';
import { GroupNorm } from './layers.js';

test(
  'GroupNorm: (x − E[x]) / √(Var[x] + ε)·γ + β over each group of channels and all positions; keys weight, bias',
  scoped(() => {
    using gn = new GroupNorm(2, 6, { eps: 1e-6 });
    assert.deepEqual([...gn.stateDict().keys()], ['weight', 'bias']);
    assert.deepEqual(gn.weight!.toArray(), [1, 1, 1, 1, 1, 1]);
    assert.deepEqual(gn.bias!.toArray(), [0, 0, 0, 0, 0, 0]);
    torch.noGrad(() => {
      gn.weight!.copy_(torch.tensor([1, 2, 3, 4, 5, 6]));
      gn.bias!.copy_(torch.tensor([0.5, 0, -0.5, 1, 0, -1]));
    });
    const x = torch.randn([2, 6, 3, 5], { generator: new torch.Generator(0), dtype: 'float64' });
    const groups = x.reshape(2, 2, 3 * 3 * 5);
    const normed = groups
      .sub(groups.mean(2, true))
      .div(groups.var(2, { correction: 0, keepdim: true }).add(1e-6).sqrt())
      .reshape(2, 6, 3, 5);
    const expected = normed.mul(gn.weight!.double().view(1, 6, 1, 1)).add(gn.bias!.double().view(1, 6, 1, 1));
    assert.ok(relError(gn.forward(x.float()), expected) <= 1e-6);
  }),
);

test('GroupNorm: channels that do not split into the groups are refused; affine false has no parameters', () => {
  assert.throws(() => new GroupNorm(4, 6), /GroupNorm: 6 channels cannot be split into 4 groups/);
  using plain = new GroupNorm(3, 6, { affine: false });
  assert.equal(plain.stateDict().size, 0);
});
