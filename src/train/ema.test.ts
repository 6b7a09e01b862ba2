import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as torch from '../torch/index.js';
import { EMA } from './ema.js';

test('EMA.loadStateDict casts within a dtype kind and rejects another kind, naming the weight', () => {
  const weight = torch.zeros([2]);
  const count = torch.zeros([1], { dtype: 'int64' });
  const ema = new EMA({
    namedParameters: () => [['weight', weight]],
    stateDict: () =>
      new Map([
        ['weight', weight],
        ['count', count],
      ]),
  });
  const good = new Map([
    ['weight', torch.tensor([0.039, -0.0764], { dtype: 'float64' })],
    ['count', torch.tensor([3], { dtype: 'int32' })],
  ]);
  ema.loadStateDict(good);
  assert.deepEqual(ema.stateDict().get('weight')?.toArray(), [Math.fround(0.039), Math.fround(-0.0764)]);
  assert.deepEqual(ema.stateDict().get('count')?.toArray(), [3]);
  const asInt = torch.tensor([1, 2], { dtype: 'int32' });
  assert.throws(
    () => ema.loadStateDict(new Map([...good, ['weight', asInt]])),
    /EMA weight 'weight' is stored as int32 but the model holds float32 \(expected a floating dtype/,
  );
  for (const t of [weight, count, asInt, ...good.values()]) t.dispose();
  ema.dispose();
});
