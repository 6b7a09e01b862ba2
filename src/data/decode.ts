/**
 * Image file decoding through sharp (libvips) into interleaved 8-bit RGB.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { checkPngChunks, isPng } from './png-chunks.js';
import type { HwcImage } from './center-crop.js';

/** What to do with an alpha channel. */
export type AlphaMode =
  /** Drop it, keeping the colour under transparent pixels (Pillow's `convert('RGB')`). */
  | 'drop'
  /** Composite the image onto white: `out = round((α·c + (255 − α)·255) / 255)`. */
  | 'white';

/** Composites interleaved RGBA onto white, returning RGB (formula of {@link AlphaMode} `white`). */
export function flattenOnWhite(rgba: Uint8Array): Uint8Array {
  const n = rgba.length / 4;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = rgba[4 * i + 3]!;
    const bg = 255 * (255 - a) + 127;
    for (let c = 0; c < 3; c++) out[3 * i + c] = Math.floor((rgba[4 * i + c]! * a + bg) / 255);
  }
  return out;
}

/**
 * Decodes an image file (PNG, JPEG, WebP, …) into 8-bit sRGB HWC pixels with 3 channels;
 * grayscale is replicated. Orientation metadata is ignored, as Pillow ignores it. A PNG's chunk CRCs are
 * checked first (png-chunks.ts): a damaged PNG is an error, not an image with wrong pixels.
 */
export async function decodeRgb(path: string, alpha: AlphaMode): Promise<HwcImage> {
  try {
    const file = readFileSync(path);
    if (isPng(file)) checkPngChunks(file);
    const base = sharp(file, { failOn: 'error' });
    const img = alpha === 'white' ? base.ensureAlpha() : base.removeAlpha();
    const { data, info } = await img.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const expected = alpha === 'white' ? 4 : 3;
    if (info.channels !== expected) throw new Error(`decoded to ${info.channels} channels, expected ${expected}`);
    const rgb = alpha === 'white' ? flattenOnWhite(bytes) : bytes;
    return { data: rgb, width: info.width, height: info.height, channels: 3 };
  } catch (err) {
    throw new Error(`cannot decode image ${path}: ${(err as Error).message}`);
  }
}
