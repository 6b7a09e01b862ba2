import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../models/configs.js';
import { SiT } from '../models/sit.js';
import * as torch from '../torch/index.js';
import { relError } from '../../test/relative-error.js';
import { patchMeanHiddenState } from './hidden-features.js';

const config = resolveConfig('SiT-T/2', { inputSize: 8, depth: 3, encoderDepth: 2, zDims: [16], numClasses: 5 });

test('patch-mean hidden state: the mean over patch tokens (class token left out) of block k at x_t = (1 − t)x + tε, null label', () => {
  torch.manualSeed(1);
  const model = new SiT(config);
  torch.scope(() => {
    const x0 = torch.randn([3, 4, 8, 8]);
    const cls0 = torch.randn([3, 16]);
    const y = torch.tensor([0, 1, 2], { dtype: 'int64' });
    const f = patchMeanHiddenState(model, x0, y, cls0, { t: 0.3, generator: new torch.Generator(7) });
    assert.deepEqual(f.shape, [3, config.hiddenSize]);
    assert.equal(model.training, true, 'the training mode is restored');
    // the same computation by hand with the same noise stream
    model.eval();
    const g = new torch.Generator(7);
    const xT = x0.mul(0.7).add(torch.randnLike(x0, g).mul(0.3));
    const clsT = cls0.mul(0.7).add(torch.randnLike(cls0, g).mul(0.3));
    const out = torch.noGrad(() => model.forward(xT, 0.3, torch.full([3], 5, { dtype: 'int64' }), clsT, { returnHidden: true }));
    const h = out.hidden![1]!;
    assert.ok(relError(f, h.narrow(1, 1, 16).mean(1)) < 1e-6);
    const other = patchMeanHiddenState(model, x0, y, cls0, { t: 0.3, block: 1, generator: new torch.Generator(7) });
    assert.ok(relError(other, out.hidden![0]!.narrow(1, 1, 16).mean(1)) < 1e-6, 'another block');
  });
  model.dispose();
});

test('patch-mean hidden state rejects a bad block, t, a missing class token or a missing null class', () => {
  torch.manualSeed(2);
  const model = new SiT(config);
  const noNull = new SiT({ ...config, classDropoutProb: 0 });
  torch.scope(() => {
    const x0 = torch.randn([2, 4, 8, 8]);
    const cls0 = torch.randn([2, 16]);
    const y = torch.tensor([0, 1], { dtype: 'int64' });
    assert.throws(() => patchMeanHiddenState(model, x0, y, cls0, { t: 0.5, block: 4 }), /block must be an integer in \[1, 3\], got 4/);
    assert.throws(() => patchMeanHiddenState(model, x0, y, cls0, { t: 1.5 }), /t must be in \[0, 1\]/);
    assert.throws(() => patchMeanHiddenState(model, x0, y, null, { t: 0.5 }), /needs the encoder class token/);
    assert.throws(() => patchMeanHiddenState(noNull, x0, y, cls0, { t: 0.5 }), /no null class/);
    assert.deepEqual(patchMeanHiddenState(noNull, x0, y, cls0, { t: 0.5, labels: 'given' }).shape, [2, config.hiddenSize]);
  });
  model.dispose();
  noNull.dispose();
});
