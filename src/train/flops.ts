/**
 * Analytic FLOP counts of SiT/REG from its configuration (matrix products only; 1 multiply-add = 2
 * FLOPs; normalisations, activations and other elementwise work are left out).
 *
 * Per image, with N = (inputSize/p)² patch tokens, T = N (+1 with the extra token), D width, r MLP
 * ratio, P projector width, Dz encoder width, C channels:
 *
 *   patch embedding   2·N·(C·p²)·D            timestep MLP   2·(256·D + D²)
 *   class-token input 2·Dz·D                  per block      2·T·D·(3D + D + 2rD) + 4·T²·D + 2·D·6D
 *   projectors        2·T·(D·P + P² + P·Dz)   final layer    2·D·2D + 2·N·D·(C·p²) + 2·D·Dz
 *
 * A training step costs ≈ 3× the forward pass (the backward pass computes two products per forward
 * product). For SiT-XL/2 without the token this gives 2 × 118.6 G multiply-adds, the DiT paper's
 * 118.6 "Gflops" (which counts multiply-adds).
 */
import type { SiTConfig } from '../models/configs.js';
import { hasAlign, hasClsInput, hasToken } from '../models/variant.js';

/** Forward FLOPs of one image. */
export function forwardFlopsPerImage(
  c: Pick<
    SiTConfig,
    | 'inputSize'
    | 'inChannels'
    | 'patchSize'
    | 'hiddenSize'
    | 'depth'
    | 'mlpRatio'
    | 'projectorDim'
    | 'zDims'
    | 'variant'
    | 'entangledSignal'
  >,
): number {
  const p = c.patchSize;
  const N = (c.inputSize / p) ** 2;
  const D = c.hiddenSize;
  const token = hasToken(c);
  const clsInput = hasClsInput(c);
  const align = hasAlign(c);
  const T = N + (token ? 1 : 0);
  const patchDim = c.inChannels * p * p;
  const dz = c.zDims[0] ?? 0;
  let f = 2 * N * patchDim * D + 2 * (256 * D + D * D);
  if (clsInput) f += 2 * dz * D;
  f += c.depth * (2 * T * D * (4 * D + 2 * c.mlpRatio * D) + 4 * T * T * D + 2 * D * 6 * D);
  if (align) for (const z of c.zDims) f += 2 * T * (D * c.projectorDim + c.projectorDim * c.projectorDim + c.projectorDim * z);
  f += 2 * D * 2 * D + 2 * N * D * patchDim + (clsInput ? 2 * D * dz : 0);
  return f;
}

/** FLOPs of one training step (forward + backward ≈ 3× forward) on `batch` images. */
export function trainStepFlops(c: Parameters<typeof forwardFlopsPerImage>[0], batch: number): number {
  return 3 * forwardFlopsPerImage(c) * batch;
}
