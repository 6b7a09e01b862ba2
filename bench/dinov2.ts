/**
 * `dinov2`: REG's encoder target pass — DINOv2 ViT-B/14 at 224 px (256 patches + the class token, width
 * 768), input x/255 → ImageNet normalisation → bicubic resize, as the official `preprocess_raw_image` —
 * through reg-ts (`dinov2-vit-b` loading the torch.hub `.pth` layout) and through the float32 PyTorch
 * reference of test/reference/encoders/make_dinov2_hub.py (driven by test/reference/bench/dinov2.py), on
 * the same random weights and images, in the same run.
 *
 * Batch 8 of 256×256 images on the CPU, 64 on CUDA (override with REG_BENCH_DINOV2_BATCH).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as torch from '../src/torch/index.js';
import type { Device } from '../src/torch/index.js';
import { createEncoder } from '../src/models/encoders/index.js';
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

export const name = 'dinov2';
export const description = 'DINOv2 ViT-B/14 target pass at 224 px (REG preprocessing, torch.hub weights) images/s vs the PyTorch reference';

export async function run(options?: Partial<BenchOptions>): Promise<BenchResult> {
  const device: Device = torch.cudaAvailable() ? 'cuda' : 'cpu';
  const batch = Number(process.env.REG_BENCH_DINOV2_BATCH ?? (device === 'cuda' ? 64 : 8));
  const pairs = pairsFor(options, 7);
  const dir = mkdtempSync(path.join(tmpdir(), 'regts-bench-dinov2-'));
  const file = path.join(dir, 'dinov2_vitb14_pretrain.pth');
  const py = await PyWorker.start('dinov2.py');
  try {
    const ref = (await py.request<{ checksums: number[] }>({ op: 'setup', file, batch, side: SIDE })).checksums;
    const enc = await createEncoder('dinov2-vit-b', { weights: file, inputSize: 224, device });
    const images = pattern([batch, 3, SIDE, SIDE]);
    const mine = torch.scope(() => {
      const { cls, patches } = enc.encode(images);
      return [cls.sum().item(), cls.abs().sum().item(), patches.sum().item(), patches.abs().sum().item()];
    });
    const maxRel = checksumDifference(mine, ref);
    if (!(maxRel < 1e-4)) throw new Error(`dinov2: reg-ts and PyTorch disagree (checksums ${mine} vs ${ref})`);
    const once = (): void =>
      torch.scope(() => {
        const { cls } = enc.encode(images);
        if (device !== 'cpu') cls.sum().item(); // synchronise
      });
    const t = await interleave(
      (n) => timeReps(once, n),
      (n) => py.time({ reps: n }),
      pairs,
      1,
      py,
    );
    enc.dispose();
    images.dispose();
    const { paired, ofMedians } = pairedRatio(t);
    const text = [
      `device ${device}, ${py.describeThreads()}, ViT-B/14, batch ${batch} of ${SIDE}² uint8 images → 224 px, float32; outputs agree to ${maxRel.toExponential(1)} (relative checksums); load average ${loadAverage()}`,
      table(
        ['side', 'img/s', 'ms/batch', 'samples'],
        [
          ['reg-ts', fmt(batch / median(t.ts), 2), fmt(median(t.ts) * 1e3, 0), t.ts.length],
          ['PyTorch', fmt(batch / median(t.py), 2), fmt(median(t.py) * 1e3, 0), t.py.length],
        ],
      ),
      `reg-ts/PyTorch: ${fmt(paired, 3)} (median of ${pairs} alternating pairs; ${quality(t)}), ${fmt(ofMedians, 3)} (ratio of medians); target ≤ 1.0`,
    ].join('\n');
    return { table: text, ratio: paired };
  } finally {
    await py.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
