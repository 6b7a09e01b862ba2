/**
 * The ADM / EDM2 `center-crop-dhariwal` transform (guided-diffusion `center_crop_arr`), used by REG's
 * ImageNet preprocessing:
 *
 * 1. while min(W, H) ≥ 2·res: resize to (⌊W/2⌋, ⌊H/2⌋) with Pillow's BOX filter;
 * 2. resize with Pillow's BICUBIC filter to (round(W·s), round(H·s)), s = res / min(W, H), where round
 *    is Python's round-half-to-even;
 * 3. crop res×res at (⌊(H−res)/2⌋, ⌊(W−res)/2⌋).
 */
import { resizeHWC } from './resample.js';

/** An interleaved (HWC) uint8 image. */
export interface HwcImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/** Python 3 `round(x)`: nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Applies `center-crop-dhariwal` to `img`, returning a `resolution×resolution` HWC image. */
export function centerCropDhariwal(img: HwcImage, resolution: number): HwcImage {
  let { data, width, height } = img;
  const ch = img.channels;
  while (Math.min(width, height) >= 2 * resolution) {
    const w2 = Math.floor(width / 2);
    const h2 = Math.floor(height / 2);
    data = resizeHWC(data, width, height, ch, w2, h2, 'box');
    width = w2;
    height = h2;
  }
  const scale = resolution / Math.min(width, height);
  const w = roundHalfEven(width * scale);
  const h = roundHalfEven(height * scale);
  if (w !== width || h !== height) data = resizeHWC(data, width, height, ch, w, h, 'bicubic');
  const top = Math.floor((h - resolution) / 2);
  const left = Math.floor((w - resolution) / 2);
  const out = new Uint8Array(resolution * resolution * ch);
  for (let y = 0; y < resolution; y++) {
    const from = ((y + top) * w + left) * ch;
    out.set(data.subarray(from, from + resolution * ch), y * resolution * ch);
  }
  return { data: out, width: resolution, height: resolution, channels: ch };
}
