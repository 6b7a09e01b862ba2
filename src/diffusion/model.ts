/**
 * What the objective and the samplers need from a network: a velocity model with SiT's call signature.
 * `src/models/sit.ts` implements it; tests use small stand-ins. Which inputs and outputs a variant has
 * is decided by `src/models/variant.ts` (hasToken, hasAlign, hasClsInput), as for the model itself.
 */
import type { VariantSettings } from '../models/variant.js';
import type { DType, Device, Tensor } from '../torch/index.js';

/** Outputs of one forward pass. */
export interface VelocityOutput {
  /** Velocity of the image latent, shaped like x. */
  vImg: Tensor;
  /** Alignment projections, one (B, T[+1], zDims[k]) per encoder; empty without alignment. */
  zs: Tensor[];
  /** Velocity of the class token (B, zDims[0]); null for variants without a token. */
  vCls: Tensor | null;
}

/** The part of a model configuration the samplers and the objective read (variant: default 'reg'). */
export interface VelocityModelConfig extends VariantSettings {
  /** Number of classes; label `numClasses` is the null (unconditional) label. */
  readonly numClasses: number;
  readonly inChannels: number;
  /** Latent (or pixel) side H = W. */
  readonly inputSize: number;
  /** Encoder feature dimensions; zDims[0] is the class-token dimension of token variants. */
  readonly zDims?: readonly number[];
}

/** Per-call options the objective may pass (a model may ignore them). */
export interface ForwardOptions {
  /** Labels to replace by the null label (label dropout driven by the caller, shape (B,) bool). */
  dropMask?: Tensor;
  /** Compute the alignment projections (default true); false returns zs = [] and saves the projector MLPs. */
  projections?: boolean;
}

/**
 * A velocity model: `forward(x_t, t, y, cls_t)` → velocities (and alignment projections).
 * x: (B, C, H, W); t: (B,) in [0, 1]; y: (B,) int64 with `numClasses` = null; clsT: (B, Dz) for token
 * variants (omit or null otherwise).
 */
export interface VelocityModel {
  forward(x: Tensor, t: Tensor, y: Tensor, clsT?: Tensor | null, opts?: ForwardOptions): VelocityOutput;
  readonly config: VelocityModelConfig;
  /** Parameters (used to find the model's dtype and device when not given). */
  parameters?(): Tensor[];
  /** Training mode flag (Module). */
  training?: boolean;
}

/** The class-token dimension of a token variant (zDims[0]); throws for a config without zDims. */
export function classTokenDim(config: VelocityModelConfig): number {
  const d = config.zDims?.[0];
  if (d === undefined || !Number.isInteger(d) || d <= 0) {
    throw new TypeError(`model variant '${config.variant ?? 'reg'}' has a class token but its config has no zDims[0]`);
  }
  return d;
}

/** dtype and device of the model's first parameter (float32 on the CPU for a parameterless model). */
export function modelPlacement(model: VelocityModel): { dtype: DType; device: Device } {
  const p = model.parameters?.()[0];
  return p ? { dtype: p.dtype, device: p.device } : { dtype: 'float32', device: 'cpu' };
}
