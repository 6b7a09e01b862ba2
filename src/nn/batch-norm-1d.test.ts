import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSafetensors } from '../torch/io/index.js';
import * as torch from '../torch/index.js';
import { fixturePath } from '../../test/fixture-path.js';
import { relError } from '../../test/relative-error.js';
import { BatchNorm1d } from './batch-norm-1d.js';

const fx = loadSafetensors(fixturePath('eval/linear_probe.safetensors')).tensors;
const get = (k: string) => fx.get(k)!;

test('BatchNorm1d matches PyTorch: training output, gradients, running statistics, eval output (float64)', () => {
  const bn = new BatchNorm1d(5).to({ dtype: 'float64' });
  bn.loadStateDict(
    new Map([
      ['weight', get('bn.weight')],
      ['bias', get('bn.bias')],
      ['running_mean', torch.zeros([5], { dtype: 'float64' })],
      ['running_var', torch.ones([5], { dtype: 'float64' })],
      ['num_batches_tracked', torch.zeros([], { dtype: 'int64' })],
    ]),
  );
  torch.scope(() => {
    const x = get('x1').clone().requiresGrad_(true);
    const y = bn.forward(x);
    y.mul(get('g').narrow(1, 0, 1))
      .sum()
      .backward();
    assert.ok(relError(y, get('bn.train_out')) < 1e-12);
    assert.ok(relError(x.grad!, get('bn.grad_x')) < 1e-10);
    assert.ok(relError(bn.weight!.grad!, get('bn.grad_weight')) < 1e-12);
    assert.ok(relError(bn.bias!.grad!, get('bn.grad_bias')) < 1e-12);
    assert.ok(relError(bn.runningMean, get('bn.running_mean')) < 1e-12);
    assert.ok(relError(bn.runningVar, get('bn.running_var')) < 1e-12);
    assert.equal(bn.numBatchesTracked.item(), get('bn.num_batches_tracked').item());
    bn.eval();
    assert.ok(relError(bn.forward(get('x2')), get('bn.eval_out')) < 1e-12);
  });
  assert.deepEqual(
    [...bn.stateDict().keys()],
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'],
    'the PyTorch state-dict keys',
  );
  bn.dispose();
});

test('BatchNorm1d without affine has only buffers and rejects bad shapes', () => {
  const bn = new BatchNorm1d(4, { affine: false });
  assert.equal(bn.parameters().length, 0);
  assert.deepEqual([...bn.stateDict().keys()], ['running_mean', 'running_var', 'num_batches_tracked']);
  torch.scope(() => {
    assert.throws(() => bn.forward(torch.zeros([3, 5])), /BatchNorm1d\(4\): expected \(N, 4\), got \[3, 5\]/);
    assert.throws(() => bn.forward(torch.zeros([1, 4])), /more than one value per feature/);
  });
  bn.dispose();
});
