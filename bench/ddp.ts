/**
 * `ddp`: the SiT-S/2 + REG training step (the `train-step` benchmark's model: 32×32×4 latents, 257 tokens,
 * encoder width 768, global batch 16, fp32) on 1 process and data-parallel on 2 processes with the same
 * global batch, through `reg train` (synthetic data, Gloo) and through PyTorch DDP
 * (test/reference/bench/ddp.py: find_unused_parameters=True, Gloo) in the same run. On 2 processes each
 * rank gets one core (OMP/OpenBLAS threads 1, as `reg launch` sets on this 2-core machine); alone, the
 * process uses both (reg-ts's 2 intra-op threads and OpenBLAS's 2 threads, taking turns).
 *
 * Step time t_W = median over the steps after the first of each run; speed-up t₁/t₂; scaling efficiency
 * t₁/(2·t₂) (1 = perfect), which a 2-core machine cannot reach when one process already uses both cores.
 * Headline ratio: reg-ts 2-process step time / PyTorch DDP 2-process step time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMetrics } from '../src/train/metrics.js';
import { type BenchOptions, type BenchResult, fmt, loadAverage, median, pairsFor, pythonExe, table } from './harness.js';
import { jsonLines, runRanks } from '../test/ranks.js';

export const name = 'ddp';
export const description = 'SiT-S/2 REG training step on 1 vs 2 processes (same global batch 16), reg train vs PyTorch DDP';

const here = path.dirname(fileURLToPath(import.meta.url));
const REG = path.resolve(here, '../src/cli/main.js');
const PY = path.resolve(here, '../../test/reference/bench/ddp.py');
const BATCH = 16;

const CONFIG = {
  model: 'SiT-S/2',
  inputSize: 32,
  inChannels: 4,
  numClasses: 1000,
  encoderDepth: 4,
  encoderDim: 768,
  projectorDim: 2048,
  data: 'synthetic',
  batchSize: BATCH,
  learningRate: 1e-4,
  checkpointingSteps: 100000,
  progress: false,
};

const oneCore = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

/** Median step seconds and gradient all-reduce seconds (steps after the first) of `reg train` on `world` processes. */
async function regSteps(tmp: string, world: number, steps: number, round: number): Promise<{ step: number; allreduce: number }> {
  const out = path.join(tmp, `reg-${world}-${round}`);
  const results = await runRanks(REG, world, {
    args: ['train', '--config', path.join(tmp, 'config.json'), '--output-dir', out, '--max-train-steps', String(steps)],
    timeoutMs: 900_000,
    ...(world > 1 ? { env: oneCore } : {}),
  });
  for (const r of results) if (r.code !== 0) throw new Error(`reg train rank ${r.rank} of ${world} failed: ${r.stderr.slice(-2000)}`);
  const lines = readMetrics(path.join(out, 'metrics.jsonl')).slice(1);
  return { step: median(lines.map((m) => m.stepSeconds)), allreduce: median(lines.map((m) => m.allreduceSeconds ?? 0)) };
}

/** Median step seconds (steps after the first) of the PyTorch reference on `world` processes. */
async function torchSteps(world: number, steps: number): Promise<number> {
  const results = await runRanks(PY, world, {
    command: pythonExe,
    args: [String(steps)],
    timeoutMs: 900_000,
    ...(world > 1 ? { env: oneCore } : {}),
  });
  for (const r of results) if (r.code !== 0) throw new Error(`PyTorch DDP rank ${r.rank} of ${world} failed: ${r.stderr.slice(-2000)}`);
  return median(jsonLines<{ times: number[] }>(results[0]!)[0]!.times.slice(1));
}

export async function run(options?: Partial<BenchOptions>): Promise<BenchResult> {
  const rounds = pairsFor(options, 2);
  const steps = 5;
  const tmp = mkdtempSync(path.join(tmpdir(), 'reg-bench-ddp-'));
  writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(CONFIG));
  const t: Record<string, number[]> = { reg1: [], reg2: [], py1: [], py2: [], reduce2: [] };
  try {
    for (let i = 0; i < rounds; i++) {
      t.reg1!.push((await regSteps(tmp, 1, steps, i)).step);
      t.py1!.push(await torchSteps(1, steps));
      const two = await regSteps(tmp, 2, steps, i);
      t.reg2!.push(two.step);
      t.reduce2!.push(two.allreduce);
      t.py2!.push(await torchSteps(2, steps));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) as Record<keyof typeof t, number>;
  const row = (who: string, one: number, two: number): (string | number)[] => [
    who,
    fmt(one, 2),
    fmt(BATCH / one, 2),
    fmt(two, 2),
    fmt(BATCH / two, 2),
    fmt(one / two, 2),
    `${fmt((100 * one) / two / 2, 0)} %`,
  ];
  return {
    table: [
      `global batch ${BATCH}; ${rounds} rounds of ${steps} steps per configuration (median over steps 2–${steps}, then over rounds); 2 processes: 1 core each; load average ${loadAverage()}`,
      table(
        ['', '1 process s/step', 'img/s', '2 processes s/step', 'img/s', 'speed-up', 'efficiency'],
        [row('reg-ts (reg train)', m.reg1, m.reg2), row('PyTorch (DDP)', m.py1, m.py2)],
      ),
      `reg-ts, 2 processes: the gradient all-reduce after backward takes ${fmt(m.reduce2, 3)} s of the ${fmt(m.reg2, 2)} s step (${fmt((100 * m.reduce2) / m.reg2, 1)} %): the most that overlapping it with backward could save`,
    ].join('\n'),
    ratio: m.reg2 / m.py2,
  };
}
