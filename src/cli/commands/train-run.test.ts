/**
 * `reg train` as a process: a SIGKILLed run resumes with --resume to the same loss curve as an
 * uninterrupted one; a diverging run exits non-zero.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readMetrics } from '../../train/metrics.js';
import { train } from '../../train/trainer.js';
import { parseArgs } from '../args.js';
import { configFromArgs, trainCommand } from './train.js';
import { stepValues } from '../../../test/step-values.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'reg-train-run-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const quiet = (): void => undefined;

/** `reg train` on the synthetic source with a 2-block, width-32 model: seconds per run. */
const TINY_RUN = ['train', '--config', 'cpu-synthetic', '--depth', '2', '--hidden-size', '32', '--num-heads', '2', '--encoder-depth', '1'];

describe('reg train: a process', () => {
  it('a SIGKILLed `reg train` resumes with --resume to the same curve as an uninterrupted run', async () => {
    const common = [...TINY_RUN, '--max-train-steps', '16', '--checkpointing-steps', '3', '--no-progress', '--batch-size', '16'];
    // the uninterrupted reference runs in this process, from the same command line
    const ref = path.join(tmp, 'cli-ref');
    const { config } = configFromArgs(parseArgs([...common.slice(1), '--output-dir', ref], trainCommand.options).options);
    await train(config, { log: quiet });

    const run = path.join(tmp, 'cli-killed');
    const child = spawn(process.execPath, [CLI, ...common, '--output-dir', run], { stdio: 'ignore' });
    const metricsFile = path.join(run, 'metrics.jsonl');
    let linesAtKill = 0;
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const lines = existsSync(metricsFile) ? readFileSync(metricsFile, 'utf8').split('\n').length - 1 : 0;
        if (lines >= 5) {
          linesAtKill = lines;
          child.kill('SIGKILL');
          clearInterval(poll);
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(poll);
        resolve();
      });
    });
    assert.ok(linesAtKill > 0 && linesAtKill < 16, `the run should be killed midway (lines at kill: ${linesAtKill})`);
    // `reg train --resume --output-dir <run>` (in this process: the killed one was the separate one)
    const again = configFromArgs(parseArgs(['--resume', '--output-dir', run], trainCommand.options).options);
    const lines: string[] = [];
    await train(again.config, { resume: again.resume, log: (l) => lines.push(l) });
    assert.match(lines.join('\n'), /resuming from .*checkpoints\/00000\d\d \(step \d+\)/);
    const want = readMetrics(path.join(ref, 'metrics.jsonl')).map(stepValues);
    const got = readMetrics(metricsFile).map(stepValues);
    assert.equal(want.length, 16);
    assert.deepEqual(got, want);
  });

  it('`reg train` exits non-zero on a diverging run', () => {
    const out = path.join(tmp, 'cli-nan');
    const r = spawnSync(
      process.execPath,
      [CLI, ...TINY_RUN, '--learning-rate', '1e30', '--max-train-steps', '20', '--output-dir', out, '--no-progress'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /reg train: (loss|gradient norm) is (NaN|Infinity|-Infinity) at step \d+/);
  });
});
