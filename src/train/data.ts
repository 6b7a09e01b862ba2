/**
 * Training data as the trainer sees it: a {@link BatchSource} yields micro-batches of
 *
 *   x            (B, C, H, W) float   clean latents (or pixels), already scaled for the model
 *   y            (B,)         int64   class labels
 *   clsTarget    (B, Dz)      float   the encoder's class token (REG's entangled signal), or null
 *   alignTarget  (B, T', Dz)  float   alignment targets [cls; patch features] (T' = N+1 for REG), or null
 *
 * and a JSON position that, handed back to the factory, makes a new source continue with exactly the
 * batches the old one would have produced next (that is how `--resume` stays bit-exact). Whether the
 * encoder features are precomputed or computed per batch is the source's business.
 *
 * Sources are found by name: 'synthetic' is built in (for tests and benchmarks). The dataset sources
 * live a layer up, in src/data, and are registered from there with {@link registerSource}
 * (`registerDatasetSources()` of src/data/train-sources.ts, which the CLI calls): imports only point
 * down, so this module never loads them itself.
 */
import * as torch from '../torch/index.js';
import type { Device, Tensor } from '../torch/index.js';
import type { SiTConfig } from '../models/configs.js';
import { hasAlign, hasClsInput, hasToken } from '../models/variant.js';
import type { TrainConfig } from './config.js';
import { shardPositions } from '../util/shard.js';
import { drawPerSample, mixSeed } from './sample-random.js';

export { mixSeed } from './sample-random.js';

/** One micro-batch. */
export interface TrainBatch {
  x: Tensor;
  y: Tensor;
  clsTarget: Tensor | null;
  alignTarget: Tensor | null;
}

/** A JSON value (a source's position). */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** An endless stream of micro-batches with a restorable position. */
export interface BatchSource {
  /** Short description for logs, e.g. `synthetic 4×8×8`, `fashion-mnist/train + mobilenet-v2`. */
  readonly name: string;
  /** The next micro-batch (tensors belong to the caller). */
  next(): Promise<TrainBatch>;
  /** Position of the batch next() returns next: pass it as `start` to continue from here. */
  position(): Json;
  /** Epoch of the next batch, when the source has epochs (for the metrics). */
  epoch?(): number;
  /** Stops background work. */
  close(): void | Promise<void>;
}

/** What a source factory is given. */
export interface SourceContext {
  /** The full training configuration (dataDir, encoder, seed, …). */
  config: Readonly<TrainConfig>;
  /** The model being trained (input size and channels, classes, zDims, variant, patch size). */
  model: Readonly<SiTConfig>;
  /** Images per micro-batch on this process. */
  microBatch: number;
  /**
   * This process's share of a data-parallel run (default: alone). The global micro-batch is
   * microBatch·worldSize samples, split as util/shard.ts says; positions count global samples, so a run
   * resumes with any number of processes.
   */
  shard?: { rank: number; worldSize: number };
  /** Where the trainer runs (a source may return CPU tensors; the trainer moves them). */
  device: Device;
  /** Position to start from (from a checkpoint), or null for the beginning. */
  start: Json;
}

/** Builds a source. */
export type SourceFactory = (ctx: SourceContext) => BatchSource | Promise<BatchSource>;

/** Thrown for a source name nobody registered, or a dataset that cannot be found. */
export class DataSourceError extends Error {
  override name = 'DataSourceError';
}

const registry = new Map<string, SourceFactory>();

/** Makes `factory` available as `--data <name>` (a second registration of a name replaces the first). */
export function registerSource(name: string, factory: SourceFactory): void {
  registry.set(name, factory);
}

/** Creates the source registered as `name`. */
export async function createSource(name: string, ctx: SourceContext): Promise<BatchSource> {
  const factory = registry.get(name);
  if (!factory)
    throw new DataSourceError(
      `unknown data source '${name}'; known: ${[...registry.keys()].join(', ')} (dataset sources: registerDatasetSources() from src/data)`,
    );
  return factory(ctx);
}

// =================================================================================================
//                                        Synthetic source
// =================================================================================================

/**
 * Deterministic random data shaped for `model`: each class has a fixed mean image, class token and
 * feature vector; a sample is its class's values plus Gaussian noise, so a model can learn something.
 * Sample n (global micro-batch k holds n = k·G … k·G + G − 1, G = microBatch·worldSize) draws its label
 * and noises from its own generator seeded by (seed, n), so the data do not depend on the number of
 * processes. The position is k.
 */
export class SyntheticSource implements BatchSource {
  readonly name: string;
  readonly #model: Readonly<SiTConfig>;
  readonly #globalBatch: number;
  readonly #mine: number[];
  readonly #seed: number;
  readonly #device: Device;
  readonly #means: { x: Tensor; cls: Tensor; feat: Tensor };
  #k: number;

  constructor(ctx: Pick<SourceContext, 'model' | 'microBatch' | 'device' | 'start' | 'shard'> & { seed: number }) {
    const m = (this.#model = ctx.model);
    const { rank, worldSize } = ctx.shard ?? { rank: 0, worldSize: 1 };
    this.#globalBatch = ctx.microBatch * worldSize;
    this.#mine = shardPositions(this.#globalBatch, rank, worldSize);
    this.#seed = ctx.seed;
    this.#device = ctx.device;
    const start = ctx.start as { batch?: unknown } | null;
    if (start !== null && !(typeof start === 'object' && Number.isSafeInteger(start.batch) && (start.batch as number) >= 0)) {
      throw new DataSourceError(`synthetic source: bad start position ${JSON.stringify(start)} (expected {"batch": k})`);
    }
    this.#k = start === null ? 0 : (start.batch as number);
    const g = new torch.Generator(mixSeed(this.#seed, 0x5eed));
    const dz = m.zDims[0] ?? 1;
    this.#means = torch.keep(
      torch.scope(() => ({
        x: torch.randn([m.numClasses, m.inChannels, m.inputSize, m.inputSize], { generator: g }),
        cls: torch.randn([m.numClasses, dz], { generator: g }),
        feat: torch.randn([m.numClasses, 1, dz], { generator: g }),
      })),
    );
    this.name = `synthetic ${m.inChannels}×${m.inputSize}×${m.inputSize}, ${m.numClasses} classes`;
  }

  async next(): Promise<TrainBatch> {
    const k = this.#k++;
    const m = this.#model;
    const dz = m.zDims[0] ?? 1;
    const T = (m.inputSize / m.patchSize) ** 2;
    const keys = this.#mine.map((p) => k * this.#globalBatch + p);
    return torch.scope(() => {
      const d = drawPerSample(this.#seed, 0xda7a, keys, (generator) => ({
        y: torch.randint(0, m.numClasses, [1], { generator }),
        x: torch.randn([1, m.inChannels, m.inputSize, m.inputSize], { generator }),
        cls: torch.randn([1, dz], { generator }),
        feat: torch.randn([1, T, dz], { generator }),
      }));
      const B = keys.length;
      const x = this.#means.x.indexSelect(0, d.y).add(d.x, 0.5);
      const signal = hasToken(m) ? this.#means.cls.indexSelect(0, d.y).add(d.cls, 0.1) : null;
      const clsTarget = hasClsInput(m) ? signal : null;
      let alignTarget: Tensor | null = null;
      if (hasAlign(m)) {
        const feats = this.#means.feat.indexSelect(0, d.y).expand(B, T, dz).add(d.feat, 0.5);
        alignTarget = signal ? torch.cat([signal.unsqueeze(1), feats], 1) : feats;
      }
      const out: TrainBatch = { x, y: d.y, clsTarget, alignTarget };
      if (this.#device === 'cpu') return out;
      return {
        x: x.to({ device: this.#device }),
        y: d.y.to({ device: this.#device }),
        clsTarget: clsTarget?.to({ device: this.#device }) ?? null,
        alignTarget: alignTarget?.to({ device: this.#device }) ?? null,
      };
    });
  }

  position(): Json {
    return { batch: this.#k };
  }

  close(): void {
    for (const t of Object.values(this.#means)) t.dispose();
  }
}

// Deterministic Gaussian class clusters shaped for the model (tests, benchmarks).
registerSource('synthetic', (ctx) => new SyntheticSource({ ...ctx, seed: ctx.config.seed }));
