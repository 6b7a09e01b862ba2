/**
 * Keras layer semantics on reg-ts tensors (NCHW): TensorFlow's `'same'`/`'valid'` padding, Keras
 * `ZeroPadding2D`, and the weight layouts of `Conv2D` and `DepthwiseConv2D` turned into PyTorch's.
 *
 * TensorFlow `'same'` padding (stride s, kernel k, input n):
 *   out = ⌈n / s⌉,  total = max((out − 1)·s + k − n, 0),  before = ⌊total / 2⌋,  after = total − before
 * so an even total is split evenly and an odd one puts the extra row/column after (bottom/right) —
 * unlike PyTorch's symmetric `padding=`. `'valid'` pads nothing: out = ⌊(n − k) / s⌋ + 1.
 */
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';

/** Keras padding mode of a convolution. */
export type KerasPadding = 'same' | 'valid';

/** Padding `[before, after]` that TensorFlow applies along one spatial axis. */
export function kerasPadAmounts(mode: KerasPadding, size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  if (mode === 'valid') return [0, 0];
  const k = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + k - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Output length along one axis of a Keras convolution (after the padding above). */
export function kerasConvOutput(mode: KerasPadding, size: number, kernel: number, stride: number, dilation = 1): number {
  const [a, b] = kerasPadAmounts(mode, size, kernel, stride, dilation);
  const k = (kernel - 1) * dilation + 1;
  const out = Math.floor((size + a + b - k) / stride) + 1;
  if (out < 1) throw new RangeError(`Keras conv: input ${size} too small for kernel ${kernel} with '${mode}' padding`);
  return out;
}

/**
 * Zero padding of an NCHW tensor as Keras `ZeroPadding2D(((top, bottom), (left, right)))`.
 * Returns the input itself when there is nothing to pad.
 */
export function zeroPad2d(
  x: Tensor,
  [[top, bottom], [left, right]]: readonly [readonly [number, number], readonly [number, number]],
): Tensor {
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return x;
  return torch.F.pad(x, [left, right, top, bottom]);
}

/** Options of {@link kerasConv2d}. */
export interface KerasConvOptions {
  readonly stride: readonly [number, number];
  readonly padding: KerasPadding;
  /** 1 for Conv2D, the channel count for DepthwiseConv2D. */
  readonly groups?: number;
  readonly bias?: Tensor | null;
}

/**
 * A Keras `Conv2D`/`DepthwiseConv2D` on NCHW input with a PyTorch-layout weight (out, in/groups, kh, kw):
 * TensorFlow's (possibly asymmetric) `'same'` padding is applied explicitly, then an unpadded conv.
 */
export function kerasConv2d(x: Tensor, weight: Tensor, { stride, padding, groups = 1, bias = null }: KerasConvOptions): Tensor {
  const [kh, kw] = [weight.shape[2]!, weight.shape[3]!];
  const [ph0, ph1] = kerasPadAmounts(padding, x.shape[2]!, kh, stride[0]);
  const [pw0, pw1] = kerasPadAmounts(padding, x.shape[3]!, kw, stride[1]);
  if (ph0 === ph1 && pw0 === pw1) {
    return torch.F.conv2d(x, weight, bias, { stride: [stride[0], stride[1]], padding: [ph0, pw0], groups });
  }
  const padded = torch.F.pad(x, [pw0, pw1, ph0, ph1]);
  const out = torch.F.conv2d(padded, weight, bias, { stride: [stride[0], stride[1]], groups });
  padded.dispose();
  return out;
}

/** Keras `Conv2D` kernel (kh, kw, in, out) → PyTorch conv weight (out, in, kh, kw). */
export function convKernelToTorch(kernel: Tensor): Tensor {
  if (kernel.ndim !== 4) throw new RangeError(`Conv2D kernel must be 4-d (kh, kw, in, out), got [${kernel.shape.join(', ')}]`);
  return torch.scope(() => kernel.permute(3, 2, 0, 1).contiguous());
}

/**
 * Keras `DepthwiseConv2D` kernel (kh, kw, C, m) → PyTorch grouped-conv weight (C·m, 1, kh, kw) for
 * `groups = C`; output channel `c·m + j` is input channel c's j-th filter, as in TensorFlow.
 */
export function depthwiseKernelToTorch(kernel: Tensor): Tensor {
  if (kernel.ndim !== 4) throw new RangeError(`DepthwiseConv2D kernel must be 4-d (kh, kw, C, m), got [${kernel.shape.join(', ')}]`);
  const [kh, kw, c, m] = kernel.shape as [number, number, number, number];
  return torch.scope(() =>
    kernel
      .permute(2, 3, 0, 1)
      .contiguous()
      .reshape(c * m, 1, kh, kw),
  );
}
