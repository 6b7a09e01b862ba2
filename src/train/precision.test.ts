/** Mixed-precision helpers: autocast dtype per mode and device; GradScaler-style dynamic loss scaling. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as torch from '../torch/index.js';
import { autocastDtype, DynamicLossScaler } from './precision.js';

describe('mixed precision', () => {
  it('maps modes to autocast dtypes; fp16 needs CUDA', () => {
    assert.equal(autocastDtype('no', 'cpu'), null);
    assert.equal(autocastDtype('bf16', 'cpu'), 'bfloat16');
    assert.equal(autocastDtype('fp16', 'cuda:0'), 'float16');
    assert.throws(() => autocastDtype('fp16', 'cpu'), /needs a CUDA device/);
  });

  it('unscales gradients, reports overflow, backs off and grows like GradScaler', () => {
    const s = new DynamicLossScaler({ initScale: 8, growthInterval: 2 });
    const a = torch.zeros([2]).requiresGrad_();
    const b = torch.zeros([1]).requiresGrad_();
    a.grad = torch.tensor([8, 16]);
    assert.equal(s.unscale([a, b]), true, 'params without grad are skipped');
    assert.deepEqual(a.grad!.toArray(), [1, 2]);
    s.update(false);
    assert.deepEqual(s.state(), { scale: 8, growthTracker: 1 });
    s.update(false);
    assert.deepEqual(s.state(), { scale: 16, growthTracker: 0 });
    b.grad = torch.tensor([Infinity]);
    assert.equal(s.unscale([a, b]), false);
    s.update(true);
    assert.deepEqual(s.state(), { scale: 8, growthTracker: 0 });
    const t = new DynamicLossScaler();
    t.load({ scale: 4, growthTracker: 3 });
    assert.deepEqual(t.state(), { scale: 4, growthTracker: 3 });
    assert.equal(new DynamicLossScaler().scale, 65536);
  });
});
