/**
 * `block`: one SiT block, forward + backward, through the TypeScript API against the same block in
 * PyTorch (test/reference/bench/block.py) in the same run.
 *
 * Shape: batch 16, 257 tokens, width 384, 6 heads of 64, MLP ×4 (SiT-S/2 at 256 px with REG's class
 * token). The block (DiT/SiT "adaLN-Zero"):
 *
 *   shift₁, scale₁, gate₁, shift₂, scale₂, gate₂ = chunk₆(Linear(D, 6D)(SiLU(c)))
 *   x = x + gate₁ · Attn(LN(x)·(1 + scale₁) + shift₁)
 *   x = x + gate₂ · MLP(LN(x)·(1 + scale₂) + shift₂)
 *
 * with LayerNorm without affine (eps 1e-6), Attn = qkv Linear with bias → softmax(QKᵀ/√d)V → proj,
 * MLP = Linear(D, 4D) → GELU(tanh) → Linear(4D, D). It is written inline with F.* operators
 * (parameters are plain tensors requiring grad) and mirrored operator for operator in Python; both
 * start from the same seeded values and the run checks that outputs and gradients agree.
 *
 * FLOPs are counted analytically from the matrix products: forward
 *   2·T·D·(3D + D + 4D + 4D) (qkv, proj, fc1, fc2; T = B·N tokens) + 4·B·N²·D (QKᵀ and AV)
 *   + 2·B·D·6D (adaLN), and forward + backward = 3 × forward.
 */
import { F, Generator, randn, scope, type Tensor } from '../src/torch/index.js';
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

/** CPU fp32 peak of the project machine: 2 cores × 2 AVX-512 FMA units × 16 lanes × 2 FLOP × 2.5 GHz. */
export const PEAK_GFLOPS = 320;

export const SHAPE = { B: 16, N: 257, D: 384, H: 6, mlpRatio: 4 } as const;

/** Forward matrix-product FLOPs of one block. */
export function blockForwardFlops({ B, N, D, mlpRatio } = SHAPE): number {
  const T = B * N;
  return 2 * T * D * (3 * D + D + 2 * mlpRatio * D) + 4 * B * N * N * D + 2 * B * D * 6 * D;
}

interface Params {
  adaW: Tensor;
  adaB: Tensor;
  qkvW: Tensor;
  qkvB: Tensor;
  projW: Tensor;
  projB: Tensor;
  fc1W: Tensor;
  fc1B: Tensor;
  fc2W: Tensor;
  fc2B: Tensor;
}

/** Inputs and parameters drawn in a fixed order from one seeded generator (block.py draws the same). */
function makeInputs(seed = 0): { x: Tensor; c: Tensor; gOut: Tensor; p: Params } {
  const { B, N, D, mlpRatio } = SHAPE;
  const g = new Generator(seed);
  const leaf = (shape: number[], std: number): Tensor => {
    const t = randn(shape, { generator: g });
    t.mul_(std);
    return t.requiresGrad_(true);
  };
  const x = leaf([B, N, D], 1);
  const c = leaf([B, D], 1);
  const p: Params = {
    adaW: leaf([6 * D, D], 0.02),
    adaB: leaf([6 * D], 0.02),
    qkvW: leaf([3 * D, D], 0.02),
    qkvB: leaf([3 * D], 0.02),
    projW: leaf([D, D], 0.02),
    projB: leaf([D], 0.02),
    fc1W: leaf([mlpRatio * D, D], 0.02),
    fc1B: leaf([mlpRatio * D], 0.02),
    fc2W: leaf([D, mlpRatio * D], 0.02),
    fc2B: leaf([D], 0.02),
  };
  const gOut = randn([B, N, D], { generator: g });
  return { x, c, gOut, p };
}

const modulate = (x: Tensor, shift: Tensor, scale: Tensor): Tensor => x.mul(scale.add(1)).add(shift);

function attention(x: Tensor, p: Params): Tensor {
  const { B, N, D, H } = SHAPE;
  const qkv = F.linear(x, p.qkvW, p.qkvB)
    .reshape(B, N, 3, H, D / H)
    .permute(2, 0, 3, 1, 4);
  const q = qkv.select(0, 0),
    k = qkv.select(0, 1),
    v = qkv.select(0, 2);
  const o = F.scaledDotProductAttention(q, k, v); // fused in libtorch ≥ 2, explicit softmax(QKᵀ/√d)V in 1.13
  return F.linear(o.transpose(1, 2).reshape(B, N, D), p.projW, p.projB);
}

/** The SiT block's forward pass; intermediates are released when it returns. */
export function blockForward(x: Tensor, c: Tensor, p: Params): Tensor {
  const { D } = SHAPE;
  return scope(() => {
    const mod = F.linear(F.silu(c), p.adaW, p.adaB).unsqueeze(1); // (B, 1, 6D)
    const [shift1, scale1, gate1, shift2, scale2, gate2] = mod.chunk(6, -1) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const h1 = attention(modulate(F.layerNorm(x, [D], null, null, 1e-6), shift1, scale1), p);
    const x1 = x.add(gate1.mul(h1));
    const m = F.linear(
      F.gelu(F.linear(modulate(F.layerNorm(x1, [D], null, null, 1e-6), shift2, scale2), p.fc1W, p.fc1B), 'tanh'),
      p.fc2W,
      p.fc2B,
    );
    return x1.add(gate2.mul(m));
  });
}

/** One training-like step: forward, backward with a fixed output gradient, gradients cleared. */
function step(x: Tensor, c: Tensor, p: Params, gOut: Tensor, leaves: Tensor[]): void {
  for (const t of leaves) t.grad = null;
  const out = blockForward(x, c, p);
  out.backward(gOut);
  out.dispose();
}

/** Sums of the output and of each leaf's gradient, for the cross-check with PyTorch. */
function checksums(x: Tensor, c: Tensor, p: Params, gOut: Tensor, leaves: Tensor[]): number[] {
  return scope(() => {
    for (const t of leaves) t.grad = null;
    const out = blockForward(x, c, p);
    const s = [out.mul(gOut).sum().item()];
    out.backward(gOut);
    for (const t of leaves) s.push(t.grad!.abs().sum().item());
    return s;
  });
}

export const name = 'block';
export const description = 'one SiT block (B16·T257·D384, 6 heads, MLP×4, adaLN, GELU-tanh) forward+backward vs PyTorch';

export async function run(options?: Partial<BenchOptions>): Promise<BenchResult> {
  const pairs = pairsFor(options, 15);
  const { x, c, gOut, p } = makeInputs(0);
  const leaves = [x, c, ...Object.values(p)];
  const py = await PyWorker.start('block.py');
  try {
    // Same block? Compare <out, gOut> and Σ|grad| of every leaf.
    const ref = (await py.request<{ checksums: number[] }>({ op: 'setup', seed: 0 })).checksums;
    const mine = checksums(x, c, p, gOut, leaves);
    const maxRel = checksumDifference(mine, ref, 1e-12);
    if (!(maxRel < 1e-3))
      throw new Error(`block: reg-ts and PyTorch disagree (max relative difference ${maxRel}); the blocks are not the same`);

    const t = await interleave(
      (n) => timeReps(() => step(x, c, p, gOut, leaves), n),
      (n) => py.time({ reps: n }),
      pairs,
      2,
      py,
    );
    const { ts, py: pt } = t;
    // Forward alone (graph recorded, then dropped): where the two sides' code differs; backward is
    // libtorch's autograd engine on both.
    const fwd = await interleave(
      (n) => timeReps(() => blockForward(x, c, p).dispose(), n),
      (n) => py.time({ reps: n, forward: true }),
      pairs,
      2,
      py,
    );
    const flops = 3 * blockForwardFlops();
    const row = (label: string, s: number[], f = flops): (string | number)[] => {
      const m = median(s);
      const gf = f / m / 1e9;
      return [label, fmt(m * 1e3, 1), fmt(Math.min(...s) * 1e3, 1), fmt(gf, 1), `${fmt((100 * gf) / PEAK_GFLOPS, 1)}%`, s.length];
    };
    const { paired: ratio, ofMedians, q1, q3 } = pairedRatio(t);
    const text = [
      `${py.describeThreads()}; fwd+bwd ${fmt(flops / 1e9, 2)} GFLOP (3 × forward matmul FLOPs); peak ${PEAK_GFLOPS} GFLOP/s`,
      `outputs and gradients agree with PyTorch to ${maxRel.toExponential(1)} (relative); load average ${loadAverage()}`,
      table(
        ['', 'median ms', 'min ms', 'GFLOP/s', 'of peak', 'samples'],
        [
          row('reg-ts fwd+bwd', ts),
          row('PyTorch fwd+bwd', pt),
          row('reg-ts forward', fwd.ts, flops / 3),
          row('PyTorch forward', fwd.py, flops / 3),
        ],
      ),
      `reg-ts/PyTorch fwd+bwd: ${fmt(ratio, 3)} (median of ${pairs} alternating pairs; quartiles ${fmt(q1, 3)}–${fmt(q3, 3)}), ${fmt(ofMedians, 3)} (ratio of medians); target ≤ 0.85, quartiles within ±10 %`,
      `reg-ts/PyTorch forward: ${fmt(pairedRatio(fwd).paired, 3)}`,
      `fwd+bwd: ${quality(t)}; forward: ${quality(fwd)}`,
    ].join('\n');
    return { table: text, ratio };
  } finally {
    await py.close();
    scope(() => {
      for (const t of [x, c, gOut, ...Object.values(p)]) t.dispose();
    });
  }
}
