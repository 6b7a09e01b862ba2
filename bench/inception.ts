/**
 * `inception`: the feature pass of `reg eval` — 256×256 uint8 images, TF1-legacy resize to 299,
 * (x − 128)/128, the full-width FID Inception, pool3 + spatial + unbiased logits — through reg-ts
 * (loading the legacy torch.save weights file as it would pytorch-fid's) and through the float32
 * PyTorch reference of test/reference/eval/fid_inception.py (driven by test/reference/bench/inception.py),
 * on the same hash weights and images, in the same run.
 *
 * Batch 8 on the CPU, 64 on CUDA (override with REG_BENCH_INCEPTION_BATCH).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadInception } from '../src/eval/inception.js';
import * as torch from '../src/torch/index.js';
import type { Device } from '../src/torch/index.js';
import { pattern } from './encoder.js';
import {
  type BenchOptions,
  type BenchResult,
  checksumDifference,
  fmt,
  interleave,
  loadAverage,
  median,
  pairedRatio,
  pairsFor,
  PyWorker,
  quality,
  table,
  timeReps,
} from './harness.js';

const SIDE = 256;
/** Samples of a full ADM evaluation. */
const EVAL_SAMPLES = 50_000;

export const name = 'inception';
export const description =
  'FID Inception feature pass (256 px → TF1-legacy resize → pool3, spatial, logits) images/s vs the PyTorch reference';

export async function run(options?: Partial<BenchOptions>): Promise<BenchResult> {
  const device: Device = torch.cudaAvailable() ? 'cuda' : 'cpu';
  const batch = Number(process.env.REG_BENCH_INCEPTION_BATCH ?? (device === 'cuda' ? 64 : 8));
  const pairs = pairsFor(options, 7);
  const dir = mkdtempSync(path.join(tmpdir(), 'regts-bench-inception-'));
  const file = path.join(dir, 'pt_inception-hash.pth');
  const py = await PyWorker.start('inception.py');
  try {
    const ref = (await py.request<{ checksums: number[] }>({ op: 'setup', file, batch, side: SIDE })).checksums;
    const inception = loadInception({ weights: file, device });
    const images = pattern([batch, 3, SIDE, SIDE]).to(device);
    const mine = torch.scope(() => {
      const { pool3, spatial, logits } = inception.features(images, 'nchw');
      return [pool3.sum().item(), pool3.abs().sum().item(), spatial.sum().item(), logits.abs().sum().item()];
    });
    const maxRel = checksumDifference(mine, ref);
    if (!(maxRel < 1e-4)) throw new Error(`inception: reg-ts and PyTorch disagree (checksums ${mine} vs ${ref})`);
    const once = (): void =>
      torch.scope(() => {
        const { pool3 } = inception.features(images, 'nchw');
        if (device !== 'cpu') pool3.sum().item(); // synchronise
      });
    const t = await interleave(
      (n) => timeReps(once, n),
      (n) => py.time({ reps: n }),
      pairs,
      1,
      py,
    );
    inception.dispose();
    images.dispose();
    const { paired, ofMedians } = pairedRatio(t);
    const perImage = median(t.ts) / batch;
    const text = [
      `device ${device}, ${py.describeThreads()}, full-width FID Inception, batch ${batch} of ${SIDE}² uint8 images → 299 px, float32; outputs agree to ${maxRel.toExponential(1)} (relative checksums); load average ${loadAverage()}`,
      table(
        ['side', 'img/s', 'ms/batch', 'samples'],
        [
          ['reg-ts', fmt(batch / median(t.ts), 2), fmt(median(t.ts) * 1e3, 0), t.ts.length],
          ['PyTorch', fmt(batch / median(t.py), 2), fmt(median(t.py) * 1e3, 0), t.py.length],
        ],
      ),
      `${EVAL_SAMPLES.toLocaleString('en')} samples: ${fmt((perImage * EVAL_SAMPLES) / 60, 1)} min with reg-ts on this ${device} (feature pass only)`,
      `reg-ts/PyTorch: ${fmt(paired, 3)} (median of ${pairs} alternating pairs; ${quality(t)}), ${fmt(ofMedians, 3)} (ratio of medians); target ≤ 1.0`,
    ].join('\n');
    return { table: text, ratio: paired };
  } finally {
    await py.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
