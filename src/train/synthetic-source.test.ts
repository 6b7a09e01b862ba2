import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../torch/index.js';
import { resolveConfig, type EntangledSignal, type SiTVariant } from '../models/configs.js';
import { SyntheticSource, type TrainBatch } from './data.js';

async function batchOf(variant: SiTVariant, entangledSignal: EntangledSignal): Promise<TrainBatch> {
  const model = resolveConfig('SiT-T/2', { inputSize: 4, zDims: [6], numClasses: 5, variant, entangledSignal });
  const source = new SyntheticSource({ model, microBatch: 3, device: 'cpu', start: null, seed: 11 });
  try {
    return await source.next();
  } finally {
    source.close();
  }
}

const same = (a: torch.Tensor, b: torch.Tensor) => torch.scope(() => a.sub(b).abs().max().item()) === 0;

test('synthetic batches carry exactly the targets the variant uses (a learnable token takes no class token)', async () => {
  const T = 4; // (4 / 2)² patch tokens
  const want: [SiTVariant, EntangledSignal, number[] | null, number[] | null][] = [
    ['reg', 'cls', [3, 6], [3, T + 1, 6]],
    ['reg', 'learnable', null, [3, T + 1, 6]],
    ['repa', 'cls', null, [3, T, 6]],
    ['sit', 'cls', null, null],
    ['entangle', 'cls', [3, 6], null],
    ['entangle', 'learnable', null, null],
  ];
  for (const [variant, signal, cls, align] of want) {
    const b = await batchOf(variant, signal);
    assert.deepEqual(b.clsTarget?.shape ?? null, cls, `${variant}/${signal} clsTarget`);
    assert.deepEqual(b.alignTarget?.shape ?? null, align, `${variant}/${signal} alignTarget`);
    for (const t of [b.x, b.y, b.clsTarget, b.alignTarget]) t?.dispose();
  }
});

test('REG with a learnable token aligns to the same [signal; patches] targets as REG (one random stream)', async () => {
  const reg = await batchOf('reg', 'cls');
  const olt = await batchOf('reg', 'learnable');
  assert.ok(same(reg.x, olt.x) && same(reg.y, olt.y));
  assert.ok(same(reg.alignTarget!, olt.alignTarget!));
  assert.ok(
    torch.scope(() => same(reg.alignTarget!.select(1, 0), reg.clsTarget!)),
    'token row of the alignment target is the class-token signal',
  );
  for (const b of [reg, olt]) for (const t of [b.x, b.y, b.clsTarget, b.alignTarget]) t?.dispose();
});
