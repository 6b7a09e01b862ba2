/**
 * Supervised training of a small classifier on inputs held in memory, shared by the linear probe and
 * the class-consistency classifier: minibatches drawn without replacement in a seeded random order,
 * the mean cross-entropy
 *
 *   L = −(1/B) Σᵢ log softmax(f(xᵢ))[yᵢ]
 *
 * and AdamW steps (src/train/adamw.ts). Deterministic for a seed on a given machine and thread count.
 */
import type { Module } from '../nn/module.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { adamw } from '../train/adamw.js';
import { mixSeed } from '../train/data.js';
import { Progress } from '../util/progress.js';

/** A module mapping a batch of inputs to class logits (B, K). */
export interface ClassifierModule extends Module {
  forward(x: Tensor): Tensor;
}

/** Settings of {@link fitClassifier}. */
export interface FitSettings {
  /** Passes over the training inputs. */
  epochs: number;
  /** Minibatch size (the last, smaller batch of an epoch is dropped when it has fewer than 2 inputs). */
  batchSize: number;
  /** AdamW learning rate, constant. */
  learningRate: number;
  /** AdamW decoupled weight decay. */
  weightDecay: number;
  /** Seed of the minibatch order. */
  seed: number;
}

/** Options of {@link fitClassifier} besides its settings. */
export interface FitOptions {
  /** Turns a minibatch of stored inputs into what the model takes (e.g. uint8 images → floats). Default: as stored. */
  prepare?: (x: Tensor) => Tensor;
  /** Title of a progress bar on stderr (none when omitted). */
  progress?: string;
}

/** Mean cross-entropy of logits (B, K) against int64 labels (B,). */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  return torch.scope(() => torch.F.logSoftmax(logits, 1).gather(1, labels.unsqueeze(1)).neg().mean());
}

/**
 * Trains `model` (in training mode, then left in eval mode) on `inputs` (N, …) with int64 `labels` (N,).
 * @returns the mean training loss of each epoch
 */
export function fitClassifier(model: ClassifierModule, inputs: Tensor, labels: Tensor, s: FitSettings, o: FitOptions = {}): number[] {
  const n = inputs.shape[0]!;
  if (labels.shape[0] !== n) throw new RangeError(`fitClassifier: ${n} inputs but ${labels.shape[0]} labels`);
  if (n < 2) throw new RangeError(`fitClassifier: needs at least 2 training inputs, got ${n}`);
  const prepare = o.prepare ?? ((x: Tensor) => x);
  const order = new torch.Generator(mixSeed(s.seed, 0xc1a5));
  const optimizer = adamw(model.namedParameters(), { lr: s.learningRate, weightDecay: s.weightDecay });
  const batch = Math.min(s.batchSize, n);
  const perEpoch = Math.ceil(n / batch);
  const progress = o.progress ? new Progress(o.progress, s.epochs * perEpoch, { unit: 'steps' }) : null;
  const losses: number[] = [];
  model.train();
  try {
    for (let epoch = 0; epoch < s.epochs; epoch++) {
      const perm = torch.randperm(n, { generator: order });
      let sum = 0;
      let steps = 0;
      for (let start = 0; start < n; start += batch) {
        const m = Math.min(batch, n - start);
        if (m < 2) break;
        const loss = torch.scope(() => {
          const idx = perm.narrow(0, start, m);
          const l = crossEntropy(model.forward(prepare(inputs.indexSelect(0, idx))), labels.indexSelect(0, idx));
          l.backward();
          return l.item();
        });
        optimizer.step();
        optimizer.zeroGrad();
        sum += loss;
        steps++;
        progress?.tick(1, `epoch ${epoch + 1}/${s.epochs} loss ${loss.toFixed(4)}`);
      }
      perm.dispose();
      losses.push(sum / steps);
    }
  } finally {
    optimizer.dispose();
    model.eval();
  }
  return losses;
}

/** The argmax class of every input, in batches, in eval mode without gradients. */
export function predictClasses(model: ClassifierModule, inputs: Tensor, { batchSize = 512, prepare = (x: Tensor) => x } = {}): Int32Array {
  const n = inputs.shape[0]!;
  const out = new Int32Array(n);
  model.eval();
  torch.noGrad(() => {
    for (let start = 0; start < n; start += batchSize) {
      const m = Math.min(batchSize, n - start);
      const pred = torch.scope(() =>
        model
          .forward(prepare(inputs.narrow(0, start, m)))
          .argmax(1)
          .toArray(),
      );
      out.set(pred, start);
    }
  });
  return out;
}

/** Share of predictions equal to their labels. */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length) throw new RangeError(`accuracy: ${predicted.length} predictions for ${labels.length} labels`);
  if (labels.length === 0) throw new RangeError('accuracy: no labels');
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) hits++;
  return hits / labels.length;
}
