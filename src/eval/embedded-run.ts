/**
 * {@link embeddedSampleScores} for a finished sampling run (`reg sample` or `reg demo` output): the
 * samples (`samples.npz` `arr_0`), the classes they were generated for (`samples.json` `labels`) and,
 * through the checkpoint that `samples.json` names, the embedded dataset its model was trained on:
 *
 *   data = fashion-mnist | emoji                        that dataset (and its dataDir)
 *   data = emoji-subcategory | emoji-name               emoji, the requested classes scored by their category
 *   data = imagenet256 over a feature cache of one      the dataset the cache was prepared from (reg demo --latent)
 *
 * MobileNetV2 runs at the FD protocol's 64 px (FD_INPUT_SIZE), whatever size the run's targets used.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readManifest, type FeatureCacheManifest } from '../data/feature-cache.js';
import { emojiCategoryGroups, FINE_EMOJI_LABELS, fineEmojiSourceName, type FineEmojiLabels } from '../data/emoji.js';
import { readCheckpointConfig } from '../models/checkpoint.js';
import { readNpz } from './npz.js';
import type { EmbeddedDataset } from './class-consistency.js';
import { embeddedSampleScores, type EmbeddedSampleScores } from './embedded-scores.js';

/** The embedded dataset a run trained on, with its directory ('' = the installed package); null for any other data. */
export interface RunDataset {
  dataset: EmbeddedDataset;
  dataDir: string;
  /**
   * The run's classes are emoji subcategories (`emoji-subcategory`) or single emoji (`emoji-name`):
   * samples are scored by their category. Null when the classes are the scored ones.
   */
  fineLabels: FineEmojiLabels | null;
}

const EMBEDDED: readonly EmbeddedDataset[] = ['fashion-mnist', 'emoji'];

/** The embedded dataset behind a training data name, or null. */
function embeddedData(name: unknown): Pick<RunDataset, 'dataset' | 'fineLabels'> | null {
  const fine = FINE_EMOJI_LABELS.find((labels) => fineEmojiSourceName(labels) === name);
  if (fine) return { dataset: 'emoji', fineLabels: fine };
  return EMBEDDED.includes(name as EmbeddedDataset) ? { dataset: name as EmbeddedDataset, fineLabels: null } : null;
}

function cacheAt(dir: unknown): FeatureCacheManifest | null {
  return typeof dir === 'string' && dir !== '' && existsSync(path.join(dir, 'manifest.json')) ? readManifest(dir) : null;
}

/** The embedded dataset of the training configuration `train` (a checkpoint's `train`), or null. */
export function runDataset(train: Readonly<Record<string, unknown>>): RunDataset | null {
  const data = train['data'];
  const direct = embeddedData(data);
  if (direct) return { ...direct, dataDir: typeof train['dataDir'] === 'string' ? train['dataDir'] : '' };
  // a latent run (reg demo --latent) reads the feature cache of an embedded dataset
  const cache = cacheAt(train['encoder']) ?? cacheAt(train['dataDir']);
  const viaCache = data === 'imagenet256' ? embeddedData(cache?.dataset.spec.split(':')[0]) : null;
  return viaCache ? { ...viaCache, dataDir: '' } : null;
}

/**
 * The classes that `labels` (requested classes of a run on `found`) are scored as: their emoji
 * category for a run on a finer labelling, else themselves.
 */
export function scoredLabels(labels: readonly number[], found: RunDataset): Int32Array {
  if (!found.fineLabels) return Int32Array.from(labels);
  const { parents } = emojiCategoryGroups(found.fineLabels, found.dataDir);
  return Int32Array.from(labels, (l) => {
    const p = parents[l];
    if (p === undefined) throw new RangeError(`requested class ${l} is not one of the ${parents.length} emoji ${found.fineLabels} classes`);
    return p;
  });
}

/** Options of {@link embeddedRunScores}. */
export interface EmbeddedRunScoresOptions {
  /** The dataset's directory (default: the run's, else the installed package). */
  dataDir?: string;
  /** MobileNetV2 weights folder (default: the cached nsfwjs conversion). */
  encoderWeights?: string;
  /** Directory of the cached classifiers (default `<cache>/classifiers`). */
  classifierCacheDir?: string;
  log?: (line: string) => void;
}

/** The fields of a samples.json that name the checkpoint the samples came from. */
export interface SamplesRecord {
  settings?: { checkpoint?: unknown };
  checkpoint?: unknown;
}

/** The checkpoint a samples.json names: `settings.checkpoint` (reg sample) or `checkpoint` (reg demo); undefined if neither. */
export function recordedCheckpoint(record: SamplesRecord): string | undefined {
  const c = record.settings?.checkpoint ?? record.checkpoint;
  return typeof c === 'string' ? c : undefined;
}

/** What {@link embeddedRunScores} measured, and on which dataset. */
export type EmbeddedRunScores = EmbeddedSampleScores & Pick<RunDataset, 'dataset' | 'dataDir'>;

/**
 * FD-MobileNetV2 and class consistency of the samples in `samplesDir` (a folder with samples.npz and
 * samples.json), or null when their model was not trained on an embedded dataset.
 */
export async function embeddedRunScores(samplesDir: string, o: EmbeddedRunScoresOptions = {}): Promise<EmbeddedRunScores | null> {
  const recordFile = path.join(samplesDir, 'samples.json');
  const npzFile = path.join(samplesDir, 'samples.npz');
  for (const f of [recordFile, npzFile]) if (!existsSync(f)) throw new Error(`${f} not found (expected the output folder of reg sample)`);
  // the record names the checkpoint; labels are the requested classes
  const record = JSON.parse(readFileSync(recordFile, 'utf8')) as SamplesRecord & { labels?: unknown };
  const checkpoint = recordedCheckpoint(record);
  if (checkpoint === undefined)
    throw new Error(`${recordFile}: no "settings.checkpoint" or "checkpoint" field; the dataset of the samples is unknown`);
  if (!Array.isArray(record.labels) || !record.labels.every((l) => Number.isInteger(l)))
    throw new Error(`${recordFile}: "labels" must be the list of requested classes`);
  const train = readCheckpointConfig(checkpoint).train;
  const found = train ? runDataset(train) : null;
  if (!found) return null;
  const samples = readNpz(npzFile).get('arr_0');
  if (!samples || samples.dtype !== 'uint8' || samples.shape.length !== 4 || samples.shape[3] !== 3)
    throw new Error(
      `${npzFile}: arr_0 must be uint8 (N, H, W, 3), got ${samples ? `${samples.dtype} [${samples.shape.join(', ')}]` : 'nothing'}`,
    );
  const dataDir = o.dataDir ?? found.dataDir;
  const scores = await embeddedSampleScores({
    dataset: found.dataset,
    samples,
    labels: scoredLabels(record.labels as number[], { ...found, dataDir }),
    ...(dataDir ? { dataDir } : {}),
    ...(o.encoderWeights ? { encoderWeights: o.encoderWeights } : {}),
    ...(o.classifierCacheDir ? { classifierCacheDir: o.classifierCacheDir } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  return { ...scores, dataset: found.dataset, dataDir };
}
