/**
 * REPA/REG's own preprocessed ImageNet (`preprocessing/dataset_tools.py convert` then `encode`), read
 * as it lies on disk, so users who already ran it keep their files:
 *
 *   data_dir/images/ (REPA) or data_dir/imagenet_256_vae/ (REG)   00000/img00000000.png …  256×256 crops
 *   data_dir/vae-sd/dataset.json                                  {"labels": [["00000/img-mean-std-00000000.npy", 0], …]}
 *   data_dir/vae-sd/00000/img-mean-std-00000000.npy               (8, 32, 32) float32 [mean; std] (sd-vae-ft-mse)
 *
 * As the official `CustomDataset`: image and .npy names are each sorted and paired by position; the
 * label of pair i is the one dataset.json gives its .npy file.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { readNpy } from '../torch/io/npy.js';
import { DataSourceError } from '../train/data.js';
import type { ImageDataset } from './dataset.js';
import { IMAGE_EXTENSIONS, imageFileDataset, listImages } from './image-folder.js';
import type { MomentsProvider } from './latents.js';

/** The image folders REPA (`images`) and REG (`imagenet_256_vae`) write. */
export const REPA_IMAGE_DIRS = ['images', 'imagenet_256_vae'] as const;

/** The folder of the posterior moments and their dataset.json. */
export const REPA_FEATURES_DIR = 'vae-sd';

/** Whether `dataDir` looks like REPA/REG's preprocessed layout (it has vae-sd/dataset.json). */
export function isRepaLayout(dataDir: string): boolean {
  return existsSync(join(dataDir, REPA_FEATURES_DIR, 'dataset.json'));
}

/** Sorted paths relative to `dir`, with forward slashes (as dataset.json names them). */
function sortedRelative(dir: string, extensions: readonly string[]): string[] {
  return listImages(dir, new Set(extensions))
    .map((f) => relative(dir, f).split(sep).join('/'))
    .sort();
}

/** REPA/REG's layout under a data directory: the images and the moments of each. */
export interface RepaLayout {
  readonly dataset: ImageDataset;
  readonly moments: MomentsProvider;
}

/**
 * Opens REPA/REG's layout in `dataDir`; images are delivered at `resolution` (the ADM crop, the
 * identity on the stored 256×256 crops). Throws a DataSourceError naming the file when a folder or
 * dataset.json is missing or malformed, the image and .npy counts differ, a .npy has no label, or the
 * first .npy is not a float32 (2C, h, w) array.
 */
export function openRepaLayout(dataDir: string, resolution: number): RepaLayout {
  const imageDir = REPA_IMAGE_DIRS.map((d) => join(dataDir, d)).find((d) => existsSync(d) && statSync(d).isDirectory());
  if (imageDir === undefined)
    throw new DataSourceError(
      `${dataDir}: REPA/REG layout without its images (${REPA_IMAGE_DIRS.join('/ or ')}/ beside ${REPA_FEATURES_DIR}/)`,
    );
  const featureDir = join(dataDir, REPA_FEATURES_DIR);
  const jsonPath = join(featureDir, 'dataset.json');
  let labelOf: Map<string, number>;
  try {
    const parsed = JSON.parse(readFileSync(jsonPath, 'utf8')) as { labels?: unknown };
    if (!Array.isArray(parsed.labels)) throw new Error('no "labels" list');
    labelOf = new Map(
      parsed.labels.map((entry: unknown) => {
        if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Number.isInteger(entry[1]) || (entry[1] as number) < 0)
          throw new Error(`bad entry ${JSON.stringify(entry)?.slice(0, 80)} (expected [file, label ≥ 0])`);
        return [entry[0], entry[1] as number];
      }),
    );
  } catch (err) {
    throw new DataSourceError(`${jsonPath}: ${(err as Error).message}`);
  }
  const imageFiles = sortedRelative(imageDir, IMAGE_EXTENSIONS);
  const npyFiles = sortedRelative(featureDir, ['.npy']);
  if (npyFiles.length === 0) throw new DataSourceError(`${featureDir}: no .npy files`);
  if (imageFiles.length !== npyFiles.length)
    throw new DataSourceError(`${dataDir}: ${imageFiles.length} images in ${imageDir} but ${npyFiles.length} .npy files in ${featureDir}`);
  const labels = Int32Array.from(npyFiles, (f) => {
    const label = labelOf.get(f);
    if (label === undefined) throw new DataSourceError(`${jsonPath} gives no label for ${f}`);
    return label;
  });
  const numClasses = labels.reduce((m, l) => Math.max(m, l + 1), 0);
  const classNames = Array.from({ length: numClasses }, (_, i) => String(i));
  const dataset = imageFileDataset(imageDir, resolution, classNames, imageFiles, labels);

  const first = readNpy(join(featureDir, npyFiles[0]!));
  if (first.dtype !== 'float32' || first.shape.length !== 3 || first.shape[0]! % 2 !== 0)
    throw new DataSourceError(
      `${join(featureDir, npyFiles[0]!)}: ${first.dtype} [${first.shape.join(', ')}], expected float32 (2C, h, w) moments [mean; std]`,
    );
  const shape = first.shape as [number, number, number];
  const size = shape[0] * shape[1] * shape[2];
  const moments: MomentsProvider = {
    description: `posterior moments ${featureDir} (${npyFiles.length} × ${shape.join('×')})`,
    shape,
    moments(indices: Int32Array): Tensor {
      const out = new Float32Array(indices.length * size);
      indices.forEach((i, k) => {
        const path = join(featureDir, npyFiles[i]!);
        const a = readNpy(path);
        if (a.dtype !== 'float32' || a.shape.join() !== shape.join())
          throw new DataSourceError(`${path}: ${a.dtype} [${a.shape.join(', ')}], expected float32 [${shape.join(', ')}] like the others`);
        out.set(new Float32Array(a.data.slice().buffer), k * size);
      });
      return torch.fromBytes(out, 'float32', [indices.length, ...shape]);
    },
    close: () => undefined,
  };
  return { dataset, moments };
}
