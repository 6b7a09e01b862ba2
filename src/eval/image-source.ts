/**
 * Images to evaluate, read in index ranges so that a 50,000-image batch never has to sit in memory and
 * a process can take one slice of it:
 *
 *   .npz     `arr_0` uint8 (N, H, W, 3) (or (N, H, W, 1) / (N, H, W)), as `reg sample`, ADM's sample
 *            scripts and the reference batches write it; a stored (uncompressed) member is read with
 *            positioned reads, a compressed one is inflated once into memory
 *   folder   the PNG/JPEG/WebP files directly in it, in sorted name order, decoded to RGB; every image
 *            must have the size of the first
 *
 * Every batch comes out as uint8 NHWC bytes with 3 channels (grey repeated). `fingerprint()` is the
 * sha256 of what was read (the .npz file's bytes; the folder's names and file bytes), recorded with
 * every result and in the keys of cached reference statistics.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { FileSource } from '../torch/io/source.js';
import { parseNpyHeader } from '../torch/io/npy.js';
import { fileSha256 } from '../util/file-sha256.js';
import { readRgb } from './images.js';
import { listNpz, readNpz } from './npz.js';

/** A set of same-size images, read by index range. */
export interface ImageSource {
  /** The .npz file or folder. */
  readonly path: string;
  readonly kind: 'npz' | 'folder';
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** uint8 NHWC RGB bytes of images [start, start + n). */
  read(start: number, n: number): Promise<Uint8Array>;
  /** sha256 of the source's bytes (see the file comment); computed once. */
  fingerprint(): string;
  /** Releases the open file. */
  close(): void;
}

/** Bad evaluation input: a file or folder that is not a set of images. */
export class ImageSourceError extends Error {
  override name = 'ImageSourceError';
}

const IMAGE_FILE = /\.(png|jpe?g|webp)$/i;

/** Repeats grey (1 channel) to RGB; 3 channels are returned as they are. */
function toRgb(data: Uint8Array, channels: number): Uint8Array {
  if (channels === 3) return data;
  const out = new Uint8Array(data.length * 3);
  for (let i = 0; i < data.length; i++) out.fill(data[i]!, i * 3, i * 3 + 3);
  return out;
}

/** The `arr_0` images of an .npz. */
function openNpz(file: string): ImageSource {
  const member = listNpz(file).find((m) => m.name === 'arr_0');
  if (member === undefined) throw new ImageSourceError(`${file}: no 'arr_0' member (the images of a sample or reference batch)`);
  const src = new FileSource(file);
  let header: ReturnType<typeof parseNpyHeader>;
  let inMemory: Uint8Array | undefined;
  try {
    if (member.compression === 0) header = parseNpyHeader(src.read(member.dataOffset, Math.min(member.size, 1 << 16)));
    else {
      const arr = readNpz(file).get('arr_0')!;
      header = { dtype: arr.dtype, shape: [...arr.shape], fortranOrder: false, dataOffset: 0 };
      inMemory = arr.data;
    }
  } catch (e) {
    src.close();
    throw new ImageSourceError(`${file}: member 'arr_0': ${(e as Error).message}`, { cause: e });
  }
  const { dtype, shape, fortranOrder } = header;
  const [n, h, w, c = 1] = shape;
  if (dtype !== 'uint8' || shape.length < 3 || shape.length > 4 || (c !== 1 && c !== 3) || fortranOrder) {
    src.close();
    throw new ImageSourceError(
      `${file}: 'arr_0' is ${dtype} [${shape.join(', ')}]${fortranOrder ? ' in Fortran order' : ''}, expected uint8 images (N, H, W, 3) in C order`,
    );
  }
  const per = h! * w! * c;
  const base = member.dataOffset + header.dataOffset;
  let sha: string | undefined;
  return {
    path: file,
    kind: 'npz',
    count: n!,
    height: h!,
    width: w!,
    read: async (start, m) => {
      const bytes = inMemory ? inMemory.subarray(start * per, (start + m) * per) : src.read(base + start * per, m * per);
      return toRgb(bytes, c);
    },
    fingerprint: () => (sha ??= fileSha256(file)),
    close: () => src.close(),
  };
}

/** The image files of a folder (sorted), all of one size. */
async function openFolder(dir: string): Promise<ImageSource> {
  const files = readdirSync(dir)
    .filter((f) => IMAGE_FILE.test(f))
    .sort()
    .map((f) => path.join(dir, f));
  if (files.length === 0) throw new ImageSourceError(`${dir}: no PNG, JPEG or WebP images in the folder`);
  const decode = async (file: string) => {
    try {
      return await readRgb(file);
    } catch (e) {
      throw new ImageSourceError(`${file}: not a readable image (${(e as Error).message})`, { cause: e });
    }
  };
  const first = await decode(files[0]!);
  const { height, width } = first;
  let sha: string | undefined;
  return {
    path: dir,
    kind: 'folder',
    count: files.length,
    height,
    width,
    read: async (start, m) => {
      const out = new Uint8Array(m * height * width * 3);
      for (let i = 0; i < m; i++) {
        const file = files[start + i]!;
        const img = await decode(file);
        if (img.height !== height || img.width !== width) {
          throw new ImageSourceError(
            `${dir}: images of mixed sizes: ${path.basename(file)} is ${img.width}×${img.height}, ${path.basename(files[0]!)} is ${width}×${height}`,
          );
        }
        out.set(img.data, i * height * width * 3);
      }
      return out;
    },
    fingerprint: () => {
      if (sha === undefined) {
        const hash = createHash('sha256');
        for (const f of files) hash.update(`${path.basename(f)}\0`).update(readFileSync(f));
        sha = hash.digest('hex');
      }
      return sha;
    },
    close: () => undefined,
  };
}

/** Opens an .npz (its `arr_0`) or a folder of images. */
export async function openImageSource(p: string): Promise<ImageSource> {
  let isDir: boolean;
  try {
    isDir = statSync(p).isDirectory();
  } catch {
    throw new ImageSourceError(`${p}: no such file or folder`);
  }
  if (isDir) return openFolder(p);
  if (!p.endsWith('.npz')) throw new ImageSourceError(`${p}: expected an .npz (arr_0 images) or a folder of images`);
  return openNpz(p);
}

/**
 * Checks every image size of a folder source up front (cheap: image headers only), so that mixed
 * sizes fail before any feature is computed.
 */
export async function checkSameSize(source: ImageSource): Promise<void> {
  if (source.kind !== 'folder') return;
  const sharp = (await import('sharp')).default;
  const files = readdirSync(source.path)
    .filter((f) => IMAGE_FILE.test(f))
    .sort();
  for (const f of files) {
    const meta = await sharp(path.join(source.path, f)).metadata();
    if (meta.width !== source.width || meta.height !== source.height) {
      throw new ImageSourceError(
        `${source.path}: images of mixed sizes: ${f} is ${meta.width}×${meta.height}, ${files[0]} is ${source.width}×${source.height}`,
      );
    }
  }
}
