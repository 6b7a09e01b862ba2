/**
 * From sampled model-space tensors to uint8 images.
 *
 * An {@link Autoencoder} maps the sampler's output (latents in the model's scaling) to images in
 * [−1, 1]; the VAE of latent runs implements it elsewhere (it owns its own latent scale, e.g.
 * z / 0.18215 for SD-VAE). Pixel-space runs use {@link PixelDecoder}. Then the official packaging
 * (generate.py; docs/method.md#decoding-to-images): u8 = uint8(clamp(255·(x + 1)/2, 0, 255)) — truncation, no +0.5 rounding.
 */
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';

/** Decodes model-space samples (B, C, h, w) into images (B, 1|3, H, W) with values in [−1, 1]. */
export interface Autoencoder {
  decode(latents: Tensor): Tensor;
}

/**
 * Identity decoder of pixel-space runs with scaling: the model saw x = (image − shift)·scale with the
 * image in [−1, 1], so image = x / scale + shift (defaults scale 1, shift 0: the identity).
 */
export class PixelDecoder implements Autoencoder {
  readonly scale: number;
  readonly shift: number;

  constructor({ scale = 1, shift = 0 }: { scale?: number; shift?: number } = {}) {
    if (!Number.isFinite(scale) || scale === 0) throw new RangeError(`pixel scale must be a non-zero finite number, got ${scale}`);
    this.scale = scale;
    this.shift = shift;
  }

  decode(x: Tensor): Tensor {
    return torch.scope(() => x.div(this.scale).add(this.shift));
  }
}

/**
 * Official packaging of decoded images: uint8(clamp(255·(x+1)/2, 0, 255)) computed in float32, NCHW →
 * NHWC, grayscale replicated to RGB. Returns a CPU uint8 tensor (B, H, W, 3). NaN becomes 0.
 */
export function toUint8Images(images: Tensor): Tensor {
  if (images.ndim !== 4 || (images.shape[1] !== 1 && images.shape[1] !== 3)) {
    throw new RangeError(`decoded images must be (B, 1|3, H, W), got [${images.shape.join(', ')}]`);
  }
  return torch.scope(() => {
    let x = images.to('float32');
    if (x.shape[1] === 1) x = x.expand(x.shape[0]!, 3, x.shape[2]!, x.shape[3]!);
    x = x.add(1).div(2).mul(255);
    x = torch.where(x.isnan(), 0, x).clamp(0, 255);
    return x.permute(0, 2, 3, 1).contiguous().to({ dtype: 'uint8', device: 'cpu' });
  });
}
