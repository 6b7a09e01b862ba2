/**
 * The feature pass of `reg eval`: every image of a source, in batches, through one or more feature
 * networks (the FID Inception, DINOv2, MobileNetV2), features gathered on the CPU in image order.
 *
 * It runs on an index slice [start, end) of the source, so that processes can each take a slice and
 * the results be joined with {@link joinFeatures} in slice order (the same features as one pass).
 */
import type { RepresentationEncoder } from '../models/encoders/encoder.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { ImageSource } from './image-source.js';
import type { InceptionExtractor } from './inception.js';

/** Named float32 feature matrices (N, D) of one network, e.g. { pool3, spatial, logits }. */
export type FeatureSet = Record<string, Tensor>;

/** A network of the pass: uint8 NHWC RGB images in, named (n, D) features out. */
export interface FeatureNetwork {
  /** `inception`, `dinov2` or `mobilenetv2`. */
  readonly name: string;
  /** Everything that determines its features (recorded with results and in cache keys). */
  readonly info: Readonly<Record<string, unknown>>;
  features(images: Tensor): FeatureSet;
  dispose(): void;
}

/** The FID Inception: pool3 (FID, precision/recall), spatial (sFID), logits (IS). */
export function inceptionNetwork(inception: InceptionExtractor): FeatureNetwork {
  return {
    name: 'inception',
    info: inception.info as unknown as Record<string, unknown>,
    features: (images) => ({ ...inception.features(images, 'nhwc') }),
    dispose: () => inception.dispose(),
  };
}

/**
 * The class tokens (N, C) of uint8 NHWC RGB images (N, H, W, 3): DINOv2's final-LayerNorm CLS token,
 * MobileNetV2's mean-pooled features. The one place `reg eval` and the embedded scores take them.
 */
export function classTokens(encoder: RepresentationEncoder, images: Tensor): Tensor {
  return encoder.encode(images.permute(0, 3, 1, 2)).cls;
}

/** A representation encoder as a network of the pass: its {@link classTokens} as `cls`. */
export function encoderNetwork(encoder: RepresentationEncoder): FeatureNetwork {
  return {
    name: encoder.name,
    info: encoder.info,
    features: (images) => ({ cls: classTokens(encoder, images) }),
    dispose: () => encoder.dispose(),
  };
}

/** Options of {@link featurePass}. */
export interface FeaturePassOptions {
  /** First image (default 0). */
  start?: number;
  /** One past the last image (default: all). */
  end?: number;
  /** Images per batch (default 64, the ADM evaluator's). */
  batchSize?: number;
  /** Called after each batch with its size. */
  onBatch?: (n: number) => void;
}

/** Features of images [start, end) of `source` from every network, float32 on the CPU, by network name. */
export async function featurePass(
  source: ImageSource,
  networks: readonly FeatureNetwork[],
  { start = 0, end = source.count, batchSize = 64, onBatch }: FeaturePassOptions = {},
): Promise<Map<string, FeatureSet>> {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= source.count)) {
    throw new RangeError(`featurePass: slice [${start}, ${end}) is not inside the ${source.count} images of ${source.path}`);
  }
  const parts = new Map<string, FeatureSet[]>(networks.map((n) => [n.name, []]));
  const { height: h, width: w } = source;
  for (let i = start; i < end; i += batchSize) {
    const m = Math.min(batchSize, end - i);
    const bytes = await source.read(i, m);
    torch.scope(() => {
      const images = torch.fromBytes(bytes, 'uint8', [m, h, w, 3]);
      for (const net of networks) {
        const out = net.features(images);
        const cpu = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.to({ dtype: 'float32', device: 'cpu' }).contiguous()]));
        parts.get(net.name)!.push(torch.keep(cpu));
      }
    });
    onBatch?.(m);
  }
  return new Map([...parts].map(([name, sets]) => [name, joinFeatures(sets)]));
}

/** Joins feature sets of consecutive slices (in slice order) into one; disposes the parts. */
export function joinFeatures(parts: readonly FeatureSet[]): FeatureSet {
  if (parts.length === 0) return {};
  const joined = Object.fromEntries(
    Object.keys(parts[0]!).map((k) => [
      k,
      torch.cat(
        parts.map((p) => p[k]!),
        0,
      ),
    ]),
  );
  for (const p of parts) for (const t of Object.values(p)) t.dispose();
  return joined;
}
