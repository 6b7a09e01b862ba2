/**
 * Noto Color Emoji images from the npm package `emoji-datasource-google` (16.0.0: 3,786 PNGs of 64×64
 * RGBA under `img/google/64/`, metadata in `emoji.json`), flattened onto white and labelled by their
 * Unicode category, their subcategory, or each by its own name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ImageDataset } from './dataset.js';
import { decodeRgb } from './decode.js';
import { InMemoryDataset } from './memory-dataset.js';
import { hwcToChw } from './pixels.js';
import { forEachConcurrent } from './pool.js';
import { resizeHWC } from './resample.js';

/** The npm package holding the images. */
export const EMOJI_PACKAGE = 'emoji-datasource-google';

/** Side of the PNGs under `img/google/64/`. */
export const EMOJI_SIZE = 64;

/**
 * What an emoji's class is: its Unicode `category` (9 in use, e.g. "Animals & Nature"), its
 * `subcategory` (e.g. "animal-mammal"), or its `name` (its short name, e.g. "dog": one class per
 * emoji, its skin tones included).
 */
export type EmojiLabels = 'category' | FineEmojiLabels;

/** The labellings finer than the category, each shown and scored by its category ({@link emojiCategoryGroups}). */
export const FINE_EMOJI_LABELS = ['subcategory', 'name'] as const;

/** One of {@link FINE_EMOJI_LABELS}. */
export type FineEmojiLabels = (typeof FINE_EMOJI_LABELS)[number];

/** Whether `labels` names a labelling finer than the category. */
export const isFineEmojiLabels = (labels: unknown): labels is FineEmojiLabels => FINE_EMOJI_LABELS.includes(labels as FineEmojiLabels);

/** The training source (`--data`) of the emoji images under a finer labelling: `emoji-<labels>`. */
export const fineEmojiSourceName = (labels: FineEmojiLabels): string => `emoji-${labels}`;

/** Options of {@link loadEmoji}. */
export interface EmojiOptions {
  /** Root of an `emoji-datasource-google` layout (`emoji.json`, `img/google/64/`); default: the installed package. */
  readonly dir?: string;
  /** The classes (default `category`). */
  readonly labels?: EmojiLabels;
  /** Classes with fewer images are left out, e.g. "Component" (default 10). */
  readonly minPerClass?: number;
  /** Images of categories with fewer images are left out whatever the labels (default 0: none). */
  readonly minPerCategory?: number;
  /** Include the skin-tone variations (default false: they are recoloured copies, and would make "People & Body" 60 % of the set). */
  readonly skinTones?: boolean;
  /** Side of the delivered square images (default 64; other sizes use Pillow-exact bicubic). */
  readonly resolution?: number;
  /** Images decoded concurrently (default 8). */
  readonly concurrency?: number;
}

/**
 * A finer labelling over exactly the images of the default category labelling: every class, however
 * small, of the categories with at least 10 images (`emoji-subcategory` and `emoji-name` in training).
 */
export const fineEmojiLabels = (labels: FineEmojiLabels) =>
  ({ labels, minPerClass: 1, minPerCategory: 10 }) as const satisfies EmojiOptions;

/** The fields of an `emoji.json` entry used here. */
interface EmojiEntry {
  readonly image: string;
  readonly category: string;
  readonly subcategory: string;
  readonly short_name: string;
  readonly sort_order: number;
  readonly has_img_google: boolean;
  readonly skin_variations?: Record<string, { readonly image: string; readonly has_img_google: boolean }>;
}

/** One image file with its class key and Unicode sort position. */
interface EmojiFile {
  readonly file: string;
  readonly key: string;
  readonly order: number;
}

/** The keys with at least `min` files, in the order of their first file. */
function frequentKeys(files: readonly EmojiFile[], min: number): string[] {
  const counts = new Map<string, number>();
  for (const f of files) counts.set(f.key, (counts.get(f.key) ?? 0) + 1);
  return [...counts.keys()].filter((k) => counts.get(k)! >= min);
}

/** Directory of the installed `emoji-datasource-google` package. */
export function defaultEmojiDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${EMOJI_PACKAGE}/package.json`));
  } catch {
    throw new Error(`npm package ${EMOJI_PACKAGE} is not installed: run \`npm install\` in reg-ts or pass the directory`);
  }
}

/** The class key of an entry under a labelling. */
const classKey = (e: EmojiEntry, by: EmojiLabels): string => (by === 'name' ? e.short_name : e[by]);

function listFiles(entries: readonly EmojiEntry[], by: EmojiLabels, skinTones: boolean): EmojiFile[] {
  const files: EmojiFile[] = [];
  for (const e of entries) {
    const key = classKey(e, by);
    if (e.has_img_google) files.push({ file: e.image, key, order: e.sort_order });
    if (!skinTones || e.skin_variations === undefined) continue;
    for (const tone of Object.keys(e.skin_variations).sort()) {
      const v = e.skin_variations[tone]!;
      if (v.has_img_google) files.push({ file: v.image, key, order: e.sort_order });
    }
  }
  return files.sort((a, b) => a.order - b.order);
}

/** The parsed `emoji.json` of `dir`, and where it is (for messages). */
interface EmojiMetadata {
  readonly metaPath: string;
  readonly entries: readonly EmojiEntry[];
}

function readMetadata(dir: string): EmojiMetadata {
  const metaPath = join(dir, 'emoji.json');
  if (!existsSync(metaPath)) {
    throw new Error(`emoji metadata not found: ${metaPath} (expected an ${EMOJI_PACKAGE} package directory)`);
  }
  return { metaPath, entries: JSON.parse(readFileSync(metaPath, 'utf8')) as EmojiEntry[] };
}

/** The images and classes that `options` select, from the metadata alone. */
function listEmoji(options: EmojiOptions, { metaPath, entries }: EmojiMetadata) {
  const by = options.labels ?? 'category';
  const minPerClass = options.minPerClass ?? 10;
  const skinTones = options.skinTones ?? false;
  const categories = new Set(frequentKeys(listFiles(entries, 'category', skinTones), options.minPerCategory ?? 0));
  const all = listFiles(
    entries.filter((e) => categories.has(e.category)),
    by,
    skinTones,
  );
  const classNames = frequentKeys(all, minPerClass);
  if (classNames.length === 0) throw new Error(`${metaPath}: no ${by} has at least ${minPerClass} images`);
  const classIndex = new Map(classNames.map((k, i) => [k, i]));
  return { by, classNames, classIndex, files: all.filter((f) => classIndex.has(f.key)) };
}

/**
 * Decodes the emoji images into memory and returns them as an {@link ImageDataset} (3×R×R, CHW).
 * Images are in Unicode order (skin tones after their base emoji); classes are ordered by their first
 * emoji in that order.
 */
export async function loadEmoji(options: EmojiOptions = {}): Promise<ImageDataset> {
  const dir = options.dir ?? defaultEmojiDir();
  const res = options.resolution ?? EMOJI_SIZE;
  const { by, classNames, classIndex, files } = listEmoji(options, readMetadata(dir));

  const imgDir = join(dir, 'img', 'google', String(EMOJI_SIZE));
  const bytes = 3 * res * res;
  const pixels = new Uint8Array(files.length * bytes);
  await forEachConcurrent(files.length, options.concurrency ?? 8, async (i) => {
    const img = await decodeRgb(join(imgDir, files[i]!.file), 'white');
    if (img.width !== EMOJI_SIZE || img.height !== EMOJI_SIZE) {
      throw new Error(`${files[i]!.file}: expected ${EMOJI_SIZE}×${EMOJI_SIZE}, got ${img.width}×${img.height}`);
    }
    const hwc = res === EMOJI_SIZE ? img.data : resizeHWC(img.data, img.width, img.height, 3, res, res, 'bicubic');
    pixels.set(hwcToChw(hwc, res, res, 3), i * bytes);
  });
  return new InMemoryDataset({
    name: `emoji/${by}`,
    classNames,
    labels: Int32Array.from(files, (f) => classIndex.get(f.key)!),
    pixels,
    stored: { channels: 3, height: res, width: res },
  });
}

/** The categories of a finer labelling's classes (`emojiCategoryGroups`). */
export interface EmojiCategoryGroups {
  /** Class names of `loadEmoji()`, the default category labelling. */
  categories: readonly string[];
  /** For each class of `loadEmoji(fineEmojiLabels(labels))`, the index of its category. */
  parents: Int32Array;
}

/**
 * The category of each class of the finer labelling `labels`, for showing and scoring its samples by
 * category; `dir` as in {@link EmojiOptions} (undefined or '': the installed package).
 */
export function emojiCategoryGroups(labels: FineEmojiLabels, dir?: string): EmojiCategoryGroups {
  const meta = readMetadata(dir || defaultEmojiDir());
  const { classNames: fine } = listEmoji(fineEmojiLabels(labels), meta);
  const { classNames: categories, classIndex } = listEmoji({}, meta);
  const parent = new Map(meta.entries.map((e) => [classKey(e, labels), e.category]));
  const parents = Int32Array.from(fine, (name) => {
    const i = classIndex.get(parent.get(name) ?? '');
    if (i === undefined) throw new RangeError(`emoji ${labels} '${name}' belongs to no category of the default labelling`);
    return i;
  });
  return { categories, parents };
}
