/**
 * Neural-network functions (PyTorch's torch.nn.functional): linear maps, normalisations,
 * activations, attention, convolution, pooling, resampling, embeddings and similarities.
 */
import { hasOp, op } from './ops.js';
import { callT, type Tensor } from './tensor.js';

const O = {
  linear: op('aten::linear'),
  layerNorm: op('aten::layer_norm'),
  groupNorm: op('aten::group_norm'),
  batchNorm: op('aten::batch_norm'),
  softmax: op('aten::softmax', 'int'),
  logSoftmax: op('aten::log_softmax', 'int'),
  gelu: op('aten::gelu'),
  silu: op('aten::silu'),
  hardtanh: op('aten::hardtanh'),
  leakyRelu: op('aten::leaky_relu'),
  softplus: op('aten::softplus'),
  conv2d: op('aten::conv2d'),
  pad: op('aten::constant_pad_nd'),
  avgPool2d: op('aten::avg_pool2d'),
  maxPool2d: op('aten::max_pool2d'),
  adaptiveAvgPool2d: op('aten::adaptive_avg_pool2d'),
  embedding: op('aten::embedding'),
  cosineSimilarity: op('aten::cosine_similarity'),
  sdpa: op('aten::scaled_dot_product_attention'),
  nearest: op('aten::upsample_nearest2d', 'vec'),
  bilinear: op('aten::upsample_bilinear2d', 'vec'),
  bicubic: op('aten::upsample_bicubic2d', 'vec'),
  bilinearAA: op('aten::_upsample_bilinear2d_aa', 'vec'),
  bicubicAA: op('aten::_upsample_bicubic2d_aa', 'vec'),
};

const pair = (v: number | readonly [number, number]): number[] => (typeof v === 'number' ? [v, v] : [...v]);

/** y = x·Wᵀ + b, weight (out, in). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return callT(O.linear, x.handle, weight.handle, bias?.handle ?? null);
}

/** LayerNorm over the trailing `normalizedShape`: (x − E[x]) / √(Var[x] + eps) · γ + β (biased variance). */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return callT(O.layerNorm, x.handle, [...normalizedShape], weight?.handle ?? null, bias?.handle ?? null, eps, true);
}

/** GroupNorm: LayerNorm over (C/groups, H, W) of each group, then per-channel γ, β. */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return callT(O.groupNorm, x.handle, groups, weight?.handle ?? null, bias?.handle ?? null, eps, true);
}

/** BatchNorm in inference mode: (x − running_mean) / √(running_var + eps) · γ + β per channel (dim 1). */
export function batchNorm(x: Tensor, runningMean: Tensor, runningVar: Tensor, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return callT(O.batchNorm, x.handle, weight?.handle ?? null, bias?.handle ?? null, runningMean.handle, runningVar.handle, false, 0.1, eps, true);
}

/** softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ) along `dim`. */
export function softmax(x: Tensor, dim: number): Tensor {
  return callT(O.softmax, x.handle, dim, null);
}

/** log softmax along `dim`. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return callT(O.logSoftmax, x.handle, dim, null);
}

/**
 * GELU. 'none': x·Φ(x); 'tanh': ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
 */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return callT(O.gelu, x.handle, approximate);
}

/** SiLU (swish): x·σ(x). */
export function silu(x: Tensor): Tensor {
  return callT(O.silu, x.handle);
}

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  return x.relu();
}

/** min(max(x, 0), 6). */
export function relu6(x: Tensor): Tensor {
  return callT(O.hardtanh, x.handle, 0, 6);
}

/** x for x ≥ 0, slope·x otherwise. */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return callT(O.leakyRelu, x.handle, slope);
}

/** log(1 + e^(βx))/β (linear above `threshold`). */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  return callT(O.softplus, x.handle, beta, threshold);
}

/** Options of conv2d. */
export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  /** Channel groups; groups = in_channels gives a depthwise convolution. */
  groups?: number;
}

/** 2-D convolution (cross-correlation), input (N, C, H, W), weight (out, C/groups, kh, kw). */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  return callT(O.conv2d, x.handle, weight.handle, bias?.handle ?? null, pair(opts.stride ?? 1), pair(opts.padding ?? 0), pair(opts.dilation ?? 1), opts.groups ?? 1);
}

/** Constant padding; `pads` lists (before, after) pairs from the last dimension backwards, as F.pad. */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  return callT(O.pad, x.handle, [...pads], value);
}

/** Average pooling over kernel windows. */
export function avgPool2d(x: Tensor, kernel: number | [number, number], stride?: number | [number, number], padding: number | [number, number] = 0, { ceilMode = false, countIncludePad = true } = {}): Tensor {
  return callT(O.avgPool2d, x.handle, pair(kernel), stride === undefined ? [] : pair(stride), pair(padding), ceilMode, countIncludePad, null);
}

/** Max pooling over kernel windows. */
export function maxPool2d(x: Tensor, kernel: number | [number, number], stride?: number | [number, number], padding: number | [number, number] = 0, { dilation = 1, ceilMode = false } = {}): Tensor {
  return callT(O.maxPool2d, x.handle, pair(kernel), stride === undefined ? [] : pair(stride), pair(padding), pair(dilation), ceilMode);
}

/** Average pooling to a fixed output size. */
export function adaptiveAvgPool2d(x: Tensor, size: number | [number, number]): Tensor {
  return callT(O.adaptiveAvgPool2d, x.handle, pair(size));
}

/** Rows of `weight` (num, dim) picked by integer `indices`. */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return callT(O.embedding, weight.handle, indices.handle, -1, false, false);
}

/** x / max(‖x‖ₚ, eps) along `dim`. */
export function normalize(x: Tensor, { p = 2, dim = 1, eps = 1e-12 } = {}): Tensor {
  const n = x.norm(p, dim, true);
  const clamped = n.clamp(eps);
  n.dispose();
  const out = x.div(clamped);
  clamped.dispose();
  return out;
}

/** a·b / max(‖a‖·‖b‖, eps) along `dim`. */
export function cosineSimilarity(a: Tensor, b: Tensor, dim = 1, eps = 1e-8): Tensor {
  return callT(O.cosineSimilarity, a.handle, b.handle, dim, eps);
}

/** Whether the running libtorch has a fused scaled_dot_product_attention (2.x). */
export const hasFusedAttention = (): boolean => hasOp('aten::scaled_dot_product_attention');

/**
 * Attention softmax(Q·Kᵀ/√d)·V over (…, L, d) tensors; uses libtorch's fused kernel when it
 * exists (libtorch ≥ 2.0) and the explicit formula otherwise.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, { fused = true } = {}): Tensor {
  if (fused && hasFusedAttention()) return callT(O.sdpa, q.handle, k.handle, v.handle, null, 0, false);
  const scale = 1 / Math.sqrt(q.shape[q.ndim - 1]!);
  const kt = k.transpose(-2, -1);
  const scores = q.matmul(kt);
  kt.dispose();
  scores.mul_(scale);
  const weights = softmax(scores, -1);
  scores.dispose();
  const out = weights.matmul(v);
  weights.dispose();
  return out;
}

/** Options of interpolate. */
export interface InterpolateOptions {
  /** Output (H, W); or give `scaleFactor`. */
  size?: number | [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear' | 'bicubic';
  alignCorners?: boolean;
  /** Anti-aliasing when downsampling (bilinear and bicubic only), as torchvision/PIL. */
  antialias?: boolean;
}

/** Resamples (N, C, H, W) images. Defaults as torch.nn.functional.interpolate. */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  const mode = opts.mode ?? 'nearest';
  const size = opts.size === undefined ? null : pair(opts.size);
  const scales = opts.scaleFactor === undefined ? null : pair(opts.scaleFactor);
  if ((size === null) === (scales === null)) throw new TypeError('interpolate: give exactly one of size and scaleFactor');
  if (mode === 'nearest') {
    if (opts.antialias) throw new TypeError('interpolate: antialias needs mode bilinear or bicubic');
    return callT(O.nearest, x.handle, size, scales);
  }
  const alignCorners = opts.alignCorners ?? false;
  const which = mode === 'bilinear' ? (opts.antialias ? O.bilinearAA : O.bilinear) : opts.antialias ? O.bicubicAA : O.bicubic;
  return callT(which, x.handle, size, alignCorners, scales);
}
