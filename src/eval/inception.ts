/**
 * The FID Inception as a feature extractor: uint8 images in, the ADM evaluator's three feature sets
 * out (pool3 2048, spatial 2023, unbiased logits 1008; see inception/network.ts), through the TF1
 * legacy resize by default or pytorch-fid's bilinear resize (inception/preprocess.ts).
 *
 *   const inception = loadInception({ weights: 'pt_inception-2015-12-05-6726825d.pth', device: 'cuda' });
 *   const { pool3, spatial, logits } = inception.features(images);   // uint8 (N, H, W, 3) or (N, 3, H, W)
 */
import { noGrad } from '../torch/autograd.js';
import * as torch from '../torch/index.js';
import type { Device, Tensor } from '../torch/index.js';
import { FidInceptionV3, type InceptionFeatures } from './inception/network.js';
import { inceptionInput, RESIZE_DESCRIPTIONS, type InceptionResize } from './inception/preprocess.js';
import { fileSha256 } from '../util/file-sha256.js';
import { loadFidInception, PYTORCH_FID_SHA256_PREFIX } from './inception/weights.js';

export { FidInceptionV3, INCEPTION_CLASSES, SPATIAL_CHANNELS, type InceptionFeatures } from './inception/network.js';
export { INCEPTION_RESIZES, RESIZE_DESCRIPTIONS, inceptionInput, resizeTf1Legacy, type InceptionResize } from './inception/preprocess.js';
export { InceptionWeightsError, PYTORCH_FID_WEIGHTS_FILE, checkInceptionState } from './inception/weights.js';

/** What determines the features (recorded with every result). */
export interface InceptionInfo {
  readonly network: string;
  readonly weights: string;
  readonly weightsSha256: string;
  /** Whether the sha256 starts like pytorch-fid's file name says. */
  readonly pytorchFidFile: boolean;
  readonly resize: InceptionResize;
  readonly preprocessing: string;
}

/** The layout of a batch of uint8 images: channels last (N, H, W, C) as sample .npz files, or first. */
export type ImageLayout = 'nhwc' | 'nchw';

/** Options of {@link loadInception}. */
export interface InceptionOptions {
  /** pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (or a file with the same state dict). */
  readonly weights: string;
  readonly device?: Device;
  readonly resize?: InceptionResize;
}

/** The FID Inception with its preprocessing. */
export class InceptionExtractor {
  constructor(
    readonly net: FidInceptionV3,
    readonly info: InceptionInfo,
    readonly device: Device = 'cpu',
  ) {}

  /** The three feature sets of uint8 images, float32 on the extractor's device. */
  features(images: Tensor, layout: ImageLayout = 'nhwc'): InceptionFeatures {
    return noGrad(() =>
      torch.scope(() => {
        const nchw = layout === 'nhwc' ? images.permute(0, 3, 1, 2) : images;
        return this.net.forward(inceptionInput(nchw.to(this.device), this.info.resize));
      }),
    );
  }

  /** Frees the weights. */
  dispose(): void {
    this.net.dispose();
  }
}

/** Loads the FID Inception from pytorch-fid's weights file (checked key by key; nothing executed). */
export function loadInception({ weights, device = 'cpu', resize = 'tf1-legacy' }: InceptionOptions): InceptionExtractor {
  const net = loadFidInception(weights, device);
  net.requiresGrad_(false);
  const sha = fileSha256(weights);
  return new InceptionExtractor(
    net,
    {
      network: 'FID InceptionV3 (pytorch-fid port of TF inception-2015-12-05)',
      weights,
      weightsSha256: sha,
      pytorchFidFile: sha.startsWith(PYTORCH_FID_SHA256_PREFIX),
      resize,
      preprocessing: RESIZE_DESCRIPTIONS[resize],
    },
    device,
  );
}
