/**
 * `reg launch`: N local ranks of a command with the launch variables; the run equals one process's;
 * one rank killed stops the others and the launch fails, leaving no process behind.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readMetrics } from '../../train/metrics.js';
import { freePort } from '../../../test/ranks.js';
import { TINY_TRAIN_CONFIG } from '../../../test/tiny-train-config.js';

const REG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'reg-launch-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const config = path.join(tmp, 'tiny.json');
writeFileSync(config, JSON.stringify({ ...TINY_TRAIN_CONFIG, maxTrainSteps: 6, checkpointingSteps: 3 }));

/** Runs `reg …` to its end: exit code, stderr and the pids of its direct children seen while it ran. */
function reg(args: string[], onRunning?: (pid: number) => void): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [REG, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    onRunning?.(child.pid!);
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
};
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('reg launch', () => {
  it('runs `train` on 2 processes with the curve of 1 process', async () => {
    const port = String(await freePort());
    const one = await reg(['train', '--config', config, '--output-dir', path.join(tmp, 'one')]);
    assert.equal(one.code, 0, one.stderr);
    const two = await reg([
      'launch',
      '--nproc-per-node',
      '2',
      '--master-port',
      port,
      '--',
      'train',
      '--config',
      config,
      '--output-dir',
      path.join(tmp, 'two'),
    ]);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stderr, /batch 8 \(2 processes × 1×4\)/);
    const [a, b] = ['one', 'two'].map((d) => readMetrics(path.join(tmp, d, 'metrics.jsonl')));
    assert.equal(b!.length, 6);
    for (let s = 0; s < 6; s++) assert.ok(Math.abs(a![s]!.loss - b![s]!.loss) <= 1e-5 * a![s]!.loss, `step ${s + 1}`);
  });

  it('two "machines" on 127.0.0.1 (--nnodes 2, node ranks 0 and 1, one process each) train as one run of 2 processes', async () => {
    const port = String(await freePort());
    const dir = path.join(tmp, 'nodes');
    const node = (rank: number) =>
      reg([
        'launch',
        '--nnodes',
        '2',
        '--node-rank',
        String(rank),
        '--nproc-per-node',
        '1',
        '--master-port',
        port,
        '--',
        'train',
        '--config',
        config,
        '--output-dir',
        dir,
      ]);
    const [n0, n1] = await Promise.all([node(0), node(1)]);
    assert.equal(n0.code, 0, n0.stderr);
    assert.equal(n1.code, 0, n1.stderr);
    assert.match(n0.stderr, /finished at step 6 \(2 processes\)/);
    assert.doesNotMatch(n1.stderr, /training|finished/, 'node 1 reports nothing but the launcher note');
    const [a, b] = [path.join(tmp, 'one'), dir].map((d) => readMetrics(path.join(d, 'metrics.jsonl')));
    for (let s = 0; s < 6; s++) assert.ok(Math.abs(a![s]!.loss - b![s]!.loss) <= 1e-5 * a![s]!.loss, `step ${s + 1}`);
  });

  it('a rank killed with SIGKILL stops the other and fails the launch, leaving no process behind', async () => {
    const port = String(await freePort());
    const dir = path.join(tmp, 'killed');
    let ranks: number[] = [];
    let poll: NodeJS.Timeout | undefined;
    const t0 = performance.now();
    const res = await reg(
      [
        'launch',
        '--nproc-per-node',
        '2',
        '--master-port',
        port,
        '--',
        'train',
        '--config',
        config,
        '--output-dir',
        dir,
        '--max-train-steps',
        '100000',
      ],
      (pid) => {
        poll = setInterval(() => {
          if (ranks.length < 2) ranks = childrenOf(pid);
          let steps = 0;
          try {
            steps = readMetrics(path.join(dir, 'metrics.jsonl')).length;
          } catch {
            return;
          }
          if (ranks.length === 2 && steps >= 2) {
            clearInterval(poll);
            process.kill(ranks[1]!, 'SIGKILL');
          }
        }, 20);
      },
    );
    clearInterval(poll);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /reg launch: rank 1 \(pid \d+\) was killed by SIGKILL; stopping the other 1 rank\(s\)/);
    assert.match(res.stderr, /reg launch: failed: rank 1 was killed by SIGKILL/);
    assert.ok(performance.now() - t0 < 60_000);
    assert.deepEqual(ranks.filter(alive), [], 'every rank has exited');
  });

  it('refuses to start without a command, or with a node rank outside the nodes', async () => {
    const none = await reg(['launch', '--nproc-per-node', '2']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no command to launch/);
    const bad = await reg(['launch', '--nnodes', '2', '--node-rank', '2', '--', 'train']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--node-rank 2 must be below --nnodes 2/);
  });
});
