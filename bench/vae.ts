/**
 * `vae`: SD-VAE (diffusers' AutoencoderKL at the stabilityai/sd-vae-ft-* configuration, 83.7M
 * parameters, random weights) encoding 256×256 images to the posterior and decoding 32×32×4 latents
 * to 256×256 pixels, through reg-ts and through the plain-PyTorch reference of the same architecture
 * (test/reference/autoencoders/autoencoder_kl.py, driven by test/reference/bench/vae.py) on the same
 * weights (written by reg-ts in the diffusers layout) and the same inputs, in the same run.
 *
 * Batch 1 on the CPU (one pass takes seconds here), 4 on CUDA; override with REG_BENCH_VAE_BATCH.
 * Headline ratio: geometric mean of the two cases' ratios (median of per-pair reg-ts/PyTorch times).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as torch from '../src/torch/index.js';
import type { Device, Tensor } from '../src/torch/index.js';
import { createAutoencoderKL, downsampleFactorOf, saveAutoencoder, SD_VAE_CONFIG } from '../src/models/autoencoders/index.js';
import {
  type BenchOptions,
  type BenchResult,
  checksumDifference,
  fmt,
  geomean,
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

export const name = 'vae';
export const description = 'SD-VAE (AutoencoderKL, random weights) encode 256 px and decode 32×32×4 images/s vs the PyTorch reference';

/** sin(0.37·i) over the flat index, as vae.py's `fixed_input`. */
function fixedInput(shape: number[], device: Device): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return torch.scope(() =>
    torch
      .arange(0, n, 1, { dtype: 'float64' })
      .mul(0.37)
      .sin()
      .to('float32')
      .reshape(...shape)
      .to({ device }),
  );
}

export async function run(options?: Partial<BenchOptions>): Promise<BenchResult> {
  const device: Device = torch.cudaAvailable() ? 'cuda' : 'cpu';
  const batch = Number(process.env.REG_BENCH_VAE_BATCH ?? (device === 'cuda' ? 4 : 1));
  const pairs = pairsFor(options, 5);
  const dir = mkdtempSync(path.join(tmpdir(), 'regts-bench-vae-'));
  const vae = createAutoencoderKL(SD_VAE_CONFIG, { generator: new torch.Generator(0) });
  saveAutoencoder(vae, dir);
  if (device !== 'cpu') vae.to({ device });
  const side = SD_VAE_CONFIG.sampleSize;
  const latentSide = side / downsampleFactorOf(SD_VAE_CONFIG);
  const cases = [
    { case: 'encode', label: `encode ${side} px → posterior, B${batch}`, shape: [batch, 3, side, side] },
    { case: 'decode', label: `decode ${latentSide}×${latentSide}×4 → ${side} px, B${batch}`, shape: [batch, 4, latentSide, latentSide] },
  ] as const;
  const py = await PyWorker.start('vae.py');
  const rows: (string | number)[][] = [];
  const ratios: number[] = [];
  const notes: string[] = [];
  try {
    for (const c of cases) {
      const x = fixedInput([...c.shape], device);
      const outputs = (): Tensor[] => {
        if (c.case === 'decode') return [vae.decode(x)];
        const { mean, std } = vae.encode(x);
        return [mean, std];
      };
      const ref = (await py.request<{ checksums: number[] }>({ op: 'setup', dir, case: c.case, shape: c.shape })).checksums;
      const mine = torch.noGrad(() => torch.scope(() => outputs().flatMap((o) => [o.sum().item(), o.abs().sum().item()])));
      const maxRel = checksumDifference(mine, ref);
      if (!(maxRel < 1e-4)) throw new Error(`vae: reg-ts and PyTorch disagree on ${c.label} (checksums ${mine} vs ${ref})`);
      notes.push(`${c.label}: outputs agree to ${maxRel.toExponential(1)} (relative checksums)`);
      const once = (): void =>
        torch.noGrad(() =>
          torch.scope(() => {
            const o = outputs();
            if (device !== 'cpu') o[0]!.sum().item(); // synchronise
          }),
        );
      const t = await interleave(
        (n) => timeReps(once, n),
        (n) => py.time({ reps: n }),
        pairs,
        1,
        py,
      );
      x.dispose();
      const { paired } = pairedRatio(t);
      ratios.push(paired);
      rows.push([
        c.label,
        fmt(batch / median(t.ts), 2),
        fmt(batch / median(t.py), 2),
        fmt(median(t.ts) * 1e3, 0),
        fmt(median(t.py) * 1e3, 0),
        fmt(paired, 3),
        quality(t),
      ]);
    }
  } finally {
    await py.close();
    vae.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  const ratio = geomean(ratios);
  const text = [
    `device ${device}, ${py.describeThreads()}, SD-VAE config (${SD_VAE_CONFIG.blockOutChannels.join('/')}, ${SD_VAE_CONFIG.layersPerBlock} resnets per down block), float32; ${pairs} alternating pairs per case; load average ${loadAverage()}`,
    ...notes,
    table(['case', 'reg-ts img/s', 'PyTorch img/s', 'reg-ts ms', 'PyTorch ms', 'ratio', 'pairs'], rows),
    `ratio (reg-ts time / PyTorch time, geometric mean over cases): ${fmt(ratio, 3)}; target ≤ 1.0`,
  ].join('\n');
  return { table: text, ratio };
}
