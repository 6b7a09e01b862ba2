/**
 * Image resizing that reproduces Pillow's `Image.resize` bit for bit on 8-bit images (Pillow 9.4,
 * `libImaging/Resample.c`), so that preprocessing matches the official Python pipelines exactly.
 *
 * Separable convolution: a horizontal pass, rounding to uint8, then a vertical pass. For output pixel
 * `i` of a side scaled from `n` to `m` (`s = n/m`, `f = max(s, 1)`), the filter is centred on
 * `c = (i + 0.5)·s` with support `r·f`, and input pixel `j` gets weight `K((j − c + 0.5)/f)`,
 * normalised to sum 1 and quantised to 22 fractional bits.
 */

/** Pillow resampling filters supported here. */
export type ResampleFilter = 'box' | 'bilinear' | 'bicubic';

interface Filter {
  readonly support: number;
  readonly kernel: (x: number) => number;
}

const FILTERS: Record<ResampleFilter, Filter> = {
  box: { support: 0.5, kernel: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    kernel: (x) => {
      const a = Math.abs(x);
      return a < 1 ? 1 - a : 0;
    },
  },
  // Keys cubic with a = -0.5.
  bicubic: {
    support: 2,
    kernel: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;

/** Integer taps of one resampling pass: for output `i`, inputs `start[i] … start[i]+count[i]-1`. */
interface Taps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly width: number;
  readonly weights: Int32Array;
}

function computeTaps(inSize: number, outSize: number, filter: Filter): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const width = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * width);
  const k = new Float64Array(width);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      k[j] = filter.kernel((j + lo - center + 0.5) / filterScale);
      sum += k[j]!;
    }
    for (let j = 0; j < n; j++) {
      const w = sum !== 0 ? k[j]! / sum : k[j]!;
      weights[i * width + j] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    start[i] = lo;
    count[i] = n;
  }
  return { start, count, width, weights };
}

function clip8(acc: number): number {
  if (acc >= ONE * 256) return 255;
  if (acc <= 0) return 0;
  return Math.floor(acc / ONE);
}

function resizeRows(src: Uint8Array, width: number, height: number, ch: number, outWidth: number, taps: Taps): Uint8Array {
  const out = new Uint8Array(outWidth * height * ch);
  for (let y = 0; y < height; y++) {
    const row = y * width * ch;
    for (let x = 0; x < outWidth; x++) {
      const lo = taps.start[x]!;
      const n = taps.count[x]!;
      const wOff = x * taps.width;
      for (let c = 0; c < ch; c++) {
        let acc = ONE / 2;
        for (let j = 0; j < n; j++) acc += src[row + (lo + j) * ch + c]! * taps.weights[wOff + j]!;
        out[(y * outWidth + x) * ch + c] = clip8(acc);
      }
    }
  }
  return out;
}

function resizeColumns(src: Uint8Array, width: number, ch: number, outHeight: number, taps: Taps): Uint8Array {
  const stride = width * ch;
  const out = new Uint8Array(outHeight * stride);
  for (let y = 0; y < outHeight; y++) {
    const lo = taps.start[y]!;
    const n = taps.count[y]!;
    const wOff = y * taps.width;
    for (let i = 0; i < stride; i++) {
      let acc = ONE / 2;
      for (let j = 0; j < n; j++) acc += src[(lo + j) * stride + i]! * taps.weights[wOff + j]!;
      out[y * stride + i] = clip8(acc);
    }
  }
  return out;
}

/**
 * Resizes an interleaved (HWC) uint8 image from `width×height` to `outWidth×outHeight` exactly as
 * Pillow's `Image.resize((outWidth, outHeight), filter)` does for modes L and RGB.
 */
export function resizeHWC(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  filter: ResampleFilter,
): Uint8Array {
  if (src.length !== width * height * channels) {
    throw new RangeError(`resizeHWC: expected ${width * height * channels} bytes, got ${src.length}`);
  }
  if (!(outWidth >= 1 && outHeight >= 1)) throw new RangeError(`resizeHWC: bad output size ${outWidth}x${outHeight}`);
  const f = FILTERS[filter];
  let img = src;
  if (outWidth !== width) img = resizeRows(img, width, height, channels, outWidth, computeTaps(width, outWidth, f));
  if (outHeight !== height) img = resizeColumns(img, outWidth, channels, outHeight, computeTaps(height, outHeight, f));
  return img === src ? src.slice() : img;
}
