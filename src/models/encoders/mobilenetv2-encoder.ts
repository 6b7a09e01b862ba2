/**
 * MobileNetV2 (nsfwjs 4.4.0's ImageNet-frozen part, through `block_10`) as a representation encoder.
 *
 * Preprocessing (uint8 or [0, 1] input, see preprocess.ts):
 *   x ← pixels / 255                                   (nsfwjs: `img.toFloat().div(255)`)
 *   x ← bilinear resize to inputSize, align_corners     (nsfwjs: `tf.image.resizeBilinear(x, [s, s], true)`)
 *   x ← 2x − 1                                          (only with pixelRange 'imagenet', see below)
 * Tokens: the map of layer `layer` (default `block_10_project_BN`, (B, 96, s/16, s/16)) flattened
 * row-major into patch tokens; the class token is their mean (global average pooling, the pooling
 * MobileNetV2's own classifier head uses), or their max with `clsPooling: 'max'` (README.md compares).
 *
 * pixelRange: nsfwjs feeds [0, 1] and that is what its model, whose early layers are frozen
 * Keras-ImageNet weights, was fine-tuned with. Keras's ImageNet MobileNetV2 itself expects [−1, 1]
 * (`mobilenet_v2.preprocess_input`). Both are offered; docs/mobilenetv2.md measures which input
 * matches the frozen BatchNorm statistics.
 */
import type { Device, Tensor } from '../../torch/index.js';
import * as torch from '../../torch/index.js';
import {
  mapToTokens,
  type EncoderFactory,
  type EncoderInfo,
  type EncoderOptions,
  type EncoderOutput,
  type RepresentationEncoder,
} from './encoder.js';
import type { MobileNetV2 } from './mobilenetv2.js';
import { loadMobileNetV2 } from './mobilenetv2-weights.js';
import { resizeSquare, toUnitRgb } from './preprocess.js';

/** Value range fed to the network: nsfwjs's [0, 1] or Keras ImageNet's [−1, 1]. */
export type MobileNetV2PixelRange = 'nsfwjs' | 'imagenet';

/** Options of the `mobilenetv2` encoder. */
export interface MobileNetV2EncoderOptions extends EncoderOptions {
  /** Layer whose map gives the tokens (default `block_10_project_BN`; e.g. `block_10_depthwise_relu` for 384 channels). */
  readonly layer?: string;
  /** Default {@link DEFAULT_MOBILENETV2_PIXEL_RANGE}. */
  readonly pixelRange?: MobileNetV2PixelRange;
  /** Last block built (default 10: the ImageNet-frozen part of nsfwjs's model). */
  readonly lastBlock?: number;
  /** Class token: mean (default) or max over the patch tokens (see README.md, "class token"). */
  readonly clsPooling?: MobileNetV2ClsPooling;
}

/** How the class token summarises the patch tokens. */
export type MobileNetV2ClsPooling = 'mean' | 'max';

/** Default side: MobileNetV2's ImageNet resolution (14×14 tokens). */
export const MOBILENETV2_INPUT_SIZE = 224;

/** Default value range (see the file comment and docs/mobilenetv2.md). */
export const DEFAULT_MOBILENETV2_PIXEL_RANGE: MobileNetV2PixelRange = 'nsfwjs';

/** The encoder over an already loaded network. */
export class MobileNetV2Encoder implements RepresentationEncoder {
  readonly name = 'mobilenetv2';
  readonly dim: number;
  readonly grid: readonly [number, number];
  readonly numPatches: number;
  readonly info: EncoderInfo;
  /** BatchNorm folded into the convolutions (unless the tapped layer is a raw conv output). */
  readonly #fused: boolean;

  constructor(
    readonly net: MobileNetV2,
    readonly inputSize: number,
    readonly device: Device,
    readonly layer: string,
    readonly pixelRange: MobileNetV2PixelRange,
    weights: { source: string; sha256: string },
    readonly clsPooling: MobileNetV2ClsPooling = 'mean',
  ) {
    if (!Number.isInteger(inputSize) || inputSize < 32)
      throw new RangeError(`mobilenetv2: inputSize must be an integer ≥ 32, got ${inputSize}`);
    this.dim = net.channels(layer);
    const kind = net.layers.find((l) => l.name === layer)?.kind;
    this.#fused = kind !== 'Conv2D' && kind !== 'DepthwiseConv2D';
    this.grid = this.patchGrid(inputSize);
    this.numPatches = this.grid[0] * this.grid[1];
    this.info = {
      name: this.name,
      dim: this.dim,
      inputSize,
      grid: this.grid,
      weights: weights.source,
      weightsSha256: weights.sha256,
      preprocessing: `x/255 → bilinear(align_corners) to ${inputSize}${pixelRange === 'imagenet' ? ' → 2x−1' : ''}`,
      clsToken: `${clsPooling} of patch tokens`,
      layer,
      pixelRange,
      bnEps: net.config.bnEps,
    };
  }

  patchGrid(inputSize: number): [number, number] {
    return this.net.outputSize(inputSize, inputSize, this.layer);
  }

  preprocess(images: Tensor): Tensor {
    return torch.scope(() => {
      const x = resizeSquare(toUnitRgb(images, this.device), this.inputSize, { mode: 'bilinear', alignCorners: true });
      return this.pixelRange === 'imagenet' ? x.mul(2).sub(1) : x;
    });
  }

  encode(images: Tensor): EncoderOutput {
    return torch.noGrad(() =>
      torch.scope(() => {
        const map = this.net.forward(this.preprocess(images), { until: this.layer, fused: this.#fused });
        const patches = mapToTokens(map);
        return { cls: this.clsPooling === 'max' ? patches.amax(1) : patches.mean(1), patches };
      }),
    );
  }

  dispose(): void {
    this.net.dispose();
  }
}

/** Loads the weights (cached conversion of nsfwjs by default) and builds the encoder. */
export async function createMobileNetV2Encoder(options: MobileNetV2EncoderOptions = {}): Promise<MobileNetV2Encoder> {
  const loaded = await loadMobileNetV2({ weights: options.weights, lastBlock: options.lastBlock ?? 10, log: options.log });
  const device = options.device ?? 'cpu';
  if (device !== 'cpu') loaded.net.to({ device });
  const layer = options.layer ?? loaded.net.outputLayer;
  loaded.net.channels(layer); // throws on an unknown layer
  const range = options.pixelRange ?? DEFAULT_MOBILENETV2_PIXEL_RANGE;
  if (range !== 'nsfwjs' && range !== 'imagenet')
    throw new RangeError(`mobilenetv2: pixelRange must be 'nsfwjs' or 'imagenet', got '${String(range)}'`);
  const pooling = options.clsPooling ?? 'mean';
  if (pooling !== 'mean' && pooling !== 'max')
    throw new RangeError(`mobilenetv2: clsPooling must be 'mean' or 'max', got '${String(pooling)}'`);
  return new MobileNetV2Encoder(loaded.net, options.inputSize ?? MOBILENETV2_INPUT_SIZE, device, layer, range, loaded, pooling);
}

/** Registry entry `mobilenetv2`. */
export const MOBILENETV2_ENCODER: EncoderFactory = {
  name: 'mobilenetv2',
  description: 'MobileNetV2 (Keras, ImageNet) through block_10, weights from npm nsfwjs 4.4.0; 96-d tokens at stride 16, CLS = mean',
  defaultInputSize: MOBILENETV2_INPUT_SIZE,
  create: (options) => createMobileNetV2Encoder(options as MobileNetV2EncoderOptions),
};
