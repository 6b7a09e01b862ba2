/**
 * Feature cache: the encoder's targets (class token and patch tokens) for every image of a dataset,
 * computed once (`reg prepare`) and read by the trainer by dataset index.
 *
 * Layout of a cache directory:
 *   manifest.json               settings (dataset, encoder info, dtype, shard size) and, per finished
 *                               shard: file, first index, count, byte size, sha256
 *   shard-00000.safetensors     images [0, S):  cls (n, C), patches (n, T, C) in float16|float32,
 *   shard-00001.safetensors     labels (n,) int32; with an autoencoder (format 2) also posterior
 *   …                           (n, 2L, h, w) float32 = [mean; std] of its posterior at x/127.5 − 1
 *                               (REPA/REG's `img-mean-std` arrays); metadata {start, count}
 *
 * Format versions: `reg-ts/feature-cache@2` adds `latents` (the autoencoder and the moment shape, or
 * null) to the manifest; caches of format 1 still open (as caches without latents).
 *
 * Writing is crash-safe and resumable: every file is written atomically (temporary file, fsync,
 * rename) and the manifest lists a shard only after its file is complete, so after a kill a rerun with
 * the same settings keeps every listed shard whose checksum still matches, recomputes the rest
 * (including a shard that was being written), and removes stale temporary files. Opening a cache for
 * reading checks sizes and (by default) checksums and names the shard that fails.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { fileSha256 } from '../util/file-sha256.js';
import { join } from 'node:path';
import type { EncoderInfo, RepresentationEncoder } from '../models/encoders/encoder.js';
import * as torch from '../torch/index.js';
import type { Device, Tensor } from '../torch/index.js';
import { loadSafetensors, SerializationError, writeSafetensorsItems } from '../torch/io/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { ProcessGroup } from '../torch/distributed.js';
import { broadcastJson } from '../torch/distributed-values.js';
import { Progress } from '../util/progress.js';
import { imageBytes, type ImageDataset } from './dataset.js';
import type { PosteriorEncoder } from './latents.js';
import { forEachConcurrent } from './pool.js';

/** `format` of manifests written by this version. */
export const FEATURE_CACHE_FORMAT = 'reg-ts/feature-cache@2';

/** Formats this version reads (1: no latents). */
const READABLE_FORMATS: readonly string[] = ['reg-ts/feature-cache@1', FEATURE_CACHE_FORMAT];

/** Name of the manifest inside a cache directory. */
export const MANIFEST_FILE = 'manifest.json';

/** Storage precision of the tokens. */
export type FeatureDType = 'float16' | 'float32';

/** The dataset a cache was computed from (its shape and classes, as JSON). */
export interface CachedDatasetInfo extends Pick<
  ImageDataset,
  'name' | 'length' | 'channels' | 'height' | 'width' | 'numClasses' | 'classNames'
> {
  /** How it was named on the command line, e.g. `fashion-mnist:train`. */
  readonly spec: string;
}

/** The autoencoder posterior a cache holds per image. */
export interface CachedLatentsInfo {
  /** The autoencoder (its {@link PosteriorEncoder.info}). */
  readonly autoencoder: PosteriorEncoder['info'];
  /** Moment shape (2L, h, w): [mean; std]. */
  readonly shape: readonly [number, number, number];
}

/** One finished shard. */
export interface ShardRecord {
  readonly index: number;
  readonly file: string;
  /** First dataset index in the shard. */
  readonly start: number;
  readonly count: number;
  readonly bytes: number;
  readonly sha256: string;
}

/** Everything that determines the cache's content (a resume must match it exactly). */
export interface FeatureCacheSettings {
  readonly format: string;
  readonly dataset: CachedDatasetInfo;
  readonly encoder: EncoderInfo;
  readonly dtype: FeatureDType;
  readonly shardSize: number;
  /** Images cached: the first `count` of the dataset. */
  readonly count: number;
  /** Patch tokens T per image. */
  readonly tokens: number;
  /** Channels C. */
  readonly dim: number;
  /** The autoencoder posterior stored beside the tokens, or null (format 1 caches: absent). */
  readonly latents: CachedLatentsInfo | null;
}

/** manifest.json. */
export interface FeatureCacheManifest extends FeatureCacheSettings {
  readonly numShards: number;
  readonly complete: boolean;
  readonly shards: readonly ShardRecord[];
}

/** Errors about a cache's files (missing, truncated, corrupt, mismatched settings). */
export class FeatureCacheError extends Error {
  override name = 'FeatureCacheError';
}

const shardFile = (i: number): string => `shard-${String(i).padStart(5, '0')}.safetensors`;
const STALE_TEMP = /^\.(shard-\d+\.safetensors|manifest\.json)\.\d+\.[0-9a-f]+\.tmp$/;

/** sha256 (hex) of a file (streamed; src/util/file-sha256.ts). */
export { fileSha256 };

/** Reads and shape-checks `dir/manifest.json`. */
export function readManifest(dir: string): FeatureCacheManifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path))
    throw new FeatureCacheError(`no feature cache at ${dir} (${MANIFEST_FILE} missing); create it with \`reg prepare\``);
  let m: FeatureCacheManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as FeatureCacheManifest;
  } catch (err) {
    throw new FeatureCacheError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (!READABLE_FORMATS.includes(m.format))
    throw new FeatureCacheError(`${path}: format ${JSON.stringify(m.format)}, expected one of ${READABLE_FORMATS.join(', ')}`);
  if (!Array.isArray(m.shards) || typeof m.count !== 'number' || typeof m.shardSize !== 'number') {
    throw new FeatureCacheError(`${path}: malformed manifest`);
  }
  return { ...m, latents: m.latents ?? null };
}

function settingsOf(m: FeatureCacheSettings): FeatureCacheSettings {
  const { format, dataset, encoder, dtype, shardSize, count, tokens, dim, latents } = m;
  return { format, dataset, encoder, dtype, shardSize, count, tokens, dim, latents };
}

/** Keys (dotted) whose values differ between two JSON values. */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) || Array.isArray(b))
    return [path || '(root)'];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) =>
    differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k),
  );
}

/** Checks one listed shard on disk: present, right size and (when `checksum`) right sha256. Returns a problem or null. */
function shardProblem(dir: string, s: ShardRecord, checksum: boolean): string | null {
  const path = join(dir, s.file);
  if (!existsSync(path)) return `${s.file} is missing`;
  const size = statSync(path).size;
  if (size !== s.bytes) return `${s.file} is truncated or altered: ${size} bytes, the manifest says ${s.bytes}`;
  if (checksum) {
    const got = fileSha256(path);
    if (got !== s.sha256) return `${s.file} is corrupt: sha256 ${got.slice(0, 16)}…, the manifest says ${s.sha256.slice(0, 16)}…`;
  }
  return null;
}

// -------------------------------------------------------------------------------------------------
// Writing
// -------------------------------------------------------------------------------------------------

/** Options of {@link prepareFeatureCache}. */
export interface PrepareFeatureCacheOptions {
  readonly dataset: ImageDataset;
  /** How the dataset is named (stored in the manifest), e.g. `fashion-mnist:train`. */
  readonly datasetSpec: string;
  readonly encoder: RepresentationEncoder;
  /** Also store the posterior moments of this autoencoder (the dataset must deliver RGB images). */
  readonly autoencoder?: PosteriorEncoder;
  /** Output directory. */
  readonly out: string;
  /** Default float16 (half the disk; targets are normalised features, far above half precision's resolution). */
  readonly dtype?: FeatureDType;
  /** Images per shard (default 4096). */
  readonly shardSize?: number;
  /** Images per encoder call (default 64). */
  readonly batchSize?: number;
  /** Cache only the first `limit` images. */
  readonly limit?: number;
  /** Show a progress bar (default true). */
  readonly progress?: boolean;
  /** Messages (default: none). */
  readonly log?: (line: string) => void;
  /**
   * Share the work with the other ranks of this group: rank r of W encodes every W-th missing shard into
   * `out` (a directory every rank sees), and rank 0 alone writes the manifest.
   */
  readonly group?: ProcessGroup;
}

/** What {@link prepareFeatureCache} did. */
export interface PrepareReport {
  readonly manifest: FeatureCacheManifest;
  /** Shards found finished and intact. */
  readonly reused: number;
  /** Shards computed now. */
  readonly computed: number;
  readonly seconds: number;
  /** Images encoded per second (this run). */
  readonly imagesPerSecond: number;
}

/**
 * Computes (or finishes) the feature cache of `dataset` under `out`. An existing cache with other
 * settings is refused (choose another directory or delete it).
 */
export async function prepareFeatureCache(options: PrepareFeatureCacheOptions): Promise<PrepareReport> {
  const t0 = performance.now();
  const { dataset, encoder, out } = options;
  const dtype = options.dtype ?? 'float16';
  const shardSize = options.shardSize ?? 4096;
  const batchSize = options.batchSize ?? 64;
  const count = Math.min(options.limit ?? dataset.length, dataset.length);
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new RangeError(`shardSize must be a positive integer, got ${shardSize}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (count < 1) throw new RangeError(`${dataset.name}: nothing to cache`);
  const { autoencoder } = options;
  if (autoencoder && dataset.channels !== 3)
    throw new FeatureCacheError(`${dataset.name} has ${dataset.channels}-channel images; the autoencoder encodes RGB`);
  const latents: CachedLatentsInfo | null = autoencoder
    ? {
        autoencoder: JSON.parse(JSON.stringify(autoencoder.info)) as PosteriorEncoder['info'],
        shape: [2 * autoencoder.latentChannels, dataset.height / autoencoder.downsampling, dataset.width / autoencoder.downsampling],
      }
    : null;
  if (latents && !latents.shape.every(Number.isInteger))
    throw new FeatureCacheError(
      `${dataset.name}: ${dataset.height}×${dataset.width} images are not a multiple of the autoencoder's downsampling ${autoencoder!.downsampling}`,
    );
  const settings: FeatureCacheSettings = {
    format: FEATURE_CACHE_FORMAT,
    dataset: {
      spec: options.datasetSpec,
      name: dataset.name,
      length: dataset.length,
      channels: dataset.channels,
      height: dataset.height,
      width: dataset.width,
      numClasses: dataset.numClasses,
      classNames: [...dataset.classNames],
    },
    encoder: JSON.parse(JSON.stringify(encoder.info)) as EncoderInfo,
    dtype,
    shardSize,
    count,
    tokens: encoder.numPatches,
    dim: encoder.dim,
    latents,
  };
  const numShards = Math.ceil(count / shardSize);
  const { group } = options;
  const lead = (group?.rank ?? 0) === 0;
  const done = new Map<number, ShardRecord>();
  if (lead) {
    mkdirSync(out, { recursive: true });
    for (const f of readdirSync(out)) if (STALE_TEMP.test(f)) unlinkSync(join(out, f));
    keepIntactShards(out, settings, done, options.log);
  }
  const manifestOf = (complete: boolean): FeatureCacheManifest => ({
    ...settings,
    numShards,
    complete,
    shards: [...done.values()].sort((a, b) => a.index - b.index),
  });
  const writeManifest = (complete: boolean): FeatureCacheManifest => {
    const manifest = manifestOf(complete);
    if (lead) writeFileAtomic(join(out, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
    return manifest;
  };
  writeManifest(done.size === numShards);
  // every rank learns from rank 0 which shards are done (rank 0 checked them)
  if (group) for (const r of await broadcastJson(group, [...done.values()])) done.set(r.index, r);
  const reused = done.size;
  const doneImages = [...done.values()].reduce((n, s) => n + s.count, 0);
  if (reused > 0) options.log?.(`${out}: ${reused}/${numShards} shards already done (${doneImages} images)`);

  const what = `${encoder.name}${autoencoder ? ' + autoencoder' : ''}`;
  const progress =
    options.progress === false || !lead ? null : new Progress(`prepare ${what}`, count, { unit: 'img', initial: doneImages });
  const bytesPerImage = imageBytes(dataset);
  const loadRange = async (start: number, n: number): Promise<{ images: Uint8Array; labels: Int32Array }> => {
    const images = new Uint8Array(n * bytesPerImage);
    const labels = new Int32Array(n);
    await forEachConcurrent(n, 16, async (k) => {
      const s = await dataset.get(start + k).catch((err: Error) => {
        throw new FeatureCacheError(
          `${err.message} (image ${start + k} of ${dataset.name}); prepare stops at an image it cannot read: remove or replace the file, then rerun with the same options (finished shards are kept)`,
        );
      });
      images.set(s.pixels, k * bytesPerImage);
      labels[k] = s.label;
    });
    return { images, labels };
  };

  let computed = 0;
  let encodedImages = 0;
  const tEncode = performance.now();
  const computeShard = async (shard: number): Promise<ShardRecord> => {
    const start = shard * shardSize;
    const n = Math.min(shardSize, count - start);
    const item = dtype === 'float16' ? 2 : 4;
    const T = encoder.numPatches;
    const C = encoder.dim;
    const clsBuf = new Uint8Array(n * C * item);
    const patchBuf = new Uint8Array(n * T * C * item);
    const momentSize = latents ? latents.shape.reduce((a, b) => a * b, 1) : 0;
    const posteriorBuf = new Float32Array(n * momentSize);
    const labels = new Int32Array(n);
    // Load batch k+1 (sharp decodes on its thread pool) while batch k is encoded.
    let next = loadRange(start, Math.min(batchSize, n));
    for (let off = 0; off < n; off += batchSize) {
      const b = Math.min(batchSize, n - off);
      const batch = await next;
      if (off + b < n) next = loadRange(start + off + b, Math.min(batchSize, n - off - b));
      labels.set(batch.labels, off);
      torch.scope(() => {
        const x = torch.fromBytes(batch.images, 'uint8', [b, dataset.channels, dataset.height, dataset.width]);
        const { cls, patches } = encoder.encode(x);
        if (patches.shape[1] !== T || patches.shape[2] !== C)
          throw new Error(`encoder returned patches [${patches.shape.join(', ')}], expected [${b}, ${T}, ${C}]`);
        clsBuf.set(cls.to({ dtype, device: 'cpu' }).toBytes(), off * C * item);
        patchBuf.set(patches.to({ dtype, device: 'cpu' }).toBytes(), off * T * C * item);
        if (autoencoder) posteriorBuf.set(autoencoder.moments(x).toTypedArray() as Float32Array, off * momentSize);
      });
      progress?.tick(b);
    }
    const file = shardFile(shard);
    const path = join(out, file);
    writeSafetensorsItems(
      path,
      [
        { name: 'cls', dtype, shape: [n, C], bytes: () => clsBuf },
        { name: 'patches', dtype, shape: [n, T, C], bytes: () => patchBuf },
        { name: 'labels', dtype: 'int32', shape: [n], bytes: () => new Uint8Array(labels.buffer) },
        ...(latents
          ? [
              {
                name: 'posterior',
                dtype: 'float32' as const,
                shape: [n, ...latents.shape],
                bytes: () => new Uint8Array(posteriorBuf.buffer),
              },
            ]
          : []),
      ],
      { start: String(start), count: String(n), format: FEATURE_CACHE_FORMAT },
    );
    return { index: shard, file, start, count: n, bytes: statSync(path).size, sha256: fileSha256(path) };
  };

  // In rounds: rank r computes shard todo[round·W + r]; then every rank's record reaches rank 0's manifest.
  const todo = Array.from({ length: numShards }, (_, i) => i).filter((i) => !done.has(i));
  const world = group?.worldSize ?? 1;
  for (let round = 0; round < todo.length; round += world) {
    const shard = todo[round + (group?.rank ?? 0)];
    const mine = shard === undefined ? null : await computeShard(shard);
    const records = group ? await gatherJson(group, mine) : [mine];
    for (const [r, rec] of records.entries()) {
      if (rec === null) continue;
      done.set(rec.index, rec);
      computed++;
      encodedImages += rec.count;
      if (r !== (group?.rank ?? 0)) progress?.tick(rec.count);
    }
    writeManifest(done.size === numShards);
  }
  const manifest = writeManifest(true);
  const seconds = (performance.now() - t0) / 1000;
  return { manifest, reused, computed, seconds, imagesPerSecond: encodedImages / Math.max((performance.now() - tEncode) / 1000, 1e-9) };
}

/** Every rank's `value`, in rank order, on every rank. */
async function gatherJson<T>(group: ProcessGroup, value: T): Promise<T[]> {
  const out: T[] = [];
  for (let r = 0; r < group.worldSize; r++) out.push(await broadcastJson(group, value, r));
  return out;
}

/** Resume: adds to `done` the shards listed in `out`'s manifest that are still intact (refuses other settings). */
function keepIntactShards(out: string, settings: FeatureCacheSettings, done: Map<number, ShardRecord>, log?: (line: string) => void): void {
  if (existsSync(join(out, MANIFEST_FILE))) {
    const old = readManifest(out);
    const diff = differences(settingsOf(old), settings);
    if (diff.length > 0) {
      throw new FeatureCacheError(
        `${out} holds a feature cache made with other settings (${diff.slice(0, 6).join(', ')} differ); use another --out or delete it`,
      );
    }
    for (const s of old.shards) {
      const problem = shardProblem(out, s, true);
      if (problem === null) done.set(s.index, s);
      else log?.(`${problem}; recomputing it`);
    }
  }
}

// -------------------------------------------------------------------------------------------------
// Reading
// -------------------------------------------------------------------------------------------------

/** Options of {@link FeatureCache.open}. */
export interface OpenFeatureCacheOptions {
  /** Check every shard's sha256 on open (default true; sizes and headers are always checked). */
  readonly verify?: boolean;
  /** dtype of the returned tokens (default float32). */
  readonly dtype?: FeatureDType;
  /** Device of the returned tokens (default cpu). */
  readonly device?: Device;
}

/** Tokens of a batch of dataset indices. */
export interface CachedFeatures {
  /** (n, C) */
  readonly cls: Tensor;
  /** (n, T, C) */
  readonly patches: Tensor;
  /** (n,) labels as stored at prepare time. */
  readonly labels: Int32Array;
  /** (n, 2L, h, w) float32 posterior moments [mean; std], or null when the cache has no latents. */
  readonly posterior: Tensor | null;
}

interface LoadedShard {
  readonly record: ShardRecord;
  readonly cls: Tensor;
  readonly patches: Tensor;
  readonly posterior: Tensor | null;
  readonly labels: Int32Array;
}

const shardTensors = (s: LoadedShard): Tensor[] => [s.cls, s.patches, ...(s.posterior ? [s.posterior] : [])];

/** A complete, verified feature cache, read by dataset index (shards memory-mapped). */
export class FeatureCache {
  readonly #shards: LoadedShard[];
  readonly #dtype: FeatureDType;
  readonly #device: Device;
  /** Labels of all cached images, in dataset order. */
  readonly labels: Int32Array;

  private constructor(
    readonly dir: string,
    readonly manifest: FeatureCacheManifest,
    shards: LoadedShard[],
    options: OpenFeatureCacheOptions,
  ) {
    this.#shards = shards;
    this.#dtype = options.dtype ?? 'float32';
    this.#device = options.device ?? 'cpu';
    this.labels = new Int32Array(manifest.count);
    for (const s of shards) this.labels.set(s.labels, s.record.start);
  }

  /**
   * Opens the cache in `dir`. Throws {@link FeatureCacheError} naming the problem when the manifest is
   * missing or incomplete, or a shard is missing, truncated, corrupt or not shaped as the manifest says.
   */
  static open(dir: string, options: OpenFeatureCacheOptions = {}): FeatureCache {
    const m = readManifest(dir);
    if (!m.complete || m.shards.length !== m.numShards) {
      throw new FeatureCacheError(
        `feature cache ${dir} is incomplete (${m.shards.length}/${m.numShards} shards); rerun \`reg prepare\` with the same options to finish it`,
      );
    }
    const shards: LoadedShard[] = [];
    try {
      m.shards.forEach((s, i) => {
        if (s.index !== i || s.start !== i * m.shardSize || s.count !== Math.min(m.shardSize, m.count - s.start)) {
          throw new FeatureCacheError(`${join(dir, MANIFEST_FILE)}: shard list is inconsistent at ${s.file}`);
        }
        const problem = shardProblem(dir, s, options.verify ?? true);
        if (problem !== null)
          throw new FeatureCacheError(`feature cache ${dir}: ${problem}; rerun \`reg prepare\` with the same options to recompute it`);
        let tensors: Map<string, Tensor>;
        try {
          tensors = loadSafetensors(join(dir, s.file), { mmap: true }).tensors;
        } catch (err) {
          if (err instanceof SerializationError)
            throw new FeatureCacheError(`feature cache ${dir}: ${s.file} is unreadable (${err.message})`);
          throw err;
        }
        const [cls, patches, labels] = [tensors.get('cls'), tensors.get('patches'), tensors.get('labels')];
        const posterior = m.latents ? tensors.get('posterior') : undefined;
        const want = (t: Tensor | undefined, shape: readonly number[], dtype: string): boolean =>
          t !== undefined && t.dtype === dtype && t.shape.join() === shape.join();
        if (
          !want(cls, [s.count, m.dim], m.dtype) ||
          !want(patches, [s.count, m.tokens, m.dim], m.dtype) ||
          !want(labels, [s.count], 'int32') ||
          (m.latents !== null && !want(posterior, [s.count, ...m.latents.shape], 'float32'))
        ) {
          for (const t of tensors.values()) t.dispose();
          throw new FeatureCacheError(
            `feature cache ${dir}: ${s.file} does not hold cls/patches/labels${m.latents ? '/posterior' : ''} shaped as the manifest says`,
          );
        }
        const labelArray = Int32Array.from(labels!.toTypedArray() as Int32Array);
        const kept = [cls!, patches!, ...(posterior ? [posterior] : [])];
        for (const t of tensors.values()) if (!kept.includes(t)) t.dispose();
        torch.keep(kept);
        shards.push({ record: s, cls: cls!, patches: patches!, posterior: posterior ?? null, labels: labelArray });
      });
    } catch (err) {
      for (const s of shards) for (const t of shardTensors(s)) t.dispose();
      throw err;
    }
    return new FeatureCache(dir, m, shards, options);
  }

  /** Number of cached images. */
  get length(): number {
    return this.manifest.count;
  }

  /** Channels C. */
  get dim(): number {
    return this.manifest.dim;
  }

  /** Patch tokens T per image. */
  get numTokens(): number {
    return this.manifest.tokens;
  }

  /** The autoencoder posterior the cache holds, or null. */
  get latents(): CachedLatentsInfo | null {
    return this.manifest.latents;
  }

  /** The encoder settings the cache was made with. */
  get encoder(): EncoderInfo {
    return this.manifest.encoder;
  }

  /** Throws unless `dataset` has the cached length (or more) and the cached labels in the same order. */
  checkDataset(dataset: ImageDataset): void {
    if (dataset.length < this.length)
      throw new FeatureCacheError(`feature cache ${this.dir} holds ${this.length} images, dataset ${dataset.name} has ${dataset.length}`);
    for (let i = 0; i < this.length; i++) {
      if (dataset.labels[i] !== this.labels[i]) {
        throw new FeatureCacheError(
          `feature cache ${this.dir} does not match dataset ${dataset.name}: label of image ${i} is ${dataset.labels[i]}, cached ${this.labels[i]}`,
        );
      }
    }
  }

  /** Tokens of the given dataset indices, in that order (float32 on the cpu unless opened otherwise). */
  get(indices: ArrayLike<number>): CachedFeatures {
    const n = indices.length;
    const size = this.manifest.shardSize;
    const groups = new Map<number, number[]>();
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = indices[k]!;
      if (!Number.isInteger(i) || i < 0 || i >= this.length)
        throw new RangeError(`feature cache: index ${i} out of range [0, ${this.length})`);
      const s = Math.floor(i / size);
      let g = groups.get(s);
      if (g === undefined) groups.set(s, (g = []));
      g.push(k);
      labels[k] = this.labels[i]!;
    }
    return torch.scope(() => {
      // rows of each tensor (cls, patches, posterior), gathered shard by shard
      const parts: Tensor[][] = [[], [], []];
      const order: number[] = [];
      for (const [s, slots] of groups) {
        const shard = this.#shards[s]!;
        const local = torch.tensor(
          slots.map((k) => indices[k]! - shard.record.start),
          { dtype: 'int64' },
        );
        shardTensors(shard).forEach((t, j) => parts[j]!.push(t.indexSelect(0, local)));
        order.push(...slots);
      }
      // rows are grouped by shard; put them back in request order
      const inverse = new Array<number>(n);
      order.forEach((k, row) => (inverse[k] = row));
      const perm = groups.size > 1 ? torch.tensor(inverse, { dtype: 'int64' }) : null;
      const gather = (p: Tensor[]): Tensor => {
        const rows = p.length === 1 ? p[0]! : torch.cat(p, 0);
        return perm ? rows.indexSelect(0, perm) : rows;
      };
      const [cls, patches, posterior] = parts.map((p) => (p.length > 0 ? gather(p) : null));
      return {
        cls: cls!.to({ dtype: this.#dtype, device: this.#device }),
        patches: patches!.to({ dtype: this.#dtype, device: this.#device }),
        labels,
        posterior: posterior ?? null,
      };
    });
  }

  /** Releases the mapped shards. */
  close(): void {
    for (const s of this.#shards) for (const t of shardTensors(s)) t.dispose();
  }
}
