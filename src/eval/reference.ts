/**
 * The reference side of `reg eval`.
 *
 * A reference batch (an .npz with `mu`, as the ADM evaluator's `VIRTUAL_imagenet256_labeled.npz`)
 * is used as it is: FID takes its stored `mu`/`sigma` (pool3, 2048), sFID its `mu_s`/`sigma_s`
 * (spatial, 2023); a missing one is an error naming the file and the member. What it does not store —
 * the pool3 features of its `arr_0` images for precision/recall, the DINOv2 and MobileNetV2
 * statistics — is computed from `arr_0`.
 *
 * Any other reference (an .npz with only `arr_0`, or a folder of images) has everything computed from
 * its images. Computed results are cached next to the reference, one pair of files per network:
 * `<ref>.reg-eval-<network>-<key>.npz` (the arrays) and `.json` (the settings that produced them),
 * where key = sha256 of {the reference's sha256, the network's info but its weights' path (their sha256
 * counts)}; a later run with the same
 * reference and settings reads the cache instead of the images.
 *
 * In a launched run (a process group), rank 0 decides which networks the cache lacks, the ranks share
 * their pass (src/eval/feature-shard.ts), rank 0 alone computes the statistics and writes the cache,
 * and the others wait at a barrier until it is written. The other ranks compute no metrics: their
 * Reference holds no statistics and no hash.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { fileSha256 } from '../util/file-sha256.js';
import { createHash } from 'node:crypto';
import type { ProcessGroup } from '../torch/distributed.js';
import { broadcastJson } from '../torch/distributed-values.js';
import type { FeatureNetwork, FeatureSet } from './feature-pass.js';
import { shardedFeaturePass } from './feature-shard.js';
import { gaussianStats, type GaussianStats } from './frechet.js';
import { ImageSourceError, openImageSource, type ImageSource } from './image-source.js';
import { listNpz, readNpzArrays, writeNpz, type NpyArray } from './npz.js';

/** Version of the cache files' content. */
const CACHE_FORMAT = 1;

/** The statistics (and, for precision/recall, the features) of one network on the reference. */
export interface NetworkReference {
  /** Per feature set: its Gaussian statistics (inception: pool3, spatial; encoders: cls). */
  stats: Record<string, GaussianStats>;
  /** pool3 features of the reference images (inception only), for precision/recall. */
  pool3?: Tensor;
  /** Images they were computed from (undefined for stored statistics). */
  count?: number;
  /** Where they came from. */
  origin: 'stored in the reference batch' | 'computed' | 'cache';
  /** The cache file, when one was read or written. */
  cache?: string;
}

/** The reference as `reg eval` uses it. */
export interface Reference {
  readonly path: string;
  /** sha256 of the reference file (or of the folder's names and files). */
  readonly sha256: string;
  /** Statistics stored in the reference batch (FID: pool3; sFID: spatial), if it has any. */
  readonly stored: Partial<Record<'pool3' | 'spatial', GaussianStats>>;
  /** By network name. */
  readonly networks: Map<string, NetworkReference>;
  readonly warnings: string[];
}

/** What the metrics need from the reference. */
export interface ReferenceNeeds {
  /** Stored or computed pool3 statistics. */
  fid: boolean;
  /** Stored or computed spatial statistics. */
  sfid: boolean;
  /** pool3 features of the reference images. */
  pr: boolean;
  /** Encoder networks whose statistics are computed from the images (dinov2, mobilenetv2). */
  encoders: readonly string[];
}

const STORED = { pool3: ['mu', 'sigma'], spatial: ['mu_s', 'sigma_s'] } as const;

const toTensor = (a: NpyArray): Tensor => torch.fromBytes(a.data, a.dtype, a.shape).to('float64');
const toNpy = (t: Tensor): NpyArray => ({ dtype: t.dtype as NpyArray['dtype'], shape: t.shape, data: t.contiguous().toBytes() });

/** The statistics a reference batch stores (`mu`, `sigma`, `mu_s`, `sigma_s`), checked for shape. */
function readStored(file: string): { stored: Reference['stored']; members: string[] } {
  const members = listNpz(file).map((m) => m.name);
  const arrays = readNpzArrays(file, ['mu', 'sigma', 'mu_s', 'sigma_s']);
  const stored: Reference['stored'] = {};
  for (const [kind, [mu, sigma]] of Object.entries(STORED) as [keyof typeof STORED, readonly [string, string]][]) {
    const m = arrays.get(mu);
    const s = arrays.get(sigma);
    if (m === undefined || s === undefined) continue;
    const d = m.shape[0];
    if (m.shape.length !== 1 || s.shape.join() !== `${d},${d}`) {
      throw new ImageSourceError(
        `${file}: '${mu}' [${m.shape.join(', ')}] and '${sigma}' [${s.shape.join(', ')}] are not a mean (D) and a covariance (D, D)`,
      );
    }
    stored[kind] = { mu: toTensor(m), sigma: toTensor(s) };
  }
  return { stored, members };
}

/** The cache files of one network on one reference. */
function cachePaths(refPath: string, refSha: string, net: FeatureNetwork): { npz: string; json: string; key: string } {
  // the weights count by their sha256, not by where the file lies
  const settings = Object.fromEntries(Object.entries(net.info).filter(([k]) => k !== 'weights'));
  const key = createHash('sha256')
    .update(JSON.stringify({ format: CACHE_FORMAT, reference: refSha, network: settings }))
    .digest('hex')
    .slice(0, 16);
  const base = `${refPath.replace(/\/+$/, '')}.reg-eval-${net.name}-${key}`;
  return { npz: `${base}.npz`, json: `${base}.json`, key };
}

function readCache(paths: { npz: string; json: string; key: string }, net: FeatureNetwork): NetworkReference | undefined {
  if (!existsSync(paths.npz) || !existsSync(paths.json)) return undefined;
  try {
    const meta = JSON.parse(readFileSync(paths.json, 'utf8')) as { key?: string; count?: number; sets?: string[] };
    if (meta.key !== paths.key || !Array.isArray(meta.sets)) return undefined;
    const arrays = readNpzArrays(paths.npz, [...meta.sets.flatMap((s) => [`${s}.mu`, `${s}.sigma`]), 'pool3']);
    const stats: Record<string, GaussianStats> = {};
    for (const s of meta.sets) stats[s] = { mu: toTensor(arrays.get(`${s}.mu`)!), sigma: toTensor(arrays.get(`${s}.sigma`)!) };
    const pool3 = arrays.get('pool3');
    return {
      stats,
      ...(net.name === 'inception' && pool3 ? { pool3: torch.fromBytes(pool3.data, 'float32', pool3.shape) } : {}),
      ...(meta.count === undefined ? {} : { count: meta.count }),
      origin: 'cache',
      cache: paths.npz,
    };
  } catch {
    return undefined; // a damaged cache is recomputed
  }
}

function writeCache(
  paths: { npz: string; json: string; key: string },
  ref: NetworkReference,
  net: FeatureNetwork,
  refPath: string,
  refSha: string,
): void {
  const arrays: Record<string, NpyArray> = {};
  for (const [s, g] of Object.entries(ref.stats)) {
    arrays[`${s}.mu`] = toNpy(g.mu);
    arrays[`${s}.sigma`] = toNpy(g.sigma);
  }
  if (ref.pool3) arrays.pool3 = toNpy(ref.pool3);
  writeNpz(paths.npz, arrays);
  const meta = {
    format: CACHE_FORMAT,
    key: paths.key,
    reference: refPath,
    referenceSha256: refSha,
    count: ref.count,
    sets: Object.keys(ref.stats),
    network: net.info,
  };
  writeFileAtomic(paths.json, `${JSON.stringify(meta, null, 2)}\n`);
}

/** The network reference from freshly computed features. */
function fromFeatures(net: FeatureNetwork, features: FeatureSet, count: number): NetworkReference {
  const sets = net.name === 'inception' ? ['pool3', 'spatial'] : ['cls'];
  const stats = Object.fromEntries(sets.map((s) => [s, torch.keep(gaussianStats(features[s]!))]));
  for (const [k, t] of Object.entries(features)) if (!(net.name === 'inception' && k === 'pool3')) t.dispose();
  return { stats, ...(net.name === 'inception' ? { pool3: features.pool3! } : {}), count, origin: 'computed' };
}

/** Options of {@link loadReference}. */
export interface ReferenceOptions {
  batchSize?: number;
  /** Read and write the cache next to the reference (default true). */
  cache?: boolean;
  /** A progress callback factory: called once per pass with its label and image count; returns the per-batch tick. */
  progress?: (label: string, total: number) => (n: number) => void;
  /** The process group of a launched run (see the file comment). */
  group?: ProcessGroup | null;
}

/**
 * The reference statistics the metrics need (see the file comment). `networks` are the networks by
 * name (inception, dinov2, mobilenetv2); only those whose features are needed are run.
 */
export async function loadReference(
  refPath: string,
  needs: ReferenceNeeds,
  networks: ReadonlyMap<string, FeatureNetwork>,
  { batchSize = 64, cache = true, progress, group = null }: ReferenceOptions = {},
): Promise<Reference> {
  const lead = (group?.rank ?? 0) === 0;
  const isNpz = !statSync(refPath).isDirectory();
  const { stored, members } = isNpz ? readStored(refPath) : { stored: {}, members: [] as string[] };
  const isBatch = members.includes('mu') || members.includes('mu_s');
  if (isBatch) {
    const lacking = (kind: keyof typeof STORED, metric: string) => {
      if (stored[kind] === undefined) {
        throw new ImageSourceError(
          `${refPath}: reference batch has no '${STORED[kind][0]}'/'${STORED[kind][1]}' (needed for ${metric}); it has ${members.map((m) => `'${m}'`).join(', ')}`,
        );
      }
    };
    if (needs.fid) lacking('pool3', 'fid');
    if (needs.sfid) lacking('spatial', 'sfid');
  }
  const wanted = [...(needs.pr || (!isBatch && (needs.fid || needs.sfid)) ? ['inception'] : []), ...needs.encoders].map((name) => {
    const net = networks.get(name);
    if (net === undefined) throw new Error(`loadReference: no '${name}' network given`);
    return net;
  });
  const result = { path: refPath, stored, networks: new Map<string, NetworkReference>(), warnings: [] as string[] };
  // stored statistics only: the file's hash is still recorded
  if (wanted.length === 0) {
    if (!lead) return { ...result, sha256: '' };
    if (isNpz) return { ...result, sha256: fileSha256(refPath) };
    const folder = await openImageSource(refPath);
    folder.close();
    return { ...result, sha256: folder.fingerprint() };
  }

  let source: ImageSource;
  try {
    source = await openImageSource(refPath);
  } catch (e) {
    const why = [needs.pr ? 'pr' : '', ...needs.encoders.map((n) => `fd-${n}`)].filter(Boolean).join(', ');
    throw new ImageSourceError(
      `${(e as Error).message}${isBatch ? ` (the reference batch's images are needed for ${why || 'the metrics'})` : ''}`,
      { cause: e },
    );
  }
  try {
    const sha = lead ? source.fingerprint() : '';
    let todo: FeatureNetwork[] = [];
    if (lead) {
      for (const net of wanted) {
        const paths = cachePaths(refPath, sha, net);
        const hit = cache ? readCache(paths, net) : undefined;
        if (hit) result.networks.set(net.name, hit);
        else todo.push(net);
      }
    }
    if (group) {
      const names = await broadcastJson(
        group,
        todo.map((n) => n.name),
      );
      todo = wanted.filter((n) => names.includes(n.name));
    }
    if (todo.length > 0) {
      const label = `reference ${todo.map((n) => n.name).join(' + ')}`;
      const features = await shardedFeaturePass(source, todo, { batchSize, group, label, ...(progress ? { progress } : {}) });
      for (const net of todo) {
        if (!lead) {
          for (const t of Object.values(features.get(net.name)!)) t.dispose();
          continue;
        }
        const ref = fromFeatures(net, features.get(net.name)!, source.count);
        if (cache) {
          const paths = cachePaths(refPath, sha, net);
          try {
            writeCache(paths, ref, net, refPath, sha);
            ref.cache = paths.npz;
          } catch (e) {
            result.warnings.push(`could not cache the reference statistics next to ${refPath}: ${(e as Error).message}`);
          }
        }
        result.networks.set(net.name, ref);
      }
      // the cache is written before any rank goes on
      if (group) await group.barrier().wait();
    }
    return { ...result, sha256: sha };
  } finally {
    source.close();
  }
}
