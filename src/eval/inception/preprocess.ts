/**
 * From uint8 images to the Inception's input (N, 3, 299, 299) in [−1, 1], in one of two ways:
 *
 *   tf1-legacy (default)  what the TF graph of the ADM evaluator does inside: TF1 `ResizeBilinear`
 *                         (align_corners=False, no half-pixel centres) of the 0…255 values to 299, then
 *                         (x − 128)/128. Per axis, output index o reads src = o · (in/out) in float32,
 *                         lo = ⌊src⌋, hi = min(lo + 1, in − 1), λ = src − lo; top = tl + (tr − tl)·λx,
 *                         bottom = bl + (br − bl)·λx, out = top + (bottom − top)·λy.
 *   pytorch               pytorch-fid's: x/255, `F.interpolate(bilinear, align_corners=False)` to 299,
 *                         then 2x − 1 (not equal to the TF graph's values).
 */
import * as F from '../../torch/functional.js';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { INCEPTION_INPUT_SIZE } from './network.js';

/** The two resizes. */
export const INCEPTION_RESIZES = ['tf1-legacy', 'pytorch'] as const;
export type InceptionResize = (typeof INCEPTION_RESIZES)[number];

/** Each resize in words (recorded with every result). */
export const RESIZE_DESCRIPTIONS: Readonly<Record<InceptionResize, string>> = {
  'tf1-legacy': 'TF1 legacy bilinear (src = dst·in/out, no half-pixel offset) to 299 on 0..255, then (x − 128)/128',
  pytorch: 'x/255, bilinear (align_corners=False) to 299, then 2x − 1 (pytorch-fid)',
};

/** Source rows (or columns) and weights of the TF1 legacy bilinear resize of one axis from `n` to `size`. */
export function tf1LegacyAxis(n: number, size: number): { lo: Int32Array; hi: Int32Array; lerp: Float32Array } {
  const scale = Math.fround(n / size);
  const lo = new Int32Array(size);
  const hi = new Int32Array(size);
  const lerp = new Float32Array(size);
  for (let o = 0; o < size; o++) {
    const src = Math.fround(o * scale);
    const l = Math.floor(src);
    lo[o] = l;
    hi[o] = Math.min(l + 1, n - 1);
    lerp[o] = src - l;
  }
  return { lo, hi, lerp };
}

/** TF1 legacy `ResizeBilinear` of float32 images (N, C, H, W) to (N, C, size, size). */
export function resizeTf1Legacy(x: Tensor, size = INCEPTION_INPUT_SIZE): Tensor {
  return torch.scope(() => {
    const device = x.device;
    const axis = (n: number) => {
      const a = tf1LegacyAxis(n, size);
      const idx = (v: Int32Array) => torch.fromBytes(v, 'int32', [size]).to({ dtype: 'int64', device });
      return { lo: idx(a.lo), hi: idx(a.hi), lerp: torch.fromBytes(a.lerp, 'float32', [size]).to(device) };
    };
    const ys = axis(x.shape[2]!);
    const xs = axis(x.shape[3]!);
    const lx = xs.lerp.view(1, 1, 1, size);
    const ly = ys.lerp.view(1, 1, size, 1);
    const across = (rows: Tensor) => {
      const left = rows.indexSelect(3, xs.lo);
      return left.add(rows.indexSelect(3, xs.hi).sub(left).mul(lx));
    };
    const top = across(x.indexSelect(2, ys.lo));
    const bottom = across(x.indexSelect(2, ys.hi));
    return top.add(bottom.sub(top).mul(ly));
  });
}

/**
 * The network input for uint8 images (N, 3, H, W) (grey (N, 1, H, W) is repeated to RGB): float32
 * (N, 3, 299, 299) on the images' device, by `resize`.
 */
export function inceptionInput(images: Tensor, resize: InceptionResize = 'tf1-legacy'): Tensor {
  if (images.dtype !== 'uint8' || images.ndim !== 4 || (images.shape[1] !== 3 && images.shape[1] !== 1)) {
    throw new TypeError(`Inception input must be uint8 (N, 3 | 1, H, W) images, got ${images.dtype} [${images.shape.join(', ')}]`);
  }
  return torch.scope(() => {
    let x = images.to('float32');
    if (x.shape[1] === 1) x = x.expand(-1, 3, -1, -1);
    if (resize === 'tf1-legacy') return resizeTf1Legacy(x).sub(128).div(128);
    const unit = F.interpolate(x.div(255), { size: INCEPTION_INPUT_SIZE, mode: 'bilinear', alignCorners: false });
    return unit.mul(2).sub(1);
  });
}
