/**
 * `train-step`: one full REG training step — forward, backward, gradient clipping, AdamW, EMA — of
 * SiT-S/2 + REG on 32×32×4 latents (256 patch tokens + the class token = 257), batch 16, encoder
 * width 768, float32, on CUDA when the addon sees a GPU (both sides), else the CPU; REG_BENCH_TRAIN_MODEL
 * and REG_BENCH_TRAIN_BATCH change the model and the batch. Against the same step in PyTorch
 * (test/reference/train/train_step.py: the independent
 * reference model, torch.optim.AdamW, torch.nn.utils.clip_grad_norm_) in the same run.
 *
 * Both sides start from the same weights (official initialisation after manual_seed(0)) and the same
 * fixed inputs (drawn in the same order from a generator seeded 0: latents, labels, class token,
 * alignment targets, t, noises, label-dropout mask); the first step's loss and gradient norm are
 * compared before timing. FLOPs are the analytic count of src/train/flops.ts (3 × forward matmuls).
 */
import * as torch from '../src/torch/index.js';
import type { Device, Tensor } from '../src/torch/index.js';
import { createSiT } from '../src/models/configs.js';
import type { SiT } from '../src/models/sit.js';
import { regLoss } from '../src/diffusion/objective.js';
import { adamw, type Optimizer } from '../src/train/adamw.js';
import { clipGradNorm_ } from '../src/train/clip.js';
import { EMA } from '../src/train/ema.js';
import { trainStepFlops } from '../src/train/flops.js';
import { PEAK_GFLOPS } from './block.js';
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

const C = 4;
const S = 32;
const DZ = 768;
/** The model and batch: SiT-S/2 at 16 by default; REG_BENCH_TRAIN_MODEL / REG_BENCH_TRAIN_BATCH override them (a GPU run: SiT-B/2 at 256). */
const MODEL = process.env.REG_BENCH_TRAIN_MODEL ?? 'SiT-S/2';
const B = Number(process.env.REG_BENCH_TRAIN_BATCH ?? 16);

interface Inputs {
  x0: Tensor;
  y: Tensor;
  cls0: Tensor;
  target: Tensor;
  t: Tensor;
  noise: Tensor;
  noiseCls: Tensor;
  dropMask: Tensor;
}

/** Same draws, same order as train_step.py::make_inputs. */
function makeInputs(seed: number): Inputs {
  const g = new torch.Generator(seed);
  const T = (S / 2) ** 2 + 1;
  return {
    x0: torch.randn([B, C, S, S], { generator: g }),
    y: torch.randint(0, 1000, [B], { generator: g }),
    cls0: torch.randn([B, DZ], { generator: g }),
    target: torch.randn([B, T, DZ], { generator: g }),
    t: torch.rand([B], { generator: g }),
    noise: torch.randn([B, C, S, S], { generator: g }),
    noiseCls: torch.randn([B, DZ], { generator: g }),
    dropMask: torch.rand([B], { generator: g }).lt(0.1),
  };
}

interface Setup {
  model: SiT;
  ema: EMA;
  opt: Optimizer;
  inp: Inputs;
}

function build(seed: number, device: Device): Setup {
  torch.manualSeed(seed);
  const model = createSiT(MODEL, {
    inputSize: S,
    inChannels: C,
    numClasses: 1000,
    encoderDepth: 4,
    projectorDim: 2048,
    zDims: [DZ],
    variant: 'reg',
  });
  model.train();
  if (device !== 'cpu') model.to({ device });
  const ema = new EMA(model, 0.9999);
  const opt = adamw(model.namedParameters(), { lr: 1e-4 });
  const inp = makeInputs(seed);
  if (device !== 'cpu') for (const k of Object.keys(inp) as (keyof Inputs)[]) inp[k] = inp[k].to({ device });
  return { model, ema, opt, inp };
}

/** The trainer's step (src/train/trainer.ts) with the inputs fixed: loss, backward, clip, AdamW, EMA. */
function step({ model, ema, opt, inp }: Setup): { loss: number; gradNorm: number } {
  return torch.scope(() => {
    const out = regLoss(model, {
      x0: inp.x0,
      y: inp.y,
      cls0: inp.cls0,
      target: inp.target,
      t: inp.t,
      noise: inp.noise,
      noiseCls: inp.noiseCls,
      dropMask: inp.dropMask,
    });
    out.total.backward();
    const gradNorm = clipGradNorm_(
      opt.params.map(([, p]) => p),
      1.0,
    );
    opt.step();
    opt.zeroGrad();
    ema.update();
    return { loss: out.total.item(), gradNorm };
  });
}

export const name = 'train-step';
export const description = 'one SiT-S/2+REG training step (B16, 32×32×4, 257 tokens, Dz 768: fwd, bwd, clip, AdamW, EMA) vs PyTorch';

export async function run(options?: Partial<BenchOptions>): Promise<BenchResult> {
  const pairs = pairsFor(options, 5);
  const device: Device = torch.cudaAvailable() ? 'cuda' : 'cpu';
  const s = build(0, device);
  const py = await PyWorker.start('../train/train_step.py');
  try {
    const ref = await py.request<{ loss: number; gradNorm: number; params: number }>({
      op: 'setup',
      seed: 0,
      model: MODEL,
      batch: B,
      device,
    });
    const mine = step(s);
    const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
    const agree = Math.max(rel(mine.loss, ref.loss), rel(mine.gradNorm, ref.gradNorm));
    if (s.model.numParameters() !== ref.params || !(agree < 1e-4)) {
      throw new Error(
        `train-step: reg-ts and PyTorch disagree (params ${s.model.numParameters()} vs ${ref.params}; loss ${mine.loss} vs ${ref.loss}; grad norm ${mine.gradNorm} vs ${ref.gradNorm})`,
      );
    }
    const t = await interleave(
      (n) => timeReps(() => step(s), n),
      (n) => py.time({ reps: n }),
      pairs,
      1,
    );
    const flops = trainStepFlops(s.model.config, B);
    const row = (label: string, xs: number[]): (string | number)[] => {
      const m = median(xs);
      const gf = flops / m / 1e9;
      return [
        label,
        fmt(m * 1e3, 0),
        fmt(Math.min(...xs) * 1e3, 0),
        fmt(B / m, 2),
        fmt(gf, 1),
        `${fmt((100 * gf) / PEAK_GFLOPS, 1)}%`,
        xs.length,
      ];
    };
    const { paired: ratio, ofMedians } = pairedRatio(t);
    const text = [
      `${MODEL} + REG, ${(s.model.numParameters() / 1e6).toFixed(2)}M parameters, batch ${B}, 32×32×4 latents, 257 tokens, encoder width ${DZ}, float32, device ${device}; ${py.describeThreads()}`,
      `step ≈ ${fmt(flops / 1e9, 0)} GFLOP (3 × forward matmul FLOPs); peak ${PEAK_GFLOPS} GFLOP/s (this CPU's; "of peak" means nothing on a GPU); load average ${loadAverage()}`,
      `first step agrees with PyTorch: loss ${mine.loss.toPrecision(7)} vs ${ref.loss.toPrecision(7)}, grad norm ${mine.gradNorm.toPrecision(7)} vs ${ref.gradNorm.toPrecision(7)} (max relative difference ${agree.toExponential(1)})`,
      table(
        ['', 'median ms', 'min ms', 'images/s', 'GFLOP/s', 'of peak', 'samples'],
        [row('reg-ts step', t.ts), row('PyTorch step', t.py)],
      ),
      `reg-ts/PyTorch: ${fmt(ratio, 3)} (median of ${pairs} alternating pairs), ${fmt(ofMedians, 3)} (ratio of medians); target ≤ 0.8`,
    ].join('\n');
    return { table: text, ratio };
  } finally {
    await py.close();
  }
}
