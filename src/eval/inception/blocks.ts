/**
 * The blocks of the FID Inception (pytorch-fid's port of TensorFlow's 2015-12-05 Inception-v3 graph),
 * with torchvision's parameter names, so that `pt_inception-2015-12-05-6726825d.pth` loads as it is.
 *
 *   BasicConv2d   conv (no bias) → BatchNorm (ε = 1e-3, running statistics) → ReLU
 *   A (5b–5d)     1×1 | 1×1 → 5×5 | 1×1 → 3×3 → 3×3 | avg 3×3 → 1×1                       (concatenated)
 *   B (6a)        3×3/2 | 1×1 → 3×3 → 3×3/2 | max 3×3/2
 *   C (6b–6e)     1×1 | 1×1 → 1×7 → 7×1 | 1×1 → 7×1 → 1×7 → 7×1 → 1×7 | avg 3×3 → 1×1
 *   D (7a)        1×1 → 3×3/2 | 1×1 → 1×7 → 7×1 → 3×3/2 | max 3×3/2
 *   E (7b, 7c)    1×1 | 1×1 → (1×3, 3×1) | 1×1 → 3×3 → (1×3, 3×1) | pool 3×3 → 1×1
 *
 * Every branch average pool is 3×3, stride 1, padding 1 and averages only the pixels inside the image
 * (`count_include_pad=False`: TensorFlow's pool does not count the padded zeros); Mixed_7c (E with
 * `maxPool`) takes a 3×3 max pool there instead, as the TF graph does. `width` divides every channel
 * count (1 for the real network; tests use a narrower copy of the same topology).
 */
import { BatchNorm2d, Conv2d, Module } from '../../nn/index.js';
import * as F from '../../torch/functional.js';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';

type Kernel = number | [number, number];

/**
 * conv (no bias) → BatchNorm2d(ε = 1e-3) → ReLU, as torchvision's `BasicConv2d`. After
 * {@link fuseBatchNorm} the BatchNorm is folded into the convolution (one pass instead of two).
 */
export class BasicConv2d extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  #fused: { weight: Tensor; bias: Tensor } | null = null;

  constructor(inChannels: number, outChannels: number, kernel: Kernel, { stride = 1, padding = 0 as Kernel } = {}) {
    super();
    this.conv = this.child('conv', new Conv2d(inChannels, outChannels, kernel, { stride, padding, bias: false }));
    this.bn = this.child('bn', new BatchNorm2d(outChannels, 1e-3));
  }

  /**
   * Folds the BatchNorm's running statistics into the convolution, for inference: with
   * s = γ/√(σ² + ε), W' = W·s (per output channel) and b' = β − μ·s, computed in float64. The fused
   * tensors are non-persistent buffers (the state dict keeps the original names); call it again after
   * loading other weights.
   */
  fuseBatchNorm(): void {
    const fused = torch.noGrad(() =>
      torch.scope(() => {
        const { conv, bn } = this;
        const scale = bn.weight.to('float64').div(bn.runningVar.to('float64').add(bn.eps).sqrt());
        const weight = conv.weight
          .to('float64')
          .mul(scale.view(-1, 1, 1, 1))
          .to(conv.weight.dtype);
        const bias = bn.bias.to('float64').sub(bn.runningMean.to('float64').mul(scale)).to(conv.weight.dtype);
        return { weight, bias };
      }),
    );
    this.#fused?.weight.dispose();
    this.#fused?.bias.dispose();
    this.#fused = {
      weight: this.buffer('fused_weight', fused.weight, { persistent: false }),
      bias: this.buffer('fused_bias', fused.bias, { persistent: false }),
    };
  }

  forward(x: Tensor): Tensor {
    if (this.#fused) return F.relu(F.conv2d(x, this.#fused.weight, this.#fused.bias, this.conv.options));
    return F.relu(this.bn.forward(this.conv.forward(x)));
  }
}

/** 3×3 average pool, stride 1, padding 1, over the pixels inside the image only. */
export const averageInside3x3 = (x: Tensor): Tensor => F.avgPool2d(x, 3, 1, 1, { countIncludePad: false });

/** Channel count `c` of the real network at width divisor `d`. */
const w = (c: number, d: number): number => c / d;

/** Mixed_5b–5d: output 64 + 64 + 96 + `poolFeatures` channels (÷ width). */
export class InceptionA extends Module {
  readonly branch1x1: BasicConv2d;
  readonly branch5x5_1: BasicConv2d;
  readonly branch5x5_2: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(inChannels: number, poolFeatures: number, d: number) {
    super();
    this.branch1x1 = this.child('branch1x1', new BasicConv2d(inChannels, w(64, d), 1));
    this.branch5x5_1 = this.child('branch5x5_1', new BasicConv2d(inChannels, w(48, d), 1));
    this.branch5x5_2 = this.child('branch5x5_2', new BasicConv2d(w(48, d), w(64, d), 5, { padding: 2 }));
    this.branch3x3dbl_1 = this.child('branch3x3dbl_1', new BasicConv2d(inChannels, w(64, d), 1));
    this.branch3x3dbl_2 = this.child('branch3x3dbl_2', new BasicConv2d(w(64, d), w(96, d), 3, { padding: 1 }));
    this.branch3x3dbl_3 = this.child('branch3x3dbl_3', new BasicConv2d(w(96, d), w(96, d), 3, { padding: 1 }));
    this.branch_pool = this.child('branch_pool', new BasicConv2d(inChannels, poolFeatures, 1));
  }

  forward(x: Tensor): Tensor {
    const b5 = this.branch5x5_2.forward(this.branch5x5_1.forward(x));
    const b3 = this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x)));
    return torch.cat([this.branch1x1.forward(x), b5, b3, this.branch_pool.forward(averageInside3x3(x))], 1);
  }
}

/** Mixed_6a (grid 35 → 17): output 384 + 96 (÷ width) + input channels. */
export class InceptionB extends Module {
  readonly branch3x3: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3: BasicConv2d;

  constructor(inChannels: number, d: number) {
    super();
    this.branch3x3 = this.child('branch3x3', new BasicConv2d(inChannels, w(384, d), 3, { stride: 2 }));
    this.branch3x3dbl_1 = this.child('branch3x3dbl_1', new BasicConv2d(inChannels, w(64, d), 1));
    this.branch3x3dbl_2 = this.child('branch3x3dbl_2', new BasicConv2d(w(64, d), w(96, d), 3, { padding: 1 }));
    this.branch3x3dbl_3 = this.child('branch3x3dbl_3', new BasicConv2d(w(96, d), w(96, d), 3, { stride: 2 }));
  }

  forward(x: Tensor): Tensor {
    const bd = this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x)));
    return torch.cat([this.branch3x3.forward(x), bd, F.maxPool2d(x, 3, 2)], 1);
  }
}

/** Mixed_6b–6e: factorised 7×7 convolutions with `channels7x7` inner channels; output 4 · 192 (÷ width). */
export class InceptionC extends Module {
  readonly branch1x1: BasicConv2d;
  readonly branch7x7: BasicConv2d[];
  readonly branch7x7dbl: BasicConv2d[];
  readonly branch_pool: BasicConv2d;

  constructor(inChannels: number, channels7x7: number, d: number) {
    super();
    const c7 = channels7x7;
    const row = { padding: [0, 3] as Kernel };
    const col = { padding: [3, 0] as Kernel };
    this.branch1x1 = this.child('branch1x1', new BasicConv2d(inChannels, w(192, d), 1));
    this.branch7x7 = [
      new BasicConv2d(inChannels, c7, 1),
      new BasicConv2d(c7, c7, [1, 7], row),
      new BasicConv2d(c7, w(192, d), [7, 1], col),
    ].map((m, i) => this.child(`branch7x7_${i + 1}`, m));
    this.branch7x7dbl = [
      new BasicConv2d(inChannels, c7, 1),
      new BasicConv2d(c7, c7, [7, 1], col),
      new BasicConv2d(c7, c7, [1, 7], row),
      new BasicConv2d(c7, c7, [7, 1], col),
      new BasicConv2d(c7, w(192, d), [1, 7], row),
    ].map((m, i) => this.child(`branch7x7dbl_${i + 1}`, m));
    this.branch_pool = this.child('branch_pool', new BasicConv2d(inChannels, w(192, d), 1));
  }

  /** The block's output and its branch1x1 output (the map sFID reads from Mixed_6d). */
  forwardWithBranch1x1(x: Tensor): { out: Tensor; branch1x1: Tensor } {
    return torch.scope(() => {
      const branch1x1 = this.branch1x1.forward(x);
      const b7 = this.branch7x7.reduce((h, m) => m.forward(h), x);
      const bd = this.branch7x7dbl.reduce((h, m) => m.forward(h), x);
      return { out: torch.cat([branch1x1, b7, bd, this.branch_pool.forward(averageInside3x3(x))], 1), branch1x1 };
    });
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithBranch1x1(x).out;
  }
}

/** Mixed_7a (grid 17 → 8): output 320 + 192 (÷ width) + input channels. */
export class InceptionD extends Module {
  readonly branch3x3: BasicConv2d[];
  readonly branch7x7x3: BasicConv2d[];

  constructor(inChannels: number, d: number) {
    super();
    this.branch3x3 = [new BasicConv2d(inChannels, w(192, d), 1), new BasicConv2d(w(192, d), w(320, d), 3, { stride: 2 })].map((m, i) =>
      this.child(`branch3x3_${i + 1}`, m),
    );
    this.branch7x7x3 = [
      new BasicConv2d(inChannels, w(192, d), 1),
      new BasicConv2d(w(192, d), w(192, d), [1, 7], { padding: [0, 3] }),
      new BasicConv2d(w(192, d), w(192, d), [7, 1], { padding: [3, 0] }),
      new BasicConv2d(w(192, d), w(192, d), 3, { stride: 2 }),
    ].map((m, i) => this.child(`branch7x7x3_${i + 1}`, m));
  }

  forward(x: Tensor): Tensor {
    const b3 = this.branch3x3.reduce((h, m) => m.forward(h), x);
    const b7 = this.branch7x7x3.reduce((h, m) => m.forward(h), x);
    return torch.cat([b3, b7, F.maxPool2d(x, 3, 2)], 1);
  }
}

/** Mixed_7b (average pool) and Mixed_7c (`maxPool`): output 320 + 2 · 384 + 2 · 384 + 192 (÷ width). */
export class InceptionE extends Module {
  readonly branch1x1: BasicConv2d;
  readonly branch3x3_1: BasicConv2d;
  readonly branch3x3_2a: BasicConv2d;
  readonly branch3x3_2b: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3a: BasicConv2d;
  readonly branch3x3dbl_3b: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(
    inChannels: number,
    d: number,
    readonly maxPool: boolean,
  ) {
    super();
    const c = w(384, d);
    this.branch1x1 = this.child('branch1x1', new BasicConv2d(inChannels, w(320, d), 1));
    this.branch3x3_1 = this.child('branch3x3_1', new BasicConv2d(inChannels, c, 1));
    this.branch3x3_2a = this.child('branch3x3_2a', new BasicConv2d(c, c, [1, 3], { padding: [0, 1] }));
    this.branch3x3_2b = this.child('branch3x3_2b', new BasicConv2d(c, c, [3, 1], { padding: [1, 0] }));
    this.branch3x3dbl_1 = this.child('branch3x3dbl_1', new BasicConv2d(inChannels, w(448, d), 1));
    this.branch3x3dbl_2 = this.child('branch3x3dbl_2', new BasicConv2d(w(448, d), c, 3, { padding: 1 }));
    this.branch3x3dbl_3a = this.child('branch3x3dbl_3a', new BasicConv2d(c, c, [1, 3], { padding: [0, 1] }));
    this.branch3x3dbl_3b = this.child('branch3x3dbl_3b', new BasicConv2d(c, c, [3, 1], { padding: [1, 0] }));
    this.branch_pool = this.child('branch_pool', new BasicConv2d(inChannels, w(192, d), 1));
  }

  forward(x: Tensor): Tensor {
    const b3 = this.branch3x3_1.forward(x);
    const bd = this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x));
    const pooled = this.maxPool ? F.maxPool2d(x, 3, 1, 1) : averageInside3x3(x);
    return torch.cat(
      [
        this.branch1x1.forward(x),
        this.branch3x3_2a.forward(b3),
        this.branch3x3_2b.forward(b3),
        this.branch3x3dbl_3a.forward(bd),
        this.branch3x3dbl_3b.forward(bd),
        this.branch_pool.forward(pooled),
      ],
      1,
    );
  }
}
