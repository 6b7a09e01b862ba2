/** Checkpoint directories: atomic writes, crash leftovers, `latest`, resolution of user paths, validation. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as torch from '../torch/index.js';
import { resolveConfig } from '../models/configs.js';
import { checkpointsDir, latestCheckpoint, listCheckpoints, resolveCheckpoint } from '../models/checkpoint.js';
import { decodeRng, encodeRng, loadCheckpoint, saveCheckpoint, type CheckpointData } from './checkpoint.js';
import { DEFAULT_TRAIN_CONFIG } from './config.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-ckpt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function data(step: number): CheckpointData {
  const w = new Map([['w', torch.full([2, 2], step)]]);
  return {
    config: { model: resolveConfig('SiT-T/2'), train: DEFAULT_TRAIN_CONFIG, regTs: 'test', step },
    model: w,
    ema: w,
    optimizer: new Map([['__step__', torch.tensor(step, { dtype: 'float64' })]]),
    trainer: {
      format: 'reg-ts/trainer@1',
      step,
      data: { batch: step },
      rng: { global: [encodeRng('cpu', torch.getRngState())], generators: {} },
      metrics: { file: 'metrics.jsonl', offset: 0, lines: 0 },
      lossScaler: null,
      imagesSeen: 0,
      trainSeconds: 0,
    },
  };
}

describe('checkpoints', () => {
  it('are written atomically, found through latest, pruned to the newest k', () => {
    const run = path.join(tmp, 'a');
    mkdirSync(path.join(checkpointsDir(run), '.tmp-0000009-1'), { recursive: true }); // a crashed save
    for (const s of [1, 2, 3]) saveCheckpoint(run, data(s), { keep: 2 });
    assert.deepEqual(readdirSync(checkpointsDir(run)).sort(), ['0000002', '0000003', 'latest']);
    const ck = loadCheckpoint(latestCheckpoint(run)!);
    assert.deepEqual([ck.config.step, ck.model.get('w')!.toArray()[0], ck.trainer.data], [3, 3, { batch: 3 }]);
    assert.equal(resolveCheckpoint(run), ck.dir);
    assert.equal(resolveCheckpoint(checkpointsDir(run)), ck.dir);
    assert.equal(resolveCheckpoint(path.join(checkpointsDir(run), '0000002')), path.join(checkpointsDir(run), '0000002'));
    // re-saving a step replaces it with the new complete one
    saveCheckpoint(run, { ...data(3), model: new Map([['w', torch.full([2, 2], 7)]]) }, { keep: 2 });
    assert.equal(
      loadCheckpoint(path.join(checkpointsDir(run), '0000003'))
        .model.get('w')!
        .toArray()[0],
      7,
    );
  });

  it('round-trips generator states', () => {
    const g = new torch.Generator(5);
    const saved = encodeRng('cpu', g.getState());
    const a = torch.rand([4], { generator: g }).toArray();
    g.setState(decodeRng(saved));
    assert.deepEqual(torch.rand([4], { generator: g }).toArray(), a);
  });

  it('reports missing and damaged pieces by file name; latest falls back to the newest complete one', () => {
    const run = path.join(tmp, 'b');
    assert.equal(latestCheckpoint(run), null);
    assert.throws(() => resolveCheckpoint(path.join(tmp, 'nope')), /no checkpoint at .*nope/);
    saveCheckpoint(run, data(1));
    saveCheckpoint(run, data(2));
    const two = path.join(checkpointsDir(run), '0000002');
    writeFileSync(path.join(two, 'trainer.json'), '{"format": "reg-ts/trainer@1", "step": 5}');
    assert.throws(() => loadCheckpoint(two), /trainer.json: step 5 does not match config.json's step 2/);
    writeFileSync(path.join(two, 'config.json'), '{');
    assert.throws(() => loadCheckpoint(two), /config.json is not valid JSON/);
    rmSync(path.join(two, 'ema.safetensors'));
    assert.deepEqual(
      listCheckpoints(run).map((c) => c.step),
      [1],
    );
    assert.equal(path.basename(latestCheckpoint(run)!), '0000001');
    assert.ok(!existsSync(path.join(checkpointsDir(run), '.tmp-0000002-' + process.pid)));
  });
});
