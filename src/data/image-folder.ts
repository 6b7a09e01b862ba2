/**
 * A folder of images with one subfolder per class (the ImageNet / torchvision `ImageFolder` layout):
 * label = index of the class folder among the sorted folder names; files are found recursively and
 * sorted; symbolic links are followed. Each image is decoded on demand and brought to `resolution×resolution` with the official
 * `center-crop-dhariwal` transform.
 */
import { existsSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { centerCropDhariwal } from './center-crop.js';
import { checkIndex, type ImageDataset, type ImageSample } from './dataset.js';
import { decodeRgb } from './decode.js';
import { hwcToChw } from './pixels.js';

/** File extensions read by default (lower case). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif'];

/** Options of {@link openImageFolder}. */
export interface ImageFolderOptions {
  /** Folder holding one subfolder per class. */
  readonly root: string;
  /** Side of the delivered square RGB images. */
  readonly resolution: number;
  /** File extensions to include, lower case with the dot (default {@link IMAGE_EXTENSIONS}). */
  readonly extensions?: readonly string[];
}

/** Directory-entry kind, following symbolic links. */
function kind(path: string, e: Dirent): 'dir' | 'file' | 'other' {
  const st = e.isSymbolicLink() ? statSync(path, { throwIfNoEntry: false }) : e;
  if (st === undefined) return 'other';
  return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
}

/** Image files (by extension, lower-cased) under `dir`, recursively, following symbolic links; unsorted absolute paths. */
export function listImages(dir: string, extensions: ReadonlySet<string>, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    const k = kind(path, e);
    if (k === 'dir') listImages(path, extensions, out);
    else if (k === 'file' && extensions.has(extname(e.name).toLowerCase())) out.push(path);
  }
  return out;
}

/** Images of a class-per-folder tree, decoded and center-cropped on `get`. */
class ImageFolderDataset implements ImageDataset {
  readonly name: string;
  readonly length: number;
  readonly channels = 3;
  readonly height: number;
  readonly width: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly labels: Int32Array;
  /** Paths relative to the root, indexed like `get`. */
  readonly files: readonly string[];
  readonly #root: string;

  constructor(root: string, resolution: number, classNames: string[], files: string[], labels: Int32Array) {
    this.name = `image-folder:${root}`;
    this.#root = root;
    this.height = this.width = resolution;
    this.classNames = classNames;
    this.numClasses = classNames.length;
    this.files = files;
    this.labels = labels;
    this.length = files.length;
  }

  async get(index: number): Promise<ImageSample> {
    checkIndex(index, this.length, this.name);
    const img = await decodeRgb(join(this.#root, this.files[index]!), 'drop');
    const crop = centerCropDhariwal(img, this.height);
    return { pixels: hwcToChw(crop.data, crop.height, crop.width, 3), label: this.labels[index]! };
  }
}

/**
 * A dataset over listed image files (paths relative to `root`, labels given), decoded and
 * center-cropped to `resolution` on `get`: the image half of REPA/REG's preprocessed layout.
 */
export function imageFileDataset(
  root: string,
  resolution: number,
  classNames: readonly string[],
  files: readonly string[],
  labels: Int32Array,
): ImageDataset & { readonly files: readonly string[] } {
  return new ImageFolderDataset(root, resolution, [...classNames], [...files], labels);
}

/**
 * Indexes a class-per-folder image tree (no decoding yet). Throws when the root is missing, has no
 * class folders, or a class folder holds no image.
 */
export function openImageFolder(options: ImageFolderOptions): ImageDataset & { readonly files: readonly string[] } {
  const { root, resolution } = options;
  if (!Number.isInteger(resolution) || resolution < 1) throw new RangeError(`image folder: bad resolution ${resolution}`);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`image folder not found: ${root}`);
  const extensions = new Set(options.extensions ?? IMAGE_EXTENSIONS);
  const classNames = readdirSync(root, { withFileTypes: true })
    .filter((e) => kind(join(root, e.name), e) === 'dir')
    .map((e) => e.name)
    .sort();
  if (classNames.length === 0) throw new Error(`image folder ${root}: no class subfolders`);
  const files: string[] = [];
  const labels: number[] = [];
  classNames.forEach((name, label) => {
    const found = listImages(join(root, name), extensions).sort();
    if (found.length === 0) {
      throw new Error(`image folder ${root}: class folder ${name} holds no image (${[...extensions].join(' ')})`);
    }
    for (const f of found) {
      files.push(relative(root, f));
      labels.push(label);
    }
  });
  return new ImageFolderDataset(root, resolution, classNames, files, Int32Array.from(labels));
}
