/** The config diff of two runs: dotted keys, values compared as JSON, absent keys on either side. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffConfigs, flattenConfig } from './config-diff.js';

test('flattenConfig and diffConfigs', () => {
  assert.deepEqual(flattenConfig({ train: { lr: 1, betas: [0.9, 0.95] }, regTs: '0.1' }), {
    'train.lr': 1,
    'train.betas': [0.9, 0.95],
    regTs: '0.1',
  });
  const a = { train: { lr: 1e-4, betas: [0.9, 0.95], seed: 0 }, model: { depth: 2 } };
  const b = { train: { lr: 2e-4, betas: [0.9, 0.99], seed: 0 }, model: { depth: 2, zDims: [16] } };
  assert.deepEqual(diffConfigs(a, b), [
    { key: 'model.zDims', a: undefined, b: [16] },
    { key: 'train.betas', a: [0.9, 0.95], b: [0.9, 0.99] },
    { key: 'train.lr', a: 1e-4, b: 2e-4 },
  ]);
  assert.deepEqual(diffConfigs(a, a), []);
  assert.deepEqual(diffConfigs(null, { x: 1 }), [{ key: 'x', a: undefined, b: 1 }]);
});
