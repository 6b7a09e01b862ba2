/**
 * Neural-network functions (PyTorch's torch.nn.functional): linear maps, normalisations,
 * activations, attention, convolution, pooling, resampling, embeddings and similarities.
 */
import { ones } from './creation.js';
import { native } from './native.js';
import { hasOp, op } from './ops.js';
import { scope } from './scope.js';
import { callT, expectTensor, handleOf as H, Tensor } from './tensor.js';

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
  return callT(O.linear, H(x), H(weight), H(bias ?? null));
}

/** LayerNorm over the trailing `normalizedShape`: (x − E[x]) / √(Var[x] + eps) · γ + β (biased variance). */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return callT(O.layerNorm, H(x), [...normalizedShape], H(weight ?? null), H(bias ?? null), eps, true);
}

/** GroupNorm: LayerNorm over (C/groups, H, W) of each group, then per-channel γ, β. */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return callT(O.groupNorm, H(x), groups, H(weight ?? null), H(bias ?? null), eps, true);
}

/**
 * BatchNorm per channel (dim 1): (x − μ) / √(σ² + eps) · γ + β. In inference mode (default) μ, σ² are the
 * running statistics; with `training` they are the batch's (biased σ²), and the running statistics are
 * updated in place: r ← (1 − momentum)·r + momentum·batch (the unbiased variance for running_var).
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
  { training = false, momentum = 0.1 } = {},
): Tensor {
  return callT(O.batchNorm, H(x), H(weight ?? null), H(bias ?? null), H(runningMean), H(runningVar), training, momentum, eps, true);
}

/** softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ) along `dim`. */
export function softmax(x: Tensor, dim: number): Tensor {
  return callT(O.softmax, H(x), dim, null);
}

/** log softmax along `dim`. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return callT(O.logSoftmax, H(x), dim, null);
}

/**
 * GELU. 'none': x·Φ(x); 'tanh': ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
 */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return callT(O.gelu, H(x), approximate);
}

/** SiLU (swish): x·σ(x). */
export function silu(x: Tensor): Tensor {
  return callT(O.silu, H(x));
}

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  return expectTensor(x, 'F.relu', 'x').relu();
}

/** min(max(x, 0), 6). */
export function relu6(x: Tensor): Tensor {
  return callT(O.hardtanh, H(x), 0, 6);
}

/** x for x ≥ 0, slope·x otherwise. */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return callT(O.leakyRelu, H(x), slope);
}

/** log(1 + e^(βx))/β (linear above `threshold`). */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  return callT(O.softplus, H(x), beta, threshold);
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
  return callT(
    O.conv2d,
    H(x),
    H(weight),
    H(bias ?? null),
    pair(opts.stride ?? 1),
    pair(opts.padding ?? 0),
    pair(opts.dilation ?? 1),
    opts.groups ?? 1,
  );
}

/** Constant padding; `pads` lists (before, after) pairs from the last dimension backwards, as F.pad. */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  return callT(O.pad, H(x), [...pads], value);
}

/** Average pooling over kernel windows. */
export function avgPool2d(
  x: Tensor,
  kernel: number | [number, number],
  stride?: number | [number, number],
  padding: number | [number, number] = 0,
  { ceilMode = false, countIncludePad = true } = {},
): Tensor {
  return callT(O.avgPool2d, H(x), pair(kernel), stride === undefined ? [] : pair(stride), pair(padding), ceilMode, countIncludePad, null);
}

/** Max pooling over kernel windows. */
export function maxPool2d(
  x: Tensor,
  kernel: number | [number, number],
  stride?: number | [number, number],
  padding: number | [number, number] = 0,
  { dilation = 1, ceilMode = false } = {},
): Tensor {
  return callT(O.maxPool2d, H(x), pair(kernel), stride === undefined ? [] : pair(stride), pair(padding), pair(dilation), ceilMode);
}

/** Average pooling to a fixed output size. */
export function adaptiveAvgPool2d(x: Tensor, size: number | [number, number]): Tensor {
  return callT(O.adaptiveAvgPool2d, H(x), pair(size));
}

/** Rows of `weight` (num, dim) picked by integer `indices`. */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return callT(O.embedding, H(weight), H(indices), -1, false, false);
}

/** x / max(‖x‖ₚ, eps) along `dim`. */
export function normalize(x: Tensor, { p = 2, dim = 1, eps = 1e-12 } = {}): Tensor {
  const n = expectTensor(x, 'F.normalize', 'x').norm(p, dim, true);
  const clamped = n.clamp(eps);
  n.dispose();
  const out = x.div(clamped);
  clamped.dispose();
  return out;
}

/** a·b / max(‖a‖·‖b‖, eps) along `dim`. */
export function cosineSimilarity(a: Tensor, b: Tensor, dim = 1, eps = 1e-8): Tensor {
  return callT(O.cosineSimilarity, H(a), H(b), dim, eps);
}

/** Whether the running libtorch has a fused scaled_dot_product_attention (2.x). */
export const hasFusedAttention = (): boolean => hasOp('aten::scaled_dot_product_attention');

/** Whether the fused kernel takes a `scale` argument (libtorch ≥ 2.1). */
const fusedTakesScale = (): boolean => hasFusedAttention() && /\bscale\b/.test(O.sdpa.schema);

/** Options of {@link scaledDotProductAttention}. */
export interface AttentionOptions {
  /**
   * Attention mask, broadcastable to (…, L, S). Boolean: true where a query may attend to a key, false
   * where it may not (its score becomes −∞). Floating point: added to the scores before the softmax
   * (use −∞ to exclude). A query row with every key excluded gives NaN, as in PyTorch.
   */
  mask?: Tensor | null;
  /**
   * Causal attention: query i attends to keys 0…i, i.e. the mask tril(ones(L, S)) aligned at the top
   * left as in PyTorch (for L < S the last S − L keys are never attended). Not together with `mask`.
   */
  isCausal?: boolean;
  /** Scale of the scores (default 1/√d). */
  scale?: number;
  /** Use libtorch's fused kernel when this libtorch has it (default true); false forces the explicit formula. */
  fused?: boolean;
}

/**
 * Attention softmax(Q·Kᵀ·scale + M)·V over q (…, L, d), k (…, S, d), v (…, S, dv), scale = 1/√d by
 * default, M the additive form of `mask` (0 / −∞ for a boolean mask) or of `isCausal`. Uses libtorch's
 * fused kernel when it exists (libtorch ≥ 2.0; with `scale`, ≥ 2.1) and the explicit formula otherwise;
 * both are differentiable and agree with PyTorch's F.scaled_dot_product_attention.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const { mask = null, isCausal = false, scale, fused = true } = options;
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const)
    expectTensor(t, 'F.scaledDotProductAttention', name);
  if (mask !== null) expectTensor(mask, 'F.scaledDotProductAttention', 'mask');
  if (mask !== null && isCausal) throw new TypeError('F.scaledDotProductAttention: give either mask or isCausal, not both');
  if (scale !== undefined && !(typeof scale === 'number' && Number.isFinite(scale))) {
    throw new TypeError(`F.scaledDotProductAttention: scale must be a finite number, got ${String(scale)}`);
  }
  if (fused && hasFusedAttention() && (scale === undefined || fusedTakesScale())) {
    const rest = scale === undefined ? [] : [scale];
    return callT(O.sdpa, H(q), H(k), H(v), H(mask), 0, isCausal, ...rest);
  }
  return scope(() => {
    const s = scale ?? 1 / Math.sqrt(q.size(-1));
    let scores = batchedMatmul(q, k.transpose(-2, -1)).mul_(s);
    if (isCausal) {
      const allowed = ones([q.size(-2), k.size(-2)], { dtype: 'bool', device: q.device }).tril();
      scores = scores.maskedFill(allowed.logicalNot(), -Infinity);
    } else if (mask !== null) {
      scores = mask.dtype === 'bool' ? scores.maskedFill(mask.logicalNot(), -Infinity) : scores.add(mask);
    }
    return batchedMatmul(softmax(scores, -1), v);
  });
}

/**
 * a @ b for stacks a (…, n, k) and b (…, k, m) with equal leading sizes: the same values as
 * `a.matmul(b)`, bit for bit. On CPU, for float32/float64 tensors with no gradient to record, the batch
 * is split across libtorch's intra-op threads, each running single-threaded OpenBLAS GEMMs, and strided
 * views (a transposed K, heads of a fused QKV projection) are multiplied without copies. Attention's
 * small per-head products (257×64·64×257) gain most: OpenBLAS's own threads barely speed them up.
 * Broadcasting, autograd, other devices and other BLAS libraries take `matmul`'s path.
 */
export function batchedMatmul(a: Tensor, b: Tensor): Tensor {
  return new Tensor(native.batchedMatmul(H(a), H(b)));
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
    return callT(O.nearest, H(x), size, scales);
  }
  const alignCorners = opts.alignCorners ?? false;
  const which = mode === 'bilinear' ? (opts.antialias ? O.bilinearAA : O.bilinear) : opts.antialias ? O.bicubicAA : O.bicubic;
  return callT(which, H(x), size, alignCorners, scales);
}
