/**
 * Image tensors as the encoders take them: uint8 (B, C, H, W) with C = 1 or 3 (pixels 0…255, as
 * the datasets deliver them), or a floating tensor of the same shape with values in [0, 1] (e.g.
 * generated samples mapped from [−1, 1] by (x + 1) / 2). Both become float32 RGB in [0, 1] here;
 * each encoder then resizes and normalises as its model expects.
 */
import * as torch from '../../torch/index.js';
import type { Device, Tensor } from '../../torch/index.js';

/**
 * float32 (B, 3, H, W) in [0, 1] on `device` from uint8 pixels (÷255) or floats in [0, 1] (kept as
 * given); a single channel is replicated to RGB. Throws on any other shape or dtype.
 */
export function toUnitRgb(images: Tensor, device: Device): Tensor {
  if (images.ndim !== 4 || (images.shape[1] !== 1 && images.shape[1] !== 3)) {
    throw new RangeError(`encoder input must be (B, 1|3, H, W), got [${images.shape.join(', ')}]`);
  }
  const uint8 = images.dtype === 'uint8';
  if (!uint8 && !torch.isFloatingPoint(images.dtype)) {
    throw new TypeError(`encoder input must be uint8 (0…255) or floating point (0…1), got ${images.dtype}`);
  }
  return torch.scope(() => {
    let x = images.to({ device, dtype: 'float32' });
    if (uint8) x = x.div(255);
    if (x.shape[1] === 1) x = x.expand(x.shape[0]!, 3, x.shape[2]!, x.shape[3]!).contiguous();
    return x === images ? x.clone() : x;
  });
}

/** Resizes (B, C, H, W) to size×size unless it already has that size (then returns it as is). */
export function resizeSquare(x: Tensor, size: number, opts: Omit<torch.F.InterpolateOptions, 'size' | 'scaleFactor'>): Tensor {
  if (x.shape[2] === size && x.shape[3] === size) return x;
  return torch.F.interpolate(x, { ...opts, size: [size, size] });
}
