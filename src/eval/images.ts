/**
 * Image files for sample outputs: PNG encode/decode through sharp, per-image PNGs written so that a
 * killed run never leaves a truncated file, and image grids laid out as torchvision's `make_grid`.
 */
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/** An interleaved 8-bit image (HWC). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

function checkImage(img: RgbImage): void {
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new RangeError(
      `image of ${img.width}x${img.height}x${img.channels} needs ${img.width * img.height * img.channels} bytes, got ${img.data.length}`,
    );
  }
}

/** Encodes an image as PNG (lossless; default zlib level 6). */
export async function encodePng(img: RgbImage, { compressionLevel = 6 } = {}): Promise<Buffer> {
  checkImage(img);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } })
    .png({ compressionLevel })
    .toBuffer();
}

/**
 * Writes a PNG so that `file` either does not exist or is complete, even if the process is killed:
 * a temporary file beside it, then a rename (no fsync: safe against kills, not against power loss).
 */
export async function writePng(file: string, img: RgbImage, opts: { compressionLevel?: number } = {}): Promise<void> {
  const png = await encodePng(img, opts);
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, png);
  renameSync(tmp, file);
}

/** Decodes a PNG (or any format sharp reads) into 8-bit RGB (alpha dropped, gray replicated). */
export async function readRgb(file: string | Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
}

/** Options of {@link makeGrid}. */
export interface GridOptions {
  /** Images per row (default ⌈√n⌉). */
  nrow?: number;
  /** Pixels between and around images (default 2, as make_grid). */
  padding?: number;
  /** Value of the padding pixels (default 0). */
  padValue?: number;
}

/**
 * Lays out n equally sized RGB images (one N×H×W×3 buffer, or a list) in a grid: ⌈n/nrow⌉ rows of
 * nrow, each image at (row·(H+p) + p, col·(W+p) + p) — the geometry of torchvision's make_grid.
 */
export function makeGrid(images: readonly RgbImage[], opts: GridOptions = {}): RgbImage {
  const n = images.length;
  if (n === 0) throw new RangeError('makeGrid: no images');
  const { width: w, height: h } = images[0]!;
  for (const img of images) {
    checkImage(img);
    if (img.width !== w || img.height !== h || img.channels !== 3)
      throw new RangeError('makeGrid: images must all be RGB of the same size');
  }
  const p = opts.padding ?? 2;
  const cols = Math.min(opts.nrow ?? Math.ceil(Math.sqrt(n)), n);
  const rows = Math.ceil(n / cols);
  const W = cols * (w + p) + p;
  const H = rows * (h + p) + p;
  const out = new Uint8Array(W * H * 3).fill(opts.padValue ?? 0);
  images.forEach((img, k) => {
    const top = Math.floor(k / cols) * (h + p) + p;
    const left = (k % cols) * (w + p) + p;
    for (let y = 0; y < h; y++) out.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), ((top + y) * W + left) * 3);
  });
  return { data: out, width: W, height: H, channels: 3 };
}

/** Splits an N×H×W×3 uint8 buffer into N images (views, no copy). */
export function splitBatch(data: Uint8Array, n: number, height: number, width: number): RgbImage[] {
  const size = height * width * 3;
  if (data.length !== n * size) throw new RangeError(`splitBatch: ${data.length} bytes is not ${n} images of ${height}x${width}x3`);
  return Array.from({ length: n }, (_, i) => ({ data: data.subarray(i * size, (i + 1) * size), width, height, channels: 3 as const }));
}
