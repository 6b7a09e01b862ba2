/**
 * `reg eval` as a library call: samples against a reference, with the metrics of the ADM evaluator
 * (FID, sFID, IS, precision/recall on the FID Inception) and Fréchet distances in other feature
 * spaces (FD-DINOv2 on the user's DINOv2, FD-MobileNetV2 on the embedded default encoder).
 *
 *   const result = await evaluate({ samples: 'samples.npz', ref: 'VIRTUAL_imagenet256_labeled.npz',
 *                                   metrics: ['fid', 'sfid', 'is', 'pr'], inception: 'pt_inception-….pth' });
 *
 * Every input is checked before any network runs (files, sample count, the reference batch's stored
 * statistics); the sample features come from one pass over the samples through every network needed
 * (src/eval/feature-pass.ts), the reference's from its stored statistics or a cached pass
 * (src/eval/reference.ts).
 *
 * In a launched run (`group`), the passes are split across the ranks and their features gathered
 * (src/eval/feature-shard.ts); rank 0 alone computes the metrics, and every rank returns its record.
 */
import { createEncoder } from '../models/encoders/encoder.js';
import type { ProcessGroup } from '../torch/distributed.js';
import { broadcastJson } from '../torch/distributed-values.js';
import * as torch from '../torch/index.js';
import type { Device } from '../torch/index.js';
import { regTsVersion } from '../util/version.js';
import { encoderNetwork, inceptionNetwork, type FeatureNetwork } from './feature-pass.js';
import { shardedFeaturePass } from './feature-shard.js';
import { frechetDistanceReport, gaussianStats, type FrechetReport } from './frechet.js';
import { checkSameSize, ImageSourceError, openImageSource } from './image-source.js';
import { loadInception, type InceptionResize } from './inception.js';
import { inceptionScore, IS_SPLIT_SIZE } from './inception-score.js';
import { precisionRecall } from './precision-recall.js';
import { loadReference } from './reference.js';

/** The metrics, by name. */
export const EVAL_METRICS = ['fid', 'sfid', 'is', 'pr', 'fd-dinov2', 'fd-mobilenetv2'] as const;
export type EvalMetric = (typeof EVAL_METRICS)[number];
/** The ADM evaluator's set, `reg eval`'s default. */
export const ADM_METRICS: readonly EvalMetric[] = ['fid', 'sfid', 'is', 'pr'];

/** Everything {@link evaluate} takes. */
export interface EvaluateOptions {
  /** .npz (`arr_0`) or folder of images. */
  samples: string;
  /** Reference batch (.npz with mu/sigma/mu_s/sigma_s and arr_0), .npz of images, or folder of images. */
  ref: string;
  metrics: readonly EvalMetric[];
  /** pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (needed for fid, sfid, is, pr). */
  inception?: string;
  resize?: InceptionResize;
  /** DINOv2 weights (torch.hub .pth or HF safetensors; needed for fd-dinov2). */
  dinov2?: string;
  dinov2InputSize?: number;
  /** MobileNetV2 TF.js weights folder (default: the cached nsfwjs conversion). */
  mobilenetWeights?: string;
  mobilenetInputSize?: number;
  device?: Device;
  batchSize?: number;
  /** IS chunk size (default 5000). */
  splitSize?: number;
  /** Precision/recall neighbourhood (default 3) and block size (default 10,000). */
  prK?: number;
  prBatchSize?: number;
  /** Cache reference statistics next to the reference (default true). */
  cacheReference?: boolean;
  /** Progress: called once per feature pass with a label and the image count; returns the per-batch tick. */
  progress?: (label: string, total: number) => (n: number) => void;
  log?: (line: string) => void;
  /**
   * The process group of a launched run: each rank passes its slice of the images (progress counts
   * this rank's share), rank 0 computes the metrics and writes the reference cache, and every rank
   * returns rank 0's record. Every rank must call with the same options.
   */
  group?: ProcessGroup | null;
}

/** One metric's result. */
export type MetricResult =
  | ({ metric: 'fid' | 'sfid' | 'fd-dinov2' | 'fd-mobilenetv2'; features: string; dim: number; singular: boolean } & FrechetReport)
  | { metric: 'is'; value: number; chunks: number[]; splitSize: number }
  | { metric: 'pr'; precision: number; recall: number; k: number; referenceImages: number };

/** What {@link evaluate} returns (and `reg eval` writes as JSON). */
export interface EvaluationResult {
  regTs: string;
  createdAt: string;
  samples: { path: string; count: number; height: number; width: number; sha256: string };
  reference: { path: string; sha256: string; statistics: Record<string, string>; cache: string[] };
  settings: Required<Omit<EvaluateOptions, 'progress' | 'log' | 'group' | 'inception' | 'dinov2' | 'mobilenetWeights'>> & {
    inception: string | null;
    dinov2: string | null;
    mobilenetWeights: string | null;
  };
  networks: Record<string, Readonly<Record<string, unknown>>>;
  metrics: MetricResult[];
  warnings: string[];
  /** Processes that shared the feature passes (1 alone). */
  processes: number;
  seconds: number;
}

/** A bad combination of options (the CLI shows it as a usage error). */
export class EvaluateError extends Error {
  override name = 'EvaluateError';
}

const INCEPTION_METRICS: readonly EvalMetric[] = ['fid', 'sfid', 'is', 'pr'];

/** Evaluates samples against a reference (see the file comment). */
export async function evaluate(options: EvaluateOptions): Promise<EvaluationResult> {
  const t0 = performance.now();
  const o = {
    resize: 'tf1-legacy' as InceptionResize,
    dinov2InputSize: 224,
    mobilenetInputSize: 64,
    device: 'cpu' as Device,
    batchSize: 64,
    splitSize: IS_SPLIT_SIZE,
    prK: 3,
    prBatchSize: 10_000,
    cacheReference: true,
    ...options,
  };
  const metrics = [...new Set(o.metrics)];
  if (metrics.length === 0) throw new EvaluateError('no metric requested');
  const warnings: string[] = [];
  const log = o.log ?? (() => undefined);
  const needsInception = metrics.some((m) => INCEPTION_METRICS.includes(m));
  if (needsInception && o.inception === undefined) {
    throw new EvaluateError(
      `${metrics.filter((m) => INCEPTION_METRICS.includes(m)).join(', ')} need the FID Inception weights: --inception <pt_inception-2015-12-05-6726825d.pth>`,
    );
  }
  if (metrics.includes('fd-dinov2') && o.dinov2 === undefined) throw new EvaluateError('fd-dinov2 needs DINOv2 weights: --dinov2 <file>');

  // inputs first: nothing runs on bad input
  const samples = await openImageSource(o.samples);
  try {
    await checkSameSize(samples);
    if (samples.count < 2) throw new ImageSourceError(`${o.samples}: ${samples.count} sample(s); the statistics need at least 2`);
    if (metrics.includes('pr') && samples.count <= o.prK) {
      throw new ImageSourceError(`${o.samples}: ${samples.count} samples; precision/recall needs more than k = ${o.prK}`);
    }

    const networks = new Map<string, FeatureNetwork>();
    try {
      if (needsInception)
        networks.set('inception', inceptionNetwork(loadInception({ weights: o.inception!, device: o.device, resize: o.resize })));
      if (metrics.includes('fd-dinov2')) {
        const enc = await createEncoder('dinov2', { weights: o.dinov2!, device: o.device, inputSize: o.dinov2InputSize, log });
        networks.set('dinov2', encoderNetwork(enc));
      }
      if (metrics.includes('fd-mobilenetv2')) {
        const enc = await createEncoder('mobilenetv2', {
          inputSize: o.mobilenetInputSize,
          device: o.device,
          ...(o.mobilenetWeights ? { weights: o.mobilenetWeights } : {}),
          log,
        });
        networks.set('mobilenetv2', encoderNetwork(enc));
      }
      const encoders = [...networks.keys()].filter((n) => n !== 'inception');
      const reference = await loadReference(
        o.ref,
        { fid: metrics.includes('fid'), sfid: metrics.includes('sfid'), pr: metrics.includes('pr'), encoders },
        networks,
        { batchSize: o.batchSize, cache: o.cacheReference, group: o.group ?? null, ...(o.progress ? { progress: o.progress } : {}) },
      );
      warnings.push(...reference.warnings);

      const features = await shardedFeaturePass(samples, [...networks.values()], {
        batchSize: o.batchSize,
        group: o.group ?? null,
        label: `samples ${[...networks.keys()].join(' + ')}`,
        ...(o.progress ? { progress: o.progress } : {}),
      });
      if ((o.group?.rank ?? 0) !== 0) {
        for (const set of features.values()) for (const t of Object.values(set)) t.dispose();
        return (await broadcastJson<EvaluationResult | null>(o.group!, null))!;
      }
      const n = samples.count;
      const results: MetricResult[] = [];
      const frechet = (
        metric: 'fid' | 'sfid' | 'fd-dinov2' | 'fd-mobilenetv2',
        net: string,
        set: string,
        refStats = reference.networks.get(net)?.stats[set],
      ) => {
        const x = features.get(net)![set]!;
        const dim = x.shape[1]!;
        const singular = n <= dim;
        if (singular) {
          warnings.push(
            `${metric}: ${n} samples for ${dim} feature dimensions: the sample covariance is singular (rank ≤ ${n - 1}); the value is not comparable with one from more samples`,
          );
        }
        if (refStats!.mu.shape[0] !== dim) {
          throw new ImageSourceError(
            `${o.ref}: the reference's ${set} statistics have ${refStats!.mu.shape[0]} dimensions, the ${net} features ${dim}`,
          );
        }
        const value = frechetDistanceReport(gaussianStats(x), refStats!);
        results.push({ metric, features: `${net} ${set}`, dim, singular, ...value });
      };
      for (const metric of metrics) {
        if (metric === 'fid')
          frechet('fid', 'inception', 'pool3', reference.stored.pool3 ?? reference.networks.get('inception')?.stats.pool3);
        else if (metric === 'sfid')
          frechet('sfid', 'inception', 'spatial', reference.stored.spatial ?? reference.networks.get('inception')?.stats.spatial);
        else if (metric === 'is') {
          const s = inceptionScore(features.get('inception')!.logits!, o.splitSize);
          results.push({ metric: 'is', value: s.score, chunks: s.chunks, splitSize: o.splitSize });
        } else if (metric === 'pr') {
          const refPool3 = reference.networks.get('inception')!.pool3!;
          // the distance blocks are GEMMs: on the evaluation device
          const pr = torch.scope(() =>
            precisionRecall(refPool3.to(o.device), features.get('inception')!.pool3!.to(o.device), { k: o.prK, batchSize: o.prBatchSize }),
          );
          results.push({ metric: 'pr', ...pr, k: o.prK, referenceImages: refPool3.shape[0]! });
        } else {
          frechet(metric, metric === 'fd-dinov2' ? 'dinov2' : 'mobilenetv2', 'cls');
        }
      }
      for (const set of features.values()) for (const t of Object.values(set)) t.dispose();
      const statistics: Record<string, string> = {};
      for (const k of Object.keys(reference.stored)) statistics[k] = 'stored in the reference batch';
      for (const [name, r] of reference.networks) statistics[name] = `${r.origin}${r.count === undefined ? '' : ` from ${r.count} images`}`;
      const record: EvaluationResult = {
        regTs: regTsVersion(),
        createdAt: new Date().toISOString(),
        samples: { path: o.samples, count: n, height: samples.height, width: samples.width, sha256: samples.fingerprint() },
        reference: {
          path: o.ref,
          sha256: reference.sha256,
          statistics,
          cache: [...reference.networks.values()].flatMap((r) => (r.cache ? [r.cache] : [])),
        },
        settings: {
          samples: o.samples,
          ref: o.ref,
          metrics,
          inception: o.inception ?? null,
          resize: o.resize,
          dinov2: o.dinov2 ?? null,
          dinov2InputSize: o.dinov2InputSize,
          mobilenetWeights: o.mobilenetWeights ?? null,
          mobilenetInputSize: o.mobilenetInputSize,
          device: o.device,
          batchSize: o.batchSize,
          splitSize: o.splitSize,
          prK: o.prK,
          prBatchSize: o.prBatchSize,
          cacheReference: o.cacheReference,
        },
        networks: Object.fromEntries([...networks].map(([k, v]) => [k, v.info])),
        metrics: results,
        warnings,
        processes: o.group?.worldSize ?? 1,
        seconds: (performance.now() - t0) / 1000,
      };
      if (o.group) await broadcastJson(o.group, record);
      return record;
    } finally {
      for (const net of networks.values()) net.dispose();
    }
  } finally {
    samples.close();
  }
}
