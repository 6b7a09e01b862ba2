import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import * as torch from '../torch/index.js';
import { trainTinyRun } from '../../test/tiny-run.js';
import { evaluateRepresentation, scorePairedFeatures } from './representation.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-repr-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('scorePairedFeatures: identical features align (CKNNA ≈ 1) and probe equally', () => {
  torch.scope(() => {
    const g = new torch.Generator(5);
    const labels = Int32Array.from({ length: 80 }, (_, i) => i % 4);
    const means = torch.randn([4, 6], { generator: g }).mul(3);
    const x = means.indexSelect(0, torch.tensor(Array.from(labels), { dtype: 'int64' })).add(torch.randn([80, 6], { generator: g }));
    const r = scorePairedFeatures({ hidden: x, encoder: x, labels }, 4, {
      topk: 10,
      probeTrain: 60,
      probe: { epochs: 20, batchSize: 20 },
      seed: 1,
    });
    assert.ok(Math.abs(r.cknna.value - 1) < 1e-3, `${r.cknna.value}`);
    assert.deepEqual(r.probe.hidden, r.probe.encoder);
    assert.ok(r.probe.hidden.testAccuracy > 0.8, `${r.probe.hidden.testAccuracy}`);
    assert.equal(r.probe.chance, 0.25);
    assert.throws(
      () => scorePairedFeatures({ hidden: x, encoder: x, labels }, 4, { topk: 10, probeTrain: 80, seed: 1 }),
      /probeTrain 80 must be in \[2, 80\)/,
    );
  });
});

test('evaluateRepresentation on a tiny trained run: CKNNA of the aligned block and probes above chance, deterministic', async () => {
  const outputDir = path.join(tmp, 'run');
  await trainTinyRun(outputDir);
  const s = { t: 0.25, topk: 10, probeTrain: 96, probeTest: 64, seed: 2, probe: { epochs: 15, batchSize: 32 }, batchSize: 32 };
  const a = await evaluateRepresentation(outputDir, s);
  assert.equal(a.block, 1);
  assert.equal(a.images, 160);
  assert.equal(a.step, 4);
  assert.match(a.source, /synthetic/);
  assert.ok(Number.isFinite(a.cknna.value) && a.cknna.value > 0 && a.cknna.value <= 1, `CKNNA ${a.cknna.value}`);
  assert.ok(a.probe.encoder.testAccuracy > 0.6, `encoder probe ${a.probe.encoder.testAccuracy}`);
  assert.ok(a.probe.hidden.testAccuracy > a.probe.chance + 0.2, `hidden probe ${a.probe.hidden.testAccuracy} vs chance ${a.probe.chance}`);
  const b = await evaluateRepresentation(outputDir, s);
  assert.deepEqual(b, a, 'the same seed gives the same report');
  await assert.rejects(() => evaluateRepresentation(outputDir, { ...s, block: 3 }), /block must be an integer in \[1, 2\]/);
});
