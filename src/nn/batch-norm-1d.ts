/**
 * BatchNorm1d as PyTorch's: normalisation of each feature of (N, C) over the batch,
 *
 *   training:  y = (x − mean_batch) / √(var_batch + eps) · γ + β   (biased batch variance), and
 *              running ← (1 − momentum)·running + momentum·batch   (unbiased variance for running_var)
 *   eval:      y = (x − running_mean) / √(running_var + eps) · γ + β
 *
 * Parameters `weight` (γ = 1), `bias` (β = 0) only when `affine`; buffers `running_mean` (0), `running_var`
 * (1), `num_batches_tracked` (int64, counts training batches), the PyTorch state-dict keys.
 */
import { Module } from './module.js';
import { ones_, zeros_ } from './init.js';
import * as F from '../torch/functional.js';
import { empty, zeros } from '../torch/creation.js';
import { noGrad } from '../torch/autograd.js';
import type { Tensor } from '../torch/tensor.js';

/** Options of {@link BatchNorm1d} (PyTorch's defaults). */
export interface BatchNorm1dOptions {
  eps?: number;
  momentum?: number;
  /** Learnable γ and β (default true; MAE's linear probe uses false). */
  affine?: boolean;
}

/** PyTorch's nn.BatchNorm1d on (N, C) inputs (file comment). */
export class BatchNorm1d extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;
  readonly eps: number;
  readonly momentum: number;

  constructor(
    readonly features: number,
    { eps = 1e-5, momentum = 0.1, affine = true }: BatchNorm1dOptions = {},
  ) {
    super();
    this.eps = eps;
    this.momentum = momentum;
    this.weight = affine ? this.param('weight', ones_(empty([features]))) : null;
    this.bias = affine ? this.param('bias', zeros_(empty([features]))) : null;
    this.runningMean = this.buffer('running_mean', zeros_(empty([features])));
    this.runningVar = this.buffer('running_var', ones_(empty([features])));
    this.numBatchesTracked = this.buffer('num_batches_tracked', zeros([], { dtype: 'int64' }));
  }

  /** (N, C) → (N, C); in training mode N must be at least 2 (a variance needs two values). */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 2 || x.shape[1] !== this.features)
      throw new RangeError(`BatchNorm1d(${this.features}): expected (N, ${this.features}), got [${x.shape.join(', ')}]`);
    if (this.training && x.shape[0]! < 2) throw new RangeError('BatchNorm1d: training needs more than one value per feature');
    if (this.training) noGrad(() => this.numBatchesTracked.add_(1));
    return F.batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, this.eps, {
      training: this.training,
      momentum: this.momentum,
    });
  }
}
