/**
 * A small ViT trained here to stand in for DINOv2 where DINOv2 cannot be had (the embedded datasets on
 * a machine without model hubs). It is DINOv2's architecture in the Hugging Face layout (src/models/
 * encoders/dinov2.ts: patch embedding, class token, pre-LN blocks with layer scale, final LayerNorm),
 * so that the class token is a ViT's own token and not a pooling of the patches, as MobileNetV2's is.
 *
 * Training is supervised: a linear head reads the final-LayerNorm class token and the mean
 * cross-entropy −(1/B) Σᵢ log softmax(W·clsᵢ + b)[yᵢ] is minimised with AdamW (src/eval/fit-classifier.ts)
 * on the training images, preprocessed exactly as the encoder will preprocess them (`dinov2Input`).
 * Unlike DINOv2 (self-supervised on other images), this encoder has seen the labels of the very images
 * the diffusion model learns, so its class token is close to a label embedding: read results with that
 * in mind (docs/study-vit.md).
 *
 * The result is `model.safetensors` + `config.json` (what `--encoder dinov2 --encoder-weights` reads) and
 * `training.json` (settings, data, test accuracy), written atomically, `training.json` last: a directory
 * holding a `training.json` with the same settings and data is reused as it is.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ImageDataset } from '../data/dataset.js';
import { datasetImages } from '../eval/dataset-images.js';
import { accuracy, fitClassifier, predictClasses, type FitSettings } from '../eval/fit-classifier.js';
import { createEncoder, type RepresentationEncoder } from '../models/encoders/encoder.js';
import { Dinov2, dinov2Input } from '../models/encoders/dinov2.js';
import { Linear, Module } from '../nn/index.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { saveSafetensors } from '../torch/io/index.js';
import { mixSeed } from '../train/data.js';
import { writeFileAtomic } from '../util/atomic.js';
import { regTsVersion } from '../util/version.js';

/** Architecture and training of the stand-in ViT. */
export interface VitEncoderSettings extends FitSettings {
  /** Token width C (a multiple of 64: heads of 64 channels, as every released DINOv2). */
  width: number;
  /** Transformer blocks. */
  depth: number;
  /** Patch side in pixels at `inputSize`. */
  patchSize: number;
  /** Side the images are resized to; inputSize / patchSize tokens per side. */
  inputSize: number;
}

/** The defaults: 0.8 M parameters, 8×8 patches of 4 px at 32 px, three epochs (about ten minutes on two cores). */
export const VIT_ENCODER_DEFAULTS: Readonly<VitEncoderSettings> = {
  width: 128,
  depth: 4,
  patchSize: 4,
  inputSize: 32,
  epochs: 3,
  batchSize: 128,
  learningRate: 1e-3,
  weightDecay: 0.05,
  seed: 0,
};

/** What `training.json` records. */
export interface VitEncoderRecord {
  format: typeof VIT_ENCODER_FORMAT;
  settings: VitEncoderSettings;
  trainSet: string;
  trainImages: number;
  testSet: string;
  testImages: number;
  /** Mean training loss of each epoch. */
  epochLosses: number[];
  testAccuracy: number;
  trainSeconds: number;
  regTs: string;
}

const VIT_ENCODER_FORMAT = 'reg-ts/vit-encoder@1';

/** DINOv2 plus a linear head on its class token: the classifier the encoder is trained as. */
class VitClassifier extends Module {
  readonly vit: Dinov2;
  readonly head: Linear;

  constructor(s: VitEncoderSettings, numClasses: number) {
    super();
    if (s.width % 64 !== 0) throw new RangeError(`vit encoder: width ${s.width} is not a multiple of 64 (heads of 64 channels)`);
    if (s.inputSize % s.patchSize !== 0)
      throw new RangeError(`vit encoder: inputSize ${s.inputSize} is not a multiple of patchSize ${s.patchSize}`);
    this.vit = this.child(
      'vit',
      new Dinov2({
        hiddenSize: s.width,
        numLayers: s.depth,
        numHeads: s.width / 64,
        mlpDim: 4 * s.width,
        patchSize: s.patchSize,
        posGrid: s.inputSize / s.patchSize,
        numRegisters: 0,
        layerNormEps: 1e-6,
      }),
    );
    this.head = this.child('head', new Linear(s.width, numClasses));
    this.vit.requiresGrad_(true);
    // DINOv2 starts both at N(0, 0.02²); Dinov2 itself builds them as zeros (it is meant to be loaded).
    const { cls_token, position_embeddings } = this.vit.embeddings;
    torch.noGrad(() => {
      for (const p of [cls_token, position_embeddings]) torch.scope(() => void p.copy_(torch.randn(p.shape).mul(0.02)));
    });
  }

  /** Normalised (B, 3, S, S) → logits (B, K) from the final-LayerNorm class token. */
  forward(x: Tensor): Tensor {
    return this.head.forward(this.vit.forward(x).select(1, 0));
  }
}

/** The images `ds` holds as uint8 (N, H, W, 3), grey repeated over the channels. */
async function imagesOf(ds: ImageDataset): Promise<Tensor> {
  const b = await datasetImages(ds, ds.length);
  return torch.fromBytes(b.data, 'uint8', b.shape);
}

const labelsOf = (ds: ImageDataset) => torch.tensor(Array.from(ds.labels), { dtype: 'int64' });

function readRecord(file: string): VitEncoderRecord | null {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as VitEncoderRecord;
    return r.format === VIT_ENCODER_FORMAT ? r : null;
  } catch {
    return null;
  }
}

/** Options of {@link ensureVitEncoder}. */
export interface VitEncoderOptions {
  /** Directory of the weights and records. */
  dir: string;
  /** Images the ViT learns from (with their labels). */
  train: ImageDataset;
  /** Held-out images for the test accuracy. */
  test: ImageDataset;
  settings?: Partial<VitEncoderSettings>;
  log?: (line: string) => void;
  /** Title of a progress bar while training (none when omitted). */
  progress?: string;
}

/** The stand-in ViT of `o.dir`: reused when its record matches the settings and data, else trained now. */
export async function ensureVitEncoder(o: VitEncoderOptions): Promise<{ weights: string; record: VitEncoderRecord; reused: boolean }> {
  const settings: VitEncoderSettings = { ...VIT_ENCODER_DEFAULTS, ...o.settings };
  const weights = path.join(o.dir, 'model.safetensors');
  const recordFile = path.join(o.dir, 'training.json');
  const same = (r: VitEncoderRecord) =>
    JSON.stringify(r.settings) === JSON.stringify(settings) &&
    r.trainSet === o.train.name &&
    r.trainImages === o.train.length &&
    r.testSet === o.test.name &&
    r.testImages === o.test.length;
  const old = existsSync(recordFile) ? readRecord(recordFile) : null;
  if (old && same(old) && existsSync(weights)) {
    o.log?.(`vit encoder ${weights} (test accuracy ${(100 * old.testAccuracy).toFixed(1)} %)`);
    return { weights, record: old, reused: true };
  }
  o.log?.(
    `training the vit encoder (width ${settings.width}, ${settings.depth} blocks, ${settings.epochs} epochs) on ${o.train.length} images → ${o.dir}`,
  );
  torch.manualSeed(mixSeed(settings.seed, 0x71e));
  const model = new VitClassifier(settings, o.train.numClasses);
  try {
    const start = performance.now();
    const prepare = (x: Tensor) => dinov2Input(x.permute(0, 3, 1, 2), settings.inputSize, 'cpu');
    const [trainX, testX] = [await imagesOf(o.train), await imagesOf(o.test)];
    const epochLosses = torch.scope(() =>
      fitClassifier(model, trainX, labelsOf(o.train), settings, o.progress ? { prepare, progress: o.progress } : { prepare }),
    );
    const trainSeconds = (performance.now() - start) / 1000;
    const testAccuracy = accuracy(predictClasses(model, testX, { prepare, batchSize: 256 }), o.test.labels);
    trainX.dispose();
    testX.dispose();
    const v = model.vit.config;
    saveSafetensors(weights, model.vit.stateDict(), { format: 'pt' });
    writeFileAtomic(
      path.join(o.dir, 'config.json'),
      `${JSON.stringify(
        {
          model_type: 'dinov2',
          hidden_size: v.hiddenSize,
          num_hidden_layers: v.numLayers,
          num_attention_heads: v.numHeads,
          patch_size: v.patchSize,
          image_size: settings.inputSize,
          layer_norm_eps: v.layerNormEps,
        },
        null,
        2,
      )}\n`,
    );
    const record: VitEncoderRecord = {
      format: VIT_ENCODER_FORMAT,
      settings,
      trainSet: o.train.name,
      trainImages: o.train.length,
      testSet: o.test.name,
      testImages: o.test.length,
      epochLosses,
      testAccuracy,
      trainSeconds,
      regTs: regTsVersion(),
    };
    writeFileAtomic(recordFile, `${JSON.stringify(record, null, 2)}\n`);
    o.log?.(`vit encoder trained in ${trainSeconds.toFixed(0)} s: test accuracy ${(100 * testAccuracy).toFixed(1)} %`);
    return { weights, record, reused: false };
  } finally {
    model.dispose();
  }
}

/** The stand-in ViT as a representation encoder (the `dinov2` registry entry reading its weights). */
export function vitEncoderOf(weights: string, inputSize: number): Promise<RepresentationEncoder> {
  return createEncoder('dinov2', { weights, inputSize });
}
