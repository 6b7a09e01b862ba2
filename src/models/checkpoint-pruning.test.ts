/**
 * Issue 12 item 7: pruning old run checkpoints (keep-last-k) is crash-safe. A checkpoint is renamed out of
 * the way before it is deleted, so a kill never leaves a half-deleted directory under a step name, and
 * what a killed writer leaves (hidden `.<step>.deleting`, `.tmp-…`, `.old-…`, `.latest.<pid>.<hex>.tmp`)
 * is removed when a run starts and before every save.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as torch from '../torch/index.js';
import { checkpointsDir, isCompleteCheckpoint, latestCheckpoint, removeCheckpointLeftovers, writeRunCheckpoint } from './checkpoint.js';
import { createSiT } from './configs.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-pruning-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function tinyCheckpoint(step: number) {
  const m = createSiT(
    'SiT-T/2',
    { depth: 1, hiddenSize: 16, numHeads: 2, inputSize: 4, inChannels: 2, numClasses: 3, zDims: [8], projectorDim: 16, encoderDepth: 1 },
    { generator: new torch.Generator(step) },
  );
  return { config: m.config, model: m.stateDict(), ema: m.stateDict(), step };
}

describe('crash-safe checkpoint pruning', () => {
  it("keep-last-k deletes by renaming first; a killed deletion's leftovers and stray temporaries go at the next save", () => {
    const run = path.join(tmp, 'keep2');
    for (const step of [1, 2, 3]) writeRunCheckpoint(run, tinyCheckpoint(step), { keep: 2 });
    const root = checkpointsDir(run);
    assert.deepEqual(readdirSync(root).sort(), ['0000002', '0000003', 'latest']);
    // what kills leave: a checkpoint renamed for deletion and half removed, a temporary `latest`, a
    // half-written checkpoint, and (from earlier versions) a half-deleted step directory older than those kept
    mkdirSync(path.join(root, '.0000002.deleting'));
    writeFileSync(path.join(root, '.0000002.deleting', 'model.safetensors'), 'partial');
    writeFileSync(path.join(root, '.latest.12345.a1b2c3d4e5f6.tmp'), '0000003');
    mkdirSync(path.join(root, '.tmp-0000004-999'));
    mkdirSync(path.join(root, '0000001'));
    writeFileSync(path.join(root, '0000001', 'model.safetensors'), 'half deleted: no config.json, no ema');
    assert.equal(latestCheckpoint(run), path.join(root, '0000003'), 'leftovers never shadow the latest checkpoint');
    writeRunCheckpoint(run, tinyCheckpoint(4), { keep: 2 });
    assert.deepEqual(readdirSync(root).sort(), ['0000003', '0000004', 'latest']);
  });

  it('removeCheckpointLeftovers keeps every checkpoint and anything it does not know', () => {
    const run = path.join(tmp, 'leftovers');
    writeRunCheckpoint(run, tinyCheckpoint(5));
    const root = checkpointsDir(run);
    for (const n of ['.0000005.deleting', '.latest.1.ff.tmp', '.old-0000005-7', 'notes.txt', '.hidden-by-user'])
      writeFileSync(path.join(root, n), 'x');
    removeCheckpointLeftovers(run);
    assert.deepEqual(readdirSync(root).sort(), ['.hidden-by-user', '0000005', 'latest', 'notes.txt']);
    removeCheckpointLeftovers(path.join(tmp, 'no-such-run'));
  });

  it('kills at random moments of saves with keep 1 never leave an incomplete checkpoint under a step name', async () => {
    const run = path.join(tmp, 'killed');
    const module = path.join(path.dirname(fileURLToPath(import.meta.url)), 'checkpoint.js');
    const configs = path.join(path.dirname(fileURLToPath(import.meta.url)), 'configs.js');
    const script = `
      const { writeRunCheckpoint } = await import(${JSON.stringify(module)});
      const { createSiT } = await import(${JSON.stringify(configs)});
      const m = createSiT('SiT-T/2', { depth: 1, hiddenSize: 16, numHeads: 2, inputSize: 4, inChannels: 2, numClasses: 3, zDims: [8], projectorDim: 16, encoderDepth: 1 });
      const sd = m.stateDict();
      process.stdout.write('ready\\n');
      for (let step = Number(process.argv[1]); ; step++) writeRunCheckpoint(${JSON.stringify(run)}, { config: m.config, model: sd, ema: sd, step }, { keep: 1 });
    `;
    let step = 1;
    for (let kill = 0; kill < 4; kill++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, String(step)], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 20 + ((kill * 37) % 90)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const root = checkpointsDir(run);
      const named = readdirSync(root).filter((n) => /^\d{7,}$/.test(n));
      for (const n of named) assert.ok(isCompleteCheckpoint(path.join(root, n)), `kill ${kill}: ${n} is complete`);
      const latest = latestCheckpoint(run);
      if (latest !== null) step = Number(path.basename(latest)) + 1;
      removeCheckpointLeftovers(run);
      assert.deepEqual(
        readdirSync(root).filter((n) => n.startsWith('.')),
        [],
        `kill ${kill}: no hidden leftovers after cleaning`,
      );
    }
    assert.ok(latestCheckpoint(run) !== null, 'the runs saved checkpoints');
  });
});
