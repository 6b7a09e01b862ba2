/**
 * `allreduce`: bus bandwidth of an in-place float32 SUM all-reduce over 2 processes on this machine,
 * 1 MB to 256 MB, through reg-ts's c10d binding (Gloo) and through torch.distributed (Gloo) in Python,
 * in the same run. Each side is 2 fresh processes per round; rounds alternate reg-ts, PyTorch, … so that
 * load from elsewhere hits both alike. busbw = size/time · 2(W−1)/W (NCCL-tests' convention; = algbw at W = 2).
 * Headline ratio: median over sizes of (median reg-ts time / median PyTorch time).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchOptions, type BenchResult, fmt, loadAverage, median, pairsFor, pythonExe, table } from './harness.js';
import { jsonLines, runRanks } from '../test/ranks.js';

export const name = 'allreduce';
export const description = 'c10d Gloo all-reduce bus bandwidth on 2 processes, 1–256 MB, vs torch.distributed';

const WORLD = 2;
const SIZES = [1, 4, 16, 64, 256].map((mb) => mb * 1024 * 1024);
const here = path.dirname(fileURLToPath(import.meta.url));
const NODE_RANK = path.join(here, 'workers', 'allreduce-rank.js');
const PY_RANK = path.resolve(here, '../../test/reference/bench/allreduce.py');

/** Seconds per all-reduce by size, from one round of `world` ranks. */
async function round(script: string, python: boolean, reps: number): Promise<Map<number, number[]>> {
  const args = [SIZES.join(','), String(reps)];
  const results = await runRanks(python ? PY_RANK : script, WORLD, {
    args,
    timeoutMs: 300_000,
    ...(python ? { command: pythonExe } : {}),
    env: { OMP_NUM_THREADS: '1' },
  });
  for (const r of results)
    if (r.code !== 0) throw new Error(`${python ? 'PyTorch' : 'reg-ts'} rank ${r.rank} failed: ${r.stderr.slice(-2000)}`);
  return new Map(jsonLines<{ bytes: number; times: number[] }>(results[0]!).map((l) => [l.bytes, l.times]));
}

export async function run(options?: Partial<BenchOptions>): Promise<BenchResult> {
  const rounds = pairsFor(options, 3);
  const reps = 10;
  const ts = new Map<number, number[]>(SIZES.map((s) => [s, []]));
  const py = new Map<number, number[]>(SIZES.map((s) => [s, []]));
  for (let i = 0; i < rounds; i++) {
    for (const [s, t] of await round(NODE_RANK, false, reps)) ts.get(s)!.push(...t);
    for (const [s, t] of await round(PY_RANK, true, reps)) py.get(s)!.push(...t);
  }
  const bus = (bytes: number, seconds: number): number => ((bytes / seconds) * (2 * (WORLD - 1))) / WORLD / 1e9;
  const ratios: number[] = [];
  const rows = SIZES.map((s) => {
    const mt = median(ts.get(s)!);
    const mp = median(py.get(s)!);
    ratios.push(mt / mp);
    return [`${s / 1024 / 1024} MB`, fmt(bus(s, mt), 2), fmt(bus(s, mp), 2), fmt(mt * 1e3, 2), fmt(mp * 1e3, 2), fmt(mt / mp, 3)];
  });
  const ratio = median(ratios);
  return {
    table: [
      `${WORLD} processes on 127.0.0.1, Gloo on both sides; ${rounds} rounds × ${reps} all-reduces per size and side (fresh processes per round, sides alternating); medians; load average ${loadAverage()}`,
      table(['size', 'reg-ts busbw GB/s', 'PyTorch busbw GB/s', 'reg-ts ms', 'PyTorch ms', 'ratio'], rows),
    ].join('\n'),
    ratio,
  };
}
