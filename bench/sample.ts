/**
 * `sample`: images per second of the official SDE sampler on SiT-S/2 with REG at 32×32×4 latents
 * (256 patch tokens + the class token, DINOv2-B width 768, 1000 classes), 50 Euler–Maruyama steps with
 * classifier-free guidance 2.3 (image and class token) on the official interval [0, 0.85], against the
 * same sampler on the PyTorch reference model (test/reference/bench/sample.py) in the same run.
 *
 * Both sides get the same weights (the official initialisation perturbed by seeded noise, so every
 * head is non-zero), initial states, labels and step noises through one safetensors file, and the run
 * checks that their final latents agree. Guided steps double the batch: 42 of the 50 steps are guided
 * (t ≤ 0.85), so one image costs 92 network evaluations. A second set of pairs times the lean PyTorch
 * reference: the same loop with the projector MLPs skipped, as reg-ts's sampler skips them (only the
 * training loss reads them). The per-image noise streams of `reg sample`
 * (drawn on the CPU, one generator per image and stream) are timed separately.
 *
 * Batch: 64 on CUDA, 1 on the CPU (one CPU run of 50 steps takes about a minute per side on a quiet
 * 2-core machine); override with REG_BENCH_SAMPLE_BATCH.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as torch from '../src/torch/index.js';
import type { Device, Tensor } from '../src/torch/index.js';
import { saveSafetensors } from '../src/torch/io/index.js';
import { createSiT } from '../src/models/configs.js';
import { configToPython } from '../src/models/pretrained.js';
import { ImageNoise, sampleLabels } from '../src/diffusion/noise.js';
import { sample, sdeTimeGrid, isGuided } from '../src/diffusion/samplers.js';
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

const STEPS = 50;
const CFG = 2.3;
const CLS_CFG = 2.3;
const LOW = 0;
const HIGH = 0.85;

export const name = 'sample';
export const description = `SiT-S/2+REG 32×32×4, ${STEPS} SDE steps, CFG ${CFG} on [${LOW}, ${HIGH}]: images/s vs the PyTorch reference`;

export async function run(options?: Partial<BenchOptions>): Promise<BenchResult> {
  const device: Device = torch.cudaAvailable() ? 'cuda' : 'cpu';
  const batch = Number(process.env.REG_BENCH_SAMPLE_BATCH ?? (device === 'cuda' ? 64 : 1));
  const pairs = pairsFor(options, device === 'cuda' ? 5 : 3);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'regts-bench-sample-'));
  const gen = new torch.Generator(0);
  const model = createSiT('SiT-S/2', {}, { generator: gen });
  torch.noGrad(() =>
    torch.scope(() => {
      for (const [n, p] of model.namedParameters()) if (n !== 'pos_embed') p.add_(torch.randn(p.shape, { generator: gen }).mul(0.02));
    }),
  );
  model.eval();
  const cfg = model.config;
  const dz = cfg.zDims[0]!;
  const labels = sampleLabels('uniform', batch, cfg.numClasses, 0);
  const noise = new ImageNoise(
    0,
    Array.from({ length: batch }, (_, i) => i),
    { channels: cfg.inChannels, size: cfg.inputSize, clsDim: dz },
  );
  const init = noise.initial();
  const nx: Tensor[] = [];
  const nc: Tensor[] = [];
  for (let i = 0; i < STEPS - 1; i++) {
    const s = noise.step(i, init.x, init.c);
    nx.push(s.x);
    nc.push(s.c!);
  }
  const noiseX = torch.stack(nx);
  const noiseC = torch.stack(nc);
  const y = torch.tensor(Array.from(labels), { dtype: 'int64' });
  const file = path.join(dir, 'sample.safetensors');
  const tensors = new Map<string, Tensor>([
    ...model.stateDict(),
    ['input.x_T', init.x],
    ['input.c_T', init.c!],
    ['input.y', y],
    ['input.noise_x', noiseX],
    ['input.noise_c', noiseC],
  ]);
  saveSafetensors(file, tensors, {
    config: JSON.stringify(configToPython(cfg)),
    sampler: JSON.stringify({ steps: STEPS, cfg: CFG, cls_cfg: CLS_CFG, low: LOW, high: HIGH, null_label: cfg.numClasses }),
  });
  if (device !== 'cpu') model.to({ device });
  const onDev = (t: Tensor) => (device === 'cpu' ? t : t.to({ device }));
  const [dx, dc, dy, dnx, dnc] = [init.x, init.c!, y, noiseX, noiseC].map(onDev) as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const opts = { sampler: 'sde' as const, numSteps: STEPS, cfgScale: CFG, clsCfgScale: CLS_CFG, guidanceLow: LOW, guidanceHigh: HIGH };
  const once = (): { x: Tensor; c: Tensor | null } => {
    const r = sample(model, { x: dx, c: dc }, dy, opts, (i) => ({ x: dnx.select(0, i), c: dnc.select(0, i) }));
    if (device !== 'cpu') r.x.sum().item(); // synchronise
    return r;
  };

  const py = await PyWorker.start('sample.py');
  try {
    const ref = await py.request<{ x: number[]; c: number[] }>({ op: 'setup', file, device });
    const mine = torch.scope(() => {
      const r = once();
      return { x: r.x.cpu().toArray(), c: r.c!.cpu().toArray() };
    });
    const rel = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) / Math.max(...b.map(Math.abs));
    const errX = rel(mine.x, ref.x);
    const errC = rel(mine.c, ref.c);
    if (!(errX < 1e-3 && errC < 1e-3))
      throw new Error(`sample: reg-ts and PyTorch trajectories disagree (latent ${errX}, class token ${errC})`);

    const mineTimes = (n: number) => timeReps(() => torch.scope(() => void once()), n);
    const t = await interleave(mineTimes, (n) => py.time({ reps: n }), pairs, 1);
    // the lean reference: the same PyTorch loop without the projector MLPs, as reg-ts samples
    const lean = await interleave(mineTimes, (n) => py.time({ reps: n, lean: true }), pairs, 1);
    // per-image noise streams of `reg sample` for one batch: x_T, c_T and 49 step noises per image
    const noiseTimes = timeReps(() => {
      torch.scope(() => {
        const nz = new ImageNoise(
          1,
          Array.from({ length: batch }, (_, i) => i),
          { channels: cfg.inChannels, size: cfg.inputSize, clsDim: dz },
          { device },
        );
        const st = nz.initial();
        for (let i = 0; i < STEPS - 1; i++) nz.step(i, st.x, st.c);
      });
    }, 3);
    const grid = sdeTimeGrid(STEPS);
    const guided = grid.slice(0, STEPS).filter((tc) => isGuided(tc, { cfgScale: CFG, low: LOW, high: HIGH })).length;
    const nfe = STEPS + guided;
    const row = (label: string, s: number[]) => {
      const m = median(s);
      return [label, fmt(m, 2), fmt(batch / m, 3), fmt((batch * nfe) / m, 1), s.length];
    };
    const { paired, ofMedians } = pairedRatio(t);
    const leanRatio = pairedRatio(lean);
    const noiseMs = median(noiseTimes) * 1e3;
    const text = [
      `device ${device}, ${py.describeThreads()}, batch ${batch}, ${STEPS} steps (${guided} guided → ${nfe} network evaluations per image), load average ${loadAverage()}`,
      `final states agree with PyTorch: latent ${errX.toExponential(1)}, class token ${errC.toExponential(1)} (max|Δ|/max|ref|)`,
      table(
        ['', 'median s/batch', 'images/s', 'NFE·images/s', 'samples'],
        [row('reg-ts', t.ts), row('PyTorch, official sampler', t.py), row('reg-ts (lean pairs)', lean.ts), row('PyTorch, lean', lean.py)],
      ),
      `per-image noise streams (reg sample) for the batch: ${fmt(noiseMs, 1)} ms (${fmt((100 * noiseMs) / 1e3 / median(t.ts), 2)}% of a batch; not in the timings above)`,
      `reg-ts/PyTorch time: ${fmt(paired, 3)} (median of ${t.ts.length} alternating pairs), ${fmt(ofMedians, 3)} (ratio of medians); target ≤ 0.8`,
      `reg-ts/PyTorch lean (projector MLPs skipped on both sides): ${fmt(leanRatio.paired, 3)} (median of ${lean.ts.length} pairs), ${fmt(leanRatio.ofMedians, 3)} (ratio of medians)`,
    ].join('\n');
    return { table: text, ratio: paired };
  } finally {
    await py.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
