/**
 * Pixel layout helpers for uint8 images: interleaved (HWC) to planar (CHW), padding, channel replication.
 */

/** Reorders an interleaved HWC image into planar CHW: `out[c·H·W + i] = src[i·C + c]`. */
export function hwcToChw(src: Uint8Array, height: number, width: number, channels: number): Uint8Array {
  const plane = height * width;
  if (src.length !== plane * channels) {
    throw new RangeError(`hwcToChw: expected ${plane * channels} bytes, got ${src.length}`);
  }
  if (channels === 1) return src.slice();
  const out = new Uint8Array(src.length);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < channels; c++) out[c * plane + i] = src[i * channels + c]!;
  }
  return out;
}

/**
 * Pads each plane of a CHW image to `outHeight×outWidth` with `value`, placing the image at
 * offset (⌊(outHeight−H)/2⌋, ⌊(outWidth−W)/2⌋), i.e. centred.
 */
export function padCenterChw(
  src: Uint8Array,
  channels: number,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
  value = 0,
): Uint8Array {
  if (outHeight < height || outWidth < width) {
    throw new RangeError(`padCenterChw: cannot pad ${height}x${width} to smaller ${outHeight}x${outWidth}`);
  }
  const top = Math.floor((outHeight - height) / 2);
  const left = Math.floor((outWidth - width) / 2);
  const out = new Uint8Array(channels * outHeight * outWidth).fill(value);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      const from = (c * height + y) * width;
      out.set(src.subarray(from, from + width), (c * outHeight + y + top) * outWidth + left);
    }
  }
  return out;
}

/** Repeats a single-plane image `times` times along the channel axis (gray → RGB for `times = 3`). */
export function replicatePlane(src: Uint8Array, times: number): Uint8Array {
  const out = new Uint8Array(src.length * times);
  for (let c = 0; c < times; c++) out.set(src, c * src.length);
  return out;
}
