/**
 * Standard layers: Linear, LayerNorm, GroupNorm, Embedding, Conv2d, BatchNorm2d, and timm's transformer Mlp
 * (PyTorch parameter names and defaults). Parameters are allocated uninitialised and then initialised (so {@link skipInit} builds
 * leave them uninitialised).
 */
import { defaultUniformBound, normal_, ones_, uniform_, zeros_ } from './init.js';
import { Module } from './module.js';
import * as F from '../torch/functional.js';
import { empty } from '../torch/creation.js';
import type { Tensor } from '../torch/tensor.js';

/** y = x·Wᵀ + b with weight (out, in); PyTorch default init U(±1/√in). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true } = {},
  ) {
    super();
    this.weight = this.param('weight', empty([outFeatures, inFeatures]));
    const bound = defaultUniformBound(this.weight);
    uniform_(this.weight, -bound, bound);
    this.bias = bias ? this.param('bias', uniform_(empty([outFeatures]), -bound, bound)) : null;
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** fc1 → GELU → fc2 (timm's Mlp; `approximate` 'tanh' is GELU(approximate='tanh')). Keys `fc1.*`, `fc2.*`. */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(
    dim: number,
    hidden: number,
    readonly approximate: 'none' | 'tanh' = 'none',
  ) {
    super();
    this.fc1 = this.child('fc1', new Linear(dim, hidden));
    this.fc2 = this.child('fc2', new Linear(hidden, dim));
  }

  forward(x: Tensor): Tensor {
    return this.fc2.forward(F.gelu(this.fc1.forward(x), this.approximate));
  }
}

/** LayerNorm over the last dimension, with optional affine γ (weight, init 1) and β (bias, init 0). */
export class LayerNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;

  constructor(
    readonly dim: number,
    { eps = 1e-5, affine = true } = {},
  ) {
    super();
    this.eps = eps;
    this.weight = affine ? this.param('weight', ones_(empty([dim]))) : null;
    this.bias = affine ? this.param('bias', zeros_(empty([dim]))) : null;
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, [this.dim], this.weight, this.bias, this.eps);
  }
}

/**
 * GroupNorm over (N, C, …): the C channels split into `groups` groups, each normalised over its channels
 * and all positions, y = (x − E[x]) / √(Var[x] + ε) · γ + β (biased variance), with per-channel affine
 * γ (weight, init 1) and β (bias, init 0), as PyTorch's nn.GroupNorm.
 */
export class GroupNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;

  constructor(
    readonly groups: number,
    readonly channels: number,
    { eps = 1e-5, affine = true } = {},
  ) {
    super();
    if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) {
      throw new RangeError(`GroupNorm: ${channels} channels cannot be split into ${groups} groups`);
    }
    this.eps = eps;
    this.weight = affine ? this.param('weight', ones_(empty([channels]))) : null;
    this.bias = affine ? this.param('bias', zeros_(empty([channels]))) : null;
  }

  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.groups, this.weight, this.bias, this.eps);
  }
}

/** Lookup table (num, dim), init N(0, 1). */
export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(
    readonly num: number,
    readonly dim: number,
  ) {
    super();
    this.weight = this.param('weight', normal_(empty([num, dim])));
  }

  forward(indices: Tensor): Tensor {
    return F.embedding(this.weight, indices);
  }
}

/** Options of Conv2d. */
export interface Conv2dLayerOptions {
  stride?: number;
  /** Zero padding on every side, or [rows, columns]. */
  padding?: number | [number, number];
  /** Channel groups; groups = inChannels = outChannels is a depthwise convolution. */
  groups?: number;
  bias?: boolean;
}

/** 2-D convolution with weight (out, in/groups, kh, kw) (a square kernel for a number); PyTorch default init. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly options: F.Conv2dOptions;

  constructor(
    inChannels: number,
    outChannels: number,
    kernel: number | [number, number],
    { stride = 1, padding = 0, groups = 1, bias = true }: Conv2dLayerOptions = {},
  ) {
    super();
    const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    this.weight = this.param('weight', empty([outChannels, inChannels / groups, kh, kw]));
    const bound = defaultUniformBound(this.weight);
    uniform_(this.weight, -bound, bound);
    this.bias = bias ? this.param('bias', uniform_(empty([outChannels]), -bound, bound)) : null;
    this.options = { stride, padding, groups };
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.options);
  }
}

/**
 * BatchNorm over the channels of (N, C, H, W) with its running statistics, as PyTorch's BatchNorm2d in
 * eval mode: y = (x − μ) / √(σ² + ε) · γ + β. Parameters `weight` (γ, init 1), `bias` (β, init 0);
 * buffers `running_mean` (init 0), `running_var` (init 1). Training mode (batch statistics and running
 * updates) is not implemented: forward throws unless the module is in eval mode.
 */
export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(
    readonly channels: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.param('weight', ones_(empty([channels])));
    this.bias = this.param('bias', zeros_(empty([channels])));
    this.runningMean = this.buffer('running_mean', zeros_(empty([channels])));
    this.runningVar = this.buffer('running_var', ones_(empty([channels])));
  }

  forward(x: Tensor): Tensor {
    if (this.training) throw new Error('BatchNorm2d: training mode (batch statistics) is not implemented; call eval()');
    return F.batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, this.eps);
  }
}
