/**
 * Checkpoint grids: one PNG per checkpoint under <run>/samples/, the same bytes when written twice
 * (fixed seed and noise), laid out as makeGrid lays out 16 images of 8×8 in rows of 8.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { listCheckpoints } from '../models/checkpoint.js';
import { resolveTrainConfig } from '../train/config.js';
import { train } from '../train/trainer.js';
import { readRgb } from '../eval/images.js';
import { TINY_TRAIN_CONFIG } from '../../test/tiny-train-config.js';
import { checkpointGridFile, writeCheckpointGrid } from './checkpoint-grid.js';
import { readMetrics } from '../train/metrics.js';
import { stepValues } from '../../test/step-values.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-grid-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('writeCheckpointGrid: <run>/samples/<step>.png per checkpoint, identical when rewritten, 2 rows of 8', async () => {
  const runDir = path.join(tmp, 'run');
  await train(resolveTrainConfig({ ...TINY_TRAIN_CONFIG, outputDir: runDir }), { log: () => undefined });
  const checkpoints = listCheckpoints(runDir);
  assert.deepEqual(
    checkpoints.map((c) => c.step),
    [2, 4],
  );
  const files = [];
  for (const c of checkpoints) files.push(await writeCheckpointGrid(c.dir, { numSteps: 4 }));
  assert.deepEqual(files, [path.join(runDir, 'samples', '0000002.png'), path.join(runDir, 'samples', '0000004.png')]);
  assert.equal(checkpointGridFile(runDir, 4), files[1]);

  const grid = await readRgb(files[0]!);
  // 8 columns and 2 rows of 8×8 images with 2 pixels of padding: 8·10 + 2 by 2·10 + 2
  assert.deepEqual([grid.width, grid.height], [82, 22]);
  const first = readFileSync(files[0]!);
  assert.deepEqual(readFileSync(await writeCheckpointGrid(checkpoints[0]!.dir, { numSteps: 4 })), first, 'same noise, same bytes');
  assert.notDeepEqual(readFileSync(files[1]!), first, 'the weights of step 4 draw other images');
  // a run directory stands for its latest checkpoint
  assert.equal(await writeCheckpointGrid(runDir, { numSteps: 4 }), files[1]);
});

test('a run that draws its grids at every checkpoint (train onCheckpoint) has the same loss curve as one that does not', async () => {
  const plain = path.join(tmp, 'plain');
  const gridded = path.join(tmp, 'gridded');
  await train(resolveTrainConfig({ ...TINY_TRAIN_CONFIG, outputDir: plain }), { log: () => undefined });
  const drawn: string[] = [];
  await train(resolveTrainConfig({ ...TINY_TRAIN_CONFIG, outputDir: gridded }), {
    log: () => undefined,
    onCheckpoint: async (dir) => void drawn.push(await writeCheckpointGrid(dir, { numSteps: 4 })),
  });
  assert.deepEqual(drawn, [checkpointGridFile(gridded, 2), checkpointGridFile(gridded, 4)]);
  const curve = (dir: string) => readMetrics(path.join(dir, 'metrics.jsonl')).map(stepValues);
  assert.deepEqual(curve(gridded), curve(plain));
});
