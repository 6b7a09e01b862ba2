/**
 * `gemm`: float32 matrix products (M×K)·(K×N) through reg-ts (`a.mm(b)`) and PyTorch
 * (`torch.mm`, test/reference/bench/gemm.py) in the same run. The shapes are those of a SiT-S
 * block over 16 × 257 ≈ 4096 tokens of width 384: a square reference, fc1 (4096×384·384×1536),
 * fc2 (4096×1536·1536×384) and a weight gradient (384×4096·4096×1536).
 * Headline ratio: median over shapes of each shape's ratio (median of per-pair reg-ts/PyTorch times).
 */
import { Generator, randn, type Tensor } from '../src/torch/index.js';
import {
  type BenchOptions,
  type BenchResult,
  fmt,
  interleave,
  loadAverage,
  median,
  pairedRatio,
  pairsFor,
  PyWorker,
  table,
  timeReps,
} from './harness.js';

/** [M, K, N] */
export const GEMM_SHAPES: readonly (readonly [number, number, number])[] = [
  [1024, 1024, 1024],
  [4096, 384, 1536],
  [4096, 1536, 384],
  [384, 4096, 1536],
];

export const name = 'gemm';
export const description = 'float32 GEMM GFLOP/s, (M×K)·(K×N) for four SiT-sized shapes, vs torch.mm';

export async function run(options?: Partial<BenchOptions>): Promise<BenchResult> {
  const pairs = pairsFor(options, 15);
  const py = await PyWorker.start('gemm.py');
  const rows: (string | number)[][] = [];
  const ratios: number[] = [];
  try {
    for (const [m, k, n] of GEMM_SHAPES) {
      const g = new Generator(0);
      const a = randn([m, k], { generator: g });
      const b = randn([k, n], { generator: g });
      await py.request({ op: 'setup', m, k, n });
      const mm = (): void => {
        const c: Tensor = a.mm(b);
        c.dispose();
      };
      const t = await interleave(
        (r) => timeReps(mm, r),
        (r) => py.time({ m, k, n, reps: r }),
        pairs,
        3,
        py,
      );
      a.dispose();
      b.dispose();
      const flop = 2 * m * k * n;
      const mt = median(t.ts),
        mp = median(t.py);
      const r = pairedRatio(t).paired;
      ratios.push(r);
      rows.push([
        `${m}×${k}×${n}`,
        fmt(flop / mt / 1e9, 1),
        fmt(flop / mp / 1e9, 1),
        fmt(mt * 1e3, 2),
        fmt(mp * 1e3, 2),
        fmt(r, 3),
        `${t.clean}/${t.taken}`,
      ]);
    }
  } finally {
    await py.close();
  }
  const ratio = median(ratios);
  const text = [
    `${py.describeThreads()}; OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'}; medians of ${pairs} alternating pairs per shape (clean ones: no other process took CPU); load average ${loadAverage()}`,
    table(['M×K×N', 'reg-ts GFLOP/s', 'PyTorch GFLOP/s', 'reg-ts ms', 'PyTorch ms', 'ratio', 'clean pairs'], rows),
  ].join('\n');
  return { table: text, ratio };
}
