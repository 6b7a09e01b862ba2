/**
 * Images by global index: the uint8 images of a sampling run for a set of image indices, the same
 * whichever batch an index is drawn in.
 *
 *   x_T, c_T and the SDE noises of image i   from (seed, i) alone (see noise.ts)
 *   x_0 = sampler(x_T, c_T, y_i)             SDE / Euler / Heun with guidance (samplers.ts)
 *   image_i = uint8(decoder(x_0))            decoder output in [−1, 1], then toUint8Images (decode.ts)
 */
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { type Autoencoder, toUint8Images } from './decode.js';
import { hasClsInput } from '../models/variant.js';
import { classTokenDim, modelPlacement, type VelocityModel } from './model.js';
import { ImageNoise } from './noise.js';
import { sample, type SampleOptions } from './samplers.js';

/** Which images {@link sampleImages} draws. */
export interface ImageBatch {
  /** Seed of the run (with the index, it determines each image's noise). */
  readonly seed: number;
  /** Global indices of the images. */
  readonly indices: readonly number[];
  /** Class label of each image (same length as `indices`). */
  readonly labels: readonly number[];
}

/**
 * Samples and decodes the images `batch` names: (B, H, W, 3) uint8 on the model's device. The state
 * is decoded in `opts.dtype` (default: the model's parameter dtype), without gradients.
 */
export function sampleImages(model: VelocityModel, decoder: Autoencoder, batch: ImageBatch, opts: SampleOptions): Tensor {
  const { indices, labels } = batch;
  if (labels.length !== indices.length) throw new RangeError(`${labels.length} labels for ${indices.length} images`);
  const { device, dtype } = modelPlacement(model);
  const shape = {
    channels: model.config.inChannels,
    size: model.config.inputSize,
    clsDim: hasClsInput(model.config) ? classTokenDim(model.config) : null,
  };
  return torch.scope(() => {
    const noise = new ImageNoise(batch.seed, indices, shape, { device });
    const y = torch.tensor([...labels], { dtype: 'int64', device });
    const r = sample(model, noise.initial(), y, opts, noise.step);
    const images = torch.noGrad(() => decoder.decode(r.x.to(opts.dtype ?? dtype)));
    return toUint8Images(images);
  });
}
