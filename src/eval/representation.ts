/**
 * The representation metrics of a trained SiT (the paper's "discriminative semantics" analysis): on
 * images of the run's own data stream, the patch-mean hidden state of a block at time t
 * (src/diffusion/hidden-features.ts) is compared with the encoder's feature of the same image
 *
 *   CKNNA(hidden, encoder)                 (src/eval/cknna.ts, k = 10, platonic-rep's preparation)
 *   linear-probe accuracy(hidden → label)   (src/eval/linear-probe.ts; also on the encoder's features, for scale)
 *
 * The encoder's feature is its class token as the run trained with it (REG's entangled target: DINOv2's
 * final-LayerNorm CLS, MobileNetV2's mean of patch tokens), or the mean of the alignment patch targets for a
 * run without a class token (REPA). The first `probeTrain` images of the stream train the probe, the next
 * `probeTest` test it; all of them enter CKNNA. Within one epoch of the source the two sets are disjoint.
 */
import { patchMeanHiddenState, type HiddenFeatureOptions } from '../diffusion/hidden-features.js';
import type { PathType } from '../diffusion/interpolants.js';
import { resolveCheckpoint, readCheckpointConfig } from '../models/checkpoint.js';
import { loadModel } from '../models/pretrained.js';
import type { SiT } from '../models/sit.js';
import * as torch from '../torch/index.js';
import type { Device, Tensor } from '../torch/index.js';
import { resolveTrainConfig } from '../train/config.js';
import { createSource, mixSeed, type BatchSource, type TrainBatch } from '../train/data.js';
import { registerDatasetSources } from '../data/train-sources.js';
import { cknna } from './cknna.js';
import type { FitSettings } from './fit-classifier.js';
import { linearProbe, type LinearProbeResult } from './linear-probe.js';

/** Features of the same images in the model and in the encoder, with their labels. */
export interface PairedFeatures {
  /** (N, D) patch-mean hidden states. */
  hidden: Tensor;
  /** (N, Dz) the encoder's features. */
  encoder: Tensor;
  labels: Int32Array;
}

/** The encoder's feature of every image of a batch: its class token, else the mean of the alignment targets. */
export function encoderFeatureOf(batch: TrainBatch): Tensor {
  if (batch.clsTarget) return batch.clsTarget.to('float32');
  if (batch.alignTarget) return torch.scope(() => batch.alignTarget!.mean(1).to('float32'));
  throw new RangeError('representation metrics: the run has no encoder features (a plain SiT variant); nothing to compare with');
}

/**
 * Draws `count` images from `source` and returns their hidden and encoder features (on the CPU).
 * `opts.generator` drives the noise.
 */
export async function collectPairedFeatures(
  model: SiT,
  source: BatchSource,
  count: number,
  opts: HiddenFeatureOptions,
): Promise<PairedFeatures> {
  const hidden: Tensor[] = [];
  const encoder: Tensor[] = [];
  const labels: number[] = [];
  const device = model.pos_embed.device;
  try {
    while (labels.length < count) {
      const batch = await source.next();
      try {
        const m = Math.min(batch.x.shape[0]!, count - labels.length);
        torch.scope(() => {
          const part = (t: Tensor) => t.narrow(0, 0, m).to({ device });
          const cls0 = model.hasClsInput ? part(batch.clsTarget!) : null;
          hidden.push(torch.keep(patchMeanHiddenState(model, part(batch.x), part(batch.y), cls0, opts).cpu()));
          encoder.push(torch.keep(encoderFeatureOf(batch).narrow(0, 0, m).cpu()));
          labels.push(...batch.y.narrow(0, 0, m).toArray());
        });
      } finally {
        for (const t of [batch.x, batch.y, batch.clsTarget, batch.alignTarget]) t?.dispose();
      }
    }
    return { hidden: torch.cat(hidden, 0), encoder: torch.cat(encoder, 0), labels: Int32Array.from(labels) };
  } finally {
    for (const t of [...hidden, ...encoder]) t.dispose();
  }
}

/** Settings of {@link evaluateRepresentation}. */
export interface RepresentationSettings {
  /** 1-based block (default: the aligned block, encoderDepth). */
  block?: number;
  /** Time t (t = 0 data, 1 noise). */
  t: number;
  /** Probability path (default: the run's). */
  path?: PathType;
  /** Neighbours of CKNNA. */
  topk: number;
  /** Images that train the probe. */
  probeTrain: number;
  /** Images that test it. */
  probeTest: number;
  /** Probe training (epochs, batch size, learning rate, weight decay); its seed is `seed`. */
  probe?: Partial<Omit<FitSettings, 'seed'>>;
  /** Seed of the noise and of the probe. */
  seed: number;
  /** EMA (default) or raw weights. */
  weights?: 'ema' | 'model';
  /** Where the model runs (default cpu). */
  device?: Device;
  /** Images per forward pass (default 32). */
  batchSize?: number;
}

/** What {@link evaluateRepresentation} measured. */
export interface RepresentationReport {
  checkpoint: string;
  step: number | null;
  block: number;
  t: number;
  path: PathType;
  images: number;
  /** The data source the images came from (the run's `data`). */
  source: string;
  cknna: { topk: number; value: number };
  probe: { hidden: LinearProbeResult; encoder: LinearProbeResult; chance: number; numClasses: number };
}

/** CKNNA and linear-probe accuracies of paired features (the first `probeTrain` rows train the probes). */
export function scorePairedFeatures(
  f: PairedFeatures,
  numClasses: number,
  s: Pick<RepresentationSettings, 'topk' | 'probeTrain' | 'probe' | 'seed'>,
): Pick<RepresentationReport, 'cknna' | 'probe'> {
  const n = f.labels.length;
  if (s.probeTrain < 2 || s.probeTrain >= n)
    throw new RangeError(`representation metrics: probeTrain ${s.probeTrain} must be in [2, ${n})`);
  const split = (x: Tensor) => ({
    train: { features: x.narrow(0, 0, s.probeTrain), labels: f.labels.subarray(0, s.probeTrain) },
    test: { features: x.narrow(0, s.probeTrain, n - s.probeTrain), labels: f.labels.subarray(s.probeTrain) },
  });
  return torch.scope(() => {
    const probeSettings = { ...s.probe, seed: s.seed };
    const h = split(f.hidden);
    const e = split(f.encoder);
    return {
      cknna: { topk: s.topk, value: cknna(f.hidden, f.encoder, { topk: s.topk }) },
      probe: {
        hidden: linearProbe(h.train, h.test, numClasses, probeSettings),
        encoder: linearProbe(e.train, e.test, numClasses, probeSettings),
        chance:
          Math.max(...Array.from({ length: numClasses }, (_, c) => f.labels.subarray(s.probeTrain).filter((l) => l === c).length)) /
          (n - s.probeTrain),
        numClasses,
      },
    };
  });
}

/**
 * The representation metrics (file comment) of the checkpoint `where` (a checkpoint directory, a run
 * directory or `<run>/latest`) written by reg-ts's trainer: the images come from the data source its
 * training configuration names, in the order a fresh run with `seed` would draw them.
 */
export async function evaluateRepresentation(where: string, s: RepresentationSettings): Promise<RepresentationReport> {
  const dir = resolveCheckpoint(where);
  const stored = readCheckpointConfig(dir);
  if (!stored.train)
    throw new RangeError(`${dir}: the checkpoint has no training configuration (not written by reg train); its data source is unknown`);
  const config = resolveTrainConfig({ ...stored.train, seed: s.seed }, `${dir}/config.json train`);
  const device = s.device ?? 'cpu';
  const model = loadModel(dir, { weights: s.weights ?? 'ema', device });
  const path = s.path ?? config.pathType;
  const opts = { block: s.block, t: s.t, path, generator: new torch.Generator(mixSeed(s.seed, 0x4ebe)) };
  const images = s.probeTrain + s.probeTest;
  registerDatasetSources();
  const source = await createSource(config.data, { config, model: model.config, microBatch: s.batchSize ?? 32, device, start: null });
  let paired: PairedFeatures | null = null;
  try {
    paired = await collectPairedFeatures(model, source, images, opts);
    const scores = scorePairedFeatures(paired, model.config.numClasses, s);
    return {
      checkpoint: dir,
      step: stored.step ?? null,
      block: opts.block ?? model.config.encoderDepth,
      t: s.t,
      path,
      images,
      source: source.name,
      ...scores,
    };
  } finally {
    await source.close();
    paired?.hidden.dispose();
    paired?.encoder.dispose();
    model.dispose();
  }
}
