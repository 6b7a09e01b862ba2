/** Standard layers: Linear, LayerNorm, Embedding, Conv2d (PyTorch parameter names and defaults). */
import { defaultUniformBound, uniform_, normal_ } from './init.js';
import { Module } from './module.js';
import * as F from '../torch/functional.js';
import { ones, zeros } from '../torch/creation.js';
import type { Tensor } from '../torch/tensor.js';

/** y = x·Wᵀ + b with weight (out, in); PyTorch default init U(±1/√in). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, { bias = true } = {}) {
    super();
    this.weight = this.param('weight', zeros([outFeatures, inFeatures]));
    const bound = defaultUniformBound(this.weight);
    uniform_(this.weight, -bound, bound);
    this.bias = bias ? this.param('bias', uniform_(zeros([outFeatures]), -bound, bound)) : null;
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** LayerNorm over the last dimension, with optional affine γ (weight) and β (bias). */
export class LayerNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;

  constructor(readonly dim: number, { eps = 1e-5, affine = true } = {}) {
    super();
    this.eps = eps;
    this.weight = affine ? this.param('weight', ones([dim])) : null;
    this.bias = affine ? this.param('bias', zeros([dim])) : null;
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, [this.dim], this.weight, this.bias, this.eps);
  }
}

/** Lookup table (num, dim), init N(0, 1). */
export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(readonly num: number, readonly dim: number) {
    super();
    this.weight = this.param('weight', normal_(zeros([num, dim])));
  }

  forward(indices: Tensor): Tensor {
    return F.embedding(this.weight, indices);
  }
}

/** 2-D convolution with weight (out, in/groups, k, k); PyTorch default init. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly options: F.Conv2dOptions;

  constructor(inChannels: number, outChannels: number, kernel: number, { stride = 1, padding = 0, groups = 1, bias = true } = {}) {
    super();
    this.weight = this.param('weight', zeros([outChannels, inChannels / groups, kernel, kernel]));
    const bound = defaultUniformBound(this.weight);
    uniform_(this.weight, -bound, bound);
    this.bias = bias ? this.param('bias', uniform_(zeros([outChannels]), -bound, bound)) : null;
    this.options = { stride, padding, groups };
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.options);
  }
}
