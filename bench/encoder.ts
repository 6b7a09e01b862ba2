/**
 * `encoder`: the MobileNetV2 representation encoder (nsfwjs 4.4.0 weights through block_10) through
 * the TypeScript API against the same network in PyTorch (test/reference/encoders/mobilenetv2.py)
 * with the same weights, in the same run: images/s of `encode` (uint8 in → preprocessing → network →
 * tokens and mean CLS), no gradients.
 *
 * Cases: the demo's use (Fashion-MNIST 28×28 grey → 64 px, 4×4 tokens, batch 64) and MobileNetV2's
 * native size (224 px RGB, 14×14 tokens, batch 16). Both sides encode the same deterministic images
 * ((7i + 13y + 3x + 50c) mod 256) and the run checks their outputs agree before timing.
 * reg-ts's `encode` folds BatchNorm into the convolutions and works in place; a second row per case
 * times reg-ts's layer-by-layer path (the same operators as the PyTorch side).
 * Weights: the committed real-weight cut (test/fixtures/encoders/mobilenetv2-block10), so no network.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MobileNetV2Encoder } from '../src/models/encoders/mobilenetv2-encoder.js';
import { mobileNetV2FromTfjs, readTfjsFolder, saveMobileNetV2 } from '../src/models/encoders/mobilenetv2-weights.js';
import { fromBytes, scope, type Tensor } from '../src/torch/index.js';
import { fixturePath } from '../test/fixture-path.js';
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
  table,
  timeReps,
} from './harness.js';

export const name = 'encoder';
export const description = 'MobileNetV2 encoder (nsfwjs ImageNet weights through block_10) images/s vs the same network in PyTorch';

const WEIGHTS = fixturePath('encoders', 'mobilenetv2-block10');

interface Case {
  label: string;
  shape: [number, number, number, number];
  size: number;
}

const CASES: Case[] = [
  { label: 'Fashion-MNIST 28² grey → 64 px, B64', shape: [64, 1, 28, 28], size: 64 },
  { label: 'RGB 224 px, B16', shape: [16, 3, 224, 224], size: 224 },
];

/** (7i + 13y + 3x + 50c) mod 256, as mobilenetv2.py's `pattern`. */
export function pattern([b, c, h, w]: readonly number[]): Tensor {
  const px = new Uint8Array(b! * c! * h! * w!);
  let k = 0;
  for (let i = 0; i < b!; i++)
    for (let ch = 0; ch < c!; ch++)
      for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) px[k++] = (7 * i + 13 * y + 3 * x + 50 * ch) % 256;
  return fromBytes(px, 'uint8', [b!, c!, h!, w!]);
}

export async function run(options?: Partial<BenchOptions>): Promise<BenchResult> {
  const pairs = pairsFor(options, 10);
  const net = mobileNetV2FromTfjs(readTfjsFolder(WEIGHTS));
  const dir = mkdtempSync(path.join(tmpdir(), 'reg-bench-enc-'));
  const file = path.join(dir, 'mobilenetv2.safetensors');
  saveMobileNetV2(file, net, WEIGHTS);
  const py = await PyWorker.start('../encoders/mobilenetv2.py');
  const rows: (string | number)[][] = [];
  const ratios: number[] = [];
  const notes: string[] = [];
  try {
    for (const c of CASES) {
      const enc = new MobileNetV2Encoder(net, c.size, 'cpu', net.outputLayer, 'nsfwjs', { source: WEIGHTS, sha256: '' });
      const images = pattern(c.shape);
      const ref = (await py.request<{ checksums: number[] }>({ op: 'setup', weights: file, shape: c.shape, size: c.size })).checksums;
      const mine = scope(() => {
        const { cls, patches } = enc.encode(images);
        return [patches.sum().item(), patches.abs().sum().item(), cls.sum().item()];
      });
      const maxRel = checksumDifference(mine, ref);
      if (!(maxRel < 1e-4)) throw new Error(`encoder: reg-ts and PyTorch disagree on ${c.label} (max relative ${maxRel})`);
      const once = (): void => scope(() => void enc.encode(images));
      const t = await interleave(
        (n) => timeReps(once, n),
        (n) => py.time({ reps: n }),
        pairs,
        1,
      );
      // The same network without the fused fast path (BN as its own op, ReLU6/add out of place):
      // what the speed-up owes to folding rather than to the binding.
      const plain = (): void => scope(() => void enc.net.forward(enc.preprocess(images), { fused: false }));
      const tPlain = await interleave(
        (n) => timeReps(plain, n),
        (n) => py.time({ reps: n }),
        Math.max(3, Math.round(pairs / 2)),
        1,
      );
      const B = c.shape[0];
      const { paired } = pairedRatio(t);
      ratios.push(paired);
      rows.push([
        c.label,
        fmt(B / median(t.ts), 1),
        fmt(B / median(t.py), 1),
        fmt(median(t.ts) * 1e3, 1),
        fmt(median(t.py) * 1e3, 1),
        fmt(paired, 3),
      ]);
      rows.push([
        '  same, reg-ts layer by layer',
        fmt(B / median(tPlain.ts), 1),
        fmt(B / median(tPlain.py), 1),
        fmt(median(tPlain.ts) * 1e3, 1),
        fmt(median(tPlain.py) * 1e3, 1),
        fmt(pairedRatio(tPlain).paired, 3),
      ]);
      notes.push(`${c.label}: outputs agree to ${maxRel.toExponential(1)} (relative checksums)`);
      images.dispose();
    }
  } finally {
    await py.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const ratio = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
  return {
    table: [
      `${py.describeThreads()}; ${pairs} alternating pairs per case; load average ${loadAverage()}`,
      ...notes,
      table(['case', 'reg-ts img/s', 'PyTorch img/s', 'reg-ts ms/batch', 'PyTorch ms/batch', 'ratio'], rows),
      `ratio (reg-ts time / PyTorch time, geometric mean over cases): ${fmt(ratio, 3)}`,
    ].join('\n'),
    ratio,
  };
}
