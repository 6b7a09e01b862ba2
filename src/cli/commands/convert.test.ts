/** `reg convert` → `reg export` reproduces the official checkpoint's keys and values bit for bit; both outputs load back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Tensor } from '../../torch/index.js';
import { loadPt, loadSafetensors } from '../../torch/io/index.js';
import { readCheckpointConfig } from '../../models/checkpoint.js';
import { configToPython, exportWeights, loadModel } from '../../models/pretrained.js';
import { fixturePath } from '../../../test/fixture-path.js';
import { sameTensor as same } from '../../../test/same-tensor.js';
import { makeZip } from '../../../test/io-testing.js';
import { parseArgs } from '../args.js';
import { convertCommand } from './convert.js';
import { exportCommand } from './export.js';

const PT = fixturePath('reference', 'official_small.pt');

const tmp = () => mkdtempSync(path.join(tmpdir(), 'reg-convert-'));

test('reg convert → reg export reproduces the official keys and values bit for bit', async () => {
  const dir = tmp();
  try {
    const ckDir = path.join(dir, 'ck');
    await convertCommand.run(parseArgs([PT, ckDir, '--num-heads', '2'], convertCommand.options));
    const cfg = readCheckpointConfig(ckDir);
    assert.equal(cfg.format, 'reg-ts-checkpoint');
    assert.equal(cfg.step, 1);
    assert.equal(cfg.model.numHeads, 2);
    const official = loadPt(PT) as Map<string, unknown>;
    for (const kind of ['ema', 'model'] as const) {
      const out = path.join(dir, `${kind}.safetensors`);
      await exportCommand.run(parseArgs([ckDir, out, '--weights', kind], exportCommand.options));
      const { tensors, metadata } = loadSafetensors(out);
      const ref = official.get(kind) as Map<string, Tensor>;
      assert.deepEqual([...tensors.keys()].sort(), [...ref.keys()].sort());
      for (const [k, v] of ref) assert.ok(same(tensors.get(k)!, v), `${kind}: ${k}`);
      assert.equal(metadata.weights, kind);
      assert.deepEqual(JSON.parse(metadata.official_config!), configToPython(cfg.model));
      // the exported file loads on its own, config from its metadata
      const m = loadModel(out, { weights: kind });
      for (const [k, v] of m.stateDict()) assert.ok(same(v, ref.get(k)!), k);
    }
    // the native directory loads both weights
    const ema = loadModel(ckDir);
    const model = loadModel(ckDir, { weights: 'model' });
    assert.ok(
      same(ema.stateDict().get('blocks.0.attn.qkv.weight')!, (official.get('ema') as Map<string, Tensor>).get('blocks.0.attn.qkv.weight')!),
    );
    assert.ok(
      same(
        model.stateDict().get('blocks.0.attn.qkv.weight')!,
        (official.get('model') as Map<string, Tensor>).get('blocks.0.attn.qkv.weight')!,
      ),
    );
    // convert refuses a non-empty directory without --force
    await assert.rejects(convertCommand.run(parseArgs([PT, ckDir, '--num-heads', '2'], convertCommand.options)), /not empty/);
    // export with a dtype conversion
    const half = path.join(dir, 'half.safetensors');
    exportWeights(ckDir, half, { dtype: 'bfloat16' });
    assert.equal(loadSafetensors(half).tensors.get('pos_embed')!.dtype, 'bfloat16');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reg convert on a pickle with a 300,000-byte LONG4 integer ends at once with an error naming the file and the record', async () => {
  const dir = tmp();
  try {
    // the recipe of issue 12 item 3: a/data.pkl = PROTO 2, LONG4 of 300,000 bytes of 0x01, STOP
    const pkl = Buffer.concat([Buffer.from([0x80, 0x02, 0x8b, 0xe0, 0x93, 0x04, 0x00]), Buffer.alloc(300000, 1), Buffer.from('.')]);
    const file = path.join(dir, 'long4.pt');
    writeFileSync(file, makeZip([{ name: 'a/data.pkl', data: new Uint8Array(pkl) }]));
    const t0 = performance.now();
    await assert.rejects(
      convertCommand.run(parseArgs([file, path.join(dir, 'out')], convertCommand.options)),
      (e: Error) =>
        e.message ===
        `${file}: a/data.pkl: LONG4 integer of 300000 bytes is larger than any checkpoint holds (at most 1024) (pickle byte 2)`,
    );
    assert.ok(performance.now() - t0 < 2000, 'ends in well under a second');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
