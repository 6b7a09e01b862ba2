/**
 * Linear probing of frozen features, as REPA's authors describe their probe of SiT hidden states
 * (sihyun-yu/REPA issue #32: the hidden state averaged over patches → BatchNorm1d → Linear; issue #55:
 * "we followed the setup in MAE") and as MAE's `main_linprobe.py` builds its head:
 *
 *   logits = Linear(BatchNorm1d(features; affine = false, eps = 1e-6))      Linear weight ~ N(0, 0.01²), bias 0
 *
 * The training recipe is ours (MAE's is LARS for 90 epochs at batch 16384): AdamW with a constant
 * learning rate over a few epochs of the precomputed features ({@link fitClassifier}), seeded.
 */
import { BatchNorm1d, Linear, Module, init } from '../nn/index.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { mixSeed } from '../train/data.js';
import { accuracy, fitClassifier, predictClasses, type FitSettings } from './fit-classifier.js';

/** BatchNorm1d (no affine, eps 1e-6) → Linear: MAE's linear-probe head. Keys `norm.*`, `linear.*`. */
export class LinearProbe extends Module {
  readonly norm: BatchNorm1d;
  readonly linear: Linear;

  /** @param generator stream of the N(0, 0.01²) weight draw (global generator when omitted) */
  constructor(
    readonly features: number,
    readonly numClasses: number,
    generator?: torch.Generator,
  ) {
    super();
    this.norm = this.child('norm', new BatchNorm1d(features, { affine: false, eps: 1e-6 }));
    this.linear = this.child('linear', new Linear(features, numClasses));
    torch.noGrad(() => {
      init.normal_(this.linear.weight, 0, 0.01, generator);
      init.zeros_(this.linear.bias!);
    });
  }

  /** (N, features) → logits (N, numClasses). */
  forward(x: Tensor): Tensor {
    return this.linear.forward(this.norm.forward(x));
  }
}

/** The probe's default training settings. */
export const LINEAR_PROBE_DEFAULTS: Readonly<FitSettings> = { epochs: 30, batchSize: 256, learningRate: 1e-3, weightDecay: 0, seed: 0 };

/** Labelled features: (N, D) float features and their class labels. */
export interface LabelledFeatures {
  features: Tensor;
  labels: Int32Array;
}

/** What {@link linearProbe} measured. */
export interface LinearProbeResult {
  trainAccuracy: number;
  testAccuracy: number;
  /** Mean training loss of each epoch. */
  losses: number[];
  settings: FitSettings;
}

/**
 * Trains a {@link LinearProbe} on `train` and reports its accuracy on `train` and `test` (features are
 * converted to float32). The probe is disposed afterwards.
 */
export function linearProbe(
  train: LabelledFeatures,
  test: LabelledFeatures,
  numClasses: number,
  settings: Partial<FitSettings> = {},
): LinearProbeResult {
  const s = { ...LINEAR_PROBE_DEFAULTS, ...settings };
  const dim = train.features.shape[1]!;
  if (train.features.ndim !== 2 || test.features.ndim !== 2 || test.features.shape[1] !== dim)
    throw new RangeError(
      `linearProbe: train and test features must be (N, D) with the same D, got [${train.features.shape.join(', ')}] and [${test.features.shape.join(', ')}]`,
    );
  for (const [name, set] of [
    ['train', train],
    ['test', test],
  ] as const) {
    if (set.labels.length !== set.features.shape[0])
      throw new RangeError(`linearProbe: ${set.features.shape[0]} ${name} features but ${set.labels.length} labels`);
    const bad = set.labels.findIndex((l) => !(l >= 0 && l < numClasses));
    if (bad >= 0) throw new RangeError(`linearProbe: ${name} label ${set.labels[bad]} at index ${bad} is not in [0, ${numClasses})`);
  }
  const probe = new LinearProbe(dim, numClasses, new torch.Generator(mixSeed(s.seed, 0x9b0e)));
  try {
    return torch.scope(() => {
      const x = train.features.to('float32');
      const losses = fitClassifier(probe, x, torch.tensor(Array.from(train.labels), { dtype: 'int64' }), s);
      return {
        trainAccuracy: accuracy(predictClasses(probe, x), train.labels),
        testAccuracy: accuracy(predictClasses(probe, test.features.to('float32')), test.labels),
        losses,
        settings: s,
      };
    });
  } finally {
    probe.dispose();
  }
}
