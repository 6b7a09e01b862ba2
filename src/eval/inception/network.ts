/**
 * The FID Inception network: torchvision's InceptionV3 layout with 1008 classes and no auxiliary head,
 * patched as pytorch-fid patches it to match TensorFlow's 2015-12-05 graph (see blocks.ts), run on a
 * (N, 3, 299, 299) input in [−1, 1]. One pass gives the three feature sets of the ADM evaluator:
 *
 *   pool3    (N, 2048)  global average of Mixed_7c: the FID and precision/recall features (`pool_3:0`)
 *   spatial  (N, 2023)  Mixed_6d.branch1x1 (N, 192, 17, 17), channels-last, first 7 channels,
 *                       flattened: the sFID features (`mixed_6/conv:0[..., :7]`)
 *   logits   (N, 1008)  pool3 · fc.weightᵀ, without the bias: the IS logits (`softmax/logits/MatMul`)
 *
 * The stem is Conv2d_1a (3×3/2) → 2a (3×3) → 2b (3×3, pad 1) → max 3×3/2 → 3b (1×1) → 4a (3×3) → max
 * 3×3/2, then Mixed_5b…7c and the pool.
 */
import { Linear, Module } from '../../nn/index.js';
import * as F from '../../torch/functional.js';
import type { Tensor } from '../../torch/index.js';
import { BasicConv2d, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE } from './blocks.js';

/** Channels of the sFID map kept from Mixed_6d.branch1x1 (the ADM evaluator's `[..., :7]`). */
export const SPATIAL_CHANNELS = 7;
/** Classes of the 2015 graph's classifier (1000 ImageNet classes and 8 unused). */
export const INCEPTION_CLASSES = 1008;
/** Side of the network input. */
export const INCEPTION_INPUT_SIZE = 299;

/** The three feature sets of one pass. */
export interface InceptionFeatures {
  /** (N, 2048 / width) float32 */
  readonly pool3: Tensor;
  /** (N, 17·17·7 = 2023) float32 */
  readonly spatial: Tensor;
  /** (N, 1008) float32, pool3 · fc.weightᵀ (no bias) */
  readonly logits: Tensor;
}

/** The FID InceptionV3; `width` divides every channel count (1: the real network). */
export class FidInceptionV3 extends Module {
  readonly stem: BasicConv2d[];
  readonly mixed5: InceptionA[];
  readonly mixed6a: InceptionB;
  readonly mixed6: InceptionC[];
  readonly mixed7a: InceptionD;
  readonly mixed7: InceptionE[];
  readonly fc: Linear;

  constructor(readonly width = 1) {
    super();
    const d = width;
    const c = (n: number) => {
      if (n % d !== 0) throw new RangeError(`FidInceptionV3: width divisor ${d} does not divide the ${n} channels of a layer`);
      return n / d;
    };
    this.stem = (
      [
        ['Conv2d_1a_3x3', new BasicConv2d(3, c(32), 3, { stride: 2 })],
        ['Conv2d_2a_3x3', new BasicConv2d(c(32), c(32), 3)],
        ['Conv2d_2b_3x3', new BasicConv2d(c(32), c(64), 3, { padding: 1 })],
        ['Conv2d_3b_1x1', new BasicConv2d(c(64), c(80), 1)],
        ['Conv2d_4a_3x3', new BasicConv2d(c(80), c(192), 3)],
      ] as const
    ).map(([name, m]) => this.child(name, m));
    this.mixed5 = [new InceptionA(c(192), c(32), d), new InceptionA(c(256), c(64), d), new InceptionA(c(288), c(64), d)].map((m, i) =>
      this.child(`Mixed_5${'bcd'[i]}`, m),
    );
    this.mixed6a = this.child('Mixed_6a', new InceptionB(c(288), d));
    this.mixed6 = [128, 160, 160, 192].map((c7, i) => this.child(`Mixed_6${'bcde'[i]}`, new InceptionC(c(768), c(c7), d)));
    this.mixed7a = this.child('Mixed_7a', new InceptionD(c(768), d));
    this.mixed7 = [new InceptionE(c(1280), d, false), new InceptionE(c(2048), d, true)].map((m, i) => this.child(`Mixed_7${'bc'[i]}`, m));
    this.fc = this.child('fc', new Linear(c(2048), INCEPTION_CLASSES));
  }

  /** Folds every BatchNorm into its convolution for inference ({@link BasicConv2d.fuseBatchNorm}); returns this. */
  fuseBatchNorm(): this {
    const walk = (m: Module): void => {
      if (m instanceof BasicConv2d) m.fuseBatchNorm();
      for (const [, c] of m.children()) walk(c);
    };
    walk(this);
    return this;
  }

  /** Features of a network input `x` (N, 3, 299, 299) in [−1, 1]. */
  forward(x: Tensor): InceptionFeatures {
    const [c1, c2, c3, c4, c5] = this.stem as [BasicConv2d, BasicConv2d, BasicConv2d, BasicConv2d, BasicConv2d];
    let h = F.maxPool2d(c3.forward(c2.forward(c1.forward(x))), 3, 2);
    h = F.maxPool2d(c5.forward(c4.forward(h)), 3, 2);
    for (const m of this.mixed5) h = m.forward(h);
    h = this.mixed6a.forward(h);
    let branch1x1: Tensor | undefined;
    for (const [i, m] of this.mixed6.entries()) {
      if (i === 2) ({ out: h, branch1x1 } = m.forwardWithBranch1x1(h));
      else h = m.forward(h);
    }
    h = this.mixed7a.forward(h);
    for (const m of this.mixed7) h = m.forward(h);
    const pool3 = F.adaptiveAvgPool2d(h, 1).flatten(1);
    const b = branch1x1!;
    const spatial = b.permute(0, 2, 3, 1).narrow(3, 0, SPATIAL_CHANNELS).reshape(b.shape[0]!, -1);
    return { pool3, spatial, logits: pool3.matmul(this.fc.weight.t()) };
  }
}
