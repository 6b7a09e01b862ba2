/**
 * Gradients of every differentiable operator of the Tensor API against central finite differences
 * in float64 (see gradcheck.ts; rtol 1e-5, atol 1e-7). Inputs are small (≤ ~60 elements per input)
 * and drawn away from the kinks of non-smooth functions (|x| at 0, clamp bounds, pooling ties),
 * where a finite difference is not a derivative.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { gradcheck } from './gradcheck.js';
import * as torch from './index.js';
import { F, type Tensor } from './index.js';

const G = new torch.Generator(1234);
/** Standard normal float64 values. */
const n = (...shape: number[]): Tensor => torch.keep(torch.randn(shape, { dtype: 'float64', generator: G }));
/** Uniform float64 values in [lo, hi). */
const u = (lo: number, hi: number, ...shape: number[]): Tensor =>
  torch.keep(
    torch.scope(() =>
      torch
        .rand(shape, { dtype: 'float64', generator: G })
        .mul(hi - lo)
        .add(lo),
    ),
  );
/** Values with |x| ≥ 0.2 (no kink of abs/relu/sign near them). */
const away = (...shape: number[]): Tensor =>
  torch.keep(
    torch.scope(() => {
      const x = torch.randn(shape, { dtype: 'float64', generator: G });
      return torch.where(x.ge(0), x.add(0.2), x.sub(0.2));
    }),
  );
const long = (values: number[], shape?: number[]): Tensor => torch.keep(torch.tensor(values, { dtype: 'int64', shape }));

type Check = () => Parameters<typeof gradcheck>;

const CHECKS: Record<string, Check> = {
  // arithmetic with broadcasting
  add: () => [(a, b) => a!.add(b!), [n(3, 1, 4), n(5, 4)]],
  add_alpha: () => [(a, b) => a!.add(b!, -0.7), [n(3, 1, 4), n(5, 4)]],
  sub_alpha: () => [(a, b) => a!.sub(b!, 2), [n(3, 1, 4), n(5, 4)]],
  mul: () => [(a, b) => a!.mul(b!), [n(3, 1, 4), n(5, 4)]],
  div: () => [(a, b) => a!.div(b!), [n(3, 1, 4), u(0.5, 2, 5, 4)]],
  pow: () => [(a, b) => a!.pow(b!), [u(0.5, 2, 3, 1, 4), n(5, 4)]],
  pow_scalar: () => [(a) => a!.pow(2.5), [u(0.5, 2, 3, 4)]],
  pow_int_scalar: () => [(a) => a!.pow(3), [n(3, 4)]],
  remainder: () => [(a) => a!.remainder(1.5), [u(0.1, 1.4, 3, 4)]],
  maximum: () => [(a, b) => a!.maximum(b!), [n(3, 4), n(3, 4)]],
  minimum: () => [(a, b) => a!.minimum(b!), [n(3, 4), n(4)]],
  scalar_ops: () => [(a) => a!.add(1.5).sub(0.25).mul(-2).div(3).rsub(1), [n(3, 4)]],
  clamp: () => [(a) => a!.clamp(-0.5, 0.5), [away(4, 5)]],
  clamp_min: () => [(a) => a!.clamp(0.1), [away(4, 5)]],
  clamp_max: () => [(a) => a!.clamp(undefined, -0.1), [away(4, 5)]],

  // unary math
  neg: () => [(x) => x!.neg(), [n(3, 4)]],
  abs: () => [(x) => x!.abs(), [away(3, 4)]],
  sqrt: () => [(x) => x!.sqrt(), [u(0.3, 3, 3, 4)]],
  rsqrt: () => [(x) => x!.rsqrt(), [u(0.3, 3, 3, 4)]],
  exp: () => [(x) => x!.exp(), [n(3, 4)]],
  expm1: () => [(x) => x!.expm1(), [n(3, 4)]],
  log: () => [(x) => x!.log(), [u(0.3, 3, 3, 4)]],
  log1p: () => [(x) => x!.log1p(), [u(-0.5, 3, 3, 4)]],
  sin: () => [(x) => x!.sin(), [n(3, 4)]],
  cos: () => [(x) => x!.cos(), [n(3, 4)]],
  tan: () => [(x) => x!.tan(), [u(-1, 1, 3, 4)]],
  atan: () => [(x) => x!.atan(), [n(3, 4)]],
  tanh: () => [(x) => x!.tanh(), [n(3, 4)]],
  sigmoid: () => [(x) => x!.sigmoid(), [n(3, 4)]],
  relu: () => [(x) => x!.relu(), [away(3, 4)]],
  square: () => [(x) => x!.square(), [n(3, 4)]],
  reciprocal: () => [(x) => x!.reciprocal(), [u(0.5, 2, 3, 4)]],
  erf: () => [(x) => x!.erf(), [n(3, 4)]],
  // piecewise constant: zero gradient away from the jumps
  floor_ceil_round_trunc_sign: () => [(x) => x!.floor().add(x!.ceil()).add(x!.trunc()).add(x!.sign()).add(x!.round()), [u(0.1, 0.4, 3, 4)]],

  // reductions
  sum: () => [(x) => x!.sum(), [n(3, 4, 5)]],
  sum_dim_keepdim: () => [(x) => x!.sum(1, true), [n(3, 4, 5)]],
  sum_dims: () => [(x) => x!.sum([0, 2]), [n(3, 4, 5)]],
  mean: () => [(x) => x!.mean(), [n(3, 4, 5)]],
  mean_dims: () => [(x) => x!.mean([0, 1], true), [n(3, 4, 5)]],
  var: () => [(x) => x!.var(), [n(3, 4, 5)]],
  var_dim_biased: () => [(x) => x!.var(1, { correction: 0, keepdim: true }), [n(3, 4, 5)]],
  std: () => [(x) => x!.std(), [n(3, 4, 5)]],
  std_dim: () => [(x) => x!.std(2), [n(3, 4, 5)]],
  norm: () => [(x) => x!.norm(), [n(3, 4, 5)]],
  norm_p1_dim: () => [(x) => x!.norm(1, -1), [away(3, 4, 5)]],
  norm_p3_dims: () => [(x) => x!.norm(3, [0, 1], true), [n(3, 4, 5)]],
  amax: () => [(x) => x!.amax(1), [n(3, 4, 5)]],
  amin_all: () => [(x) => x!.amin(), [n(3, 4, 5)]],
  max_all: () => [(x) => x!.max(), [n(3, 4, 5)]],
  max_dim: () => [(x) => x!.max(2).values, [n(3, 4, 5)]],
  min_dim: () => [(x) => x!.min(0, true).values, [n(3, 4, 5)]],
  logsumexp: () => [(x) => x!.logsumexp(2), [n(3, 4, 5)]],
  logsumexp_dims: () => [(x) => x!.logsumexp([0, 2], true), [n(3, 4, 5)]],
  cumsum: () => [(x) => x!.cumsum(1), [n(3, 4, 5)]],
  prod: () => [(x) => x!.prod(), [u(0.5, 1.5, 10)]],

  // linear algebra
  matmul_2d: () => [(a, b) => a!.matmul(b!), [n(4, 5), n(5, 3)]],
  matmul_broadcast: () => [(a, b) => a!.matmul(b!), [n(2, 1, 3, 4), n(3, 4, 2)]],
  matmul_vec_mat: () => [(a, b) => a!.matmul(b!), [n(5), n(5, 3)]],
  mm: () => [(a, b) => a!.mm(b!), [n(4, 5), n(5, 3)]],
  bmm: () => [(a, b) => a!.bmm(b!), [n(2, 3, 4), n(2, 4, 2)]],
  t: () => [(a) => a!.t(), [n(3, 4)]],
  dot: () => [(a, b) => a!.dot(b!), [n(6), n(6)]],
  diagonal: () => [(x) => x!.diagonal(1, 1, 2), [n(2, 3, 4)]],
  linear: () => [(x, w, b) => F.linear(x!, w!, b!), [n(2, 3, 4), n(5, 4), n(5)]],
  linear_nobias: () => [(x, w) => F.linear(x!, w!), [n(3, 4), n(5, 4)]],

  // normalisation
  layer_norm: () => [(x, w, b) => F.layerNorm(x!, [6], w!, b!), [n(2, 3, 6), n(6), n(6)]],
  layer_norm_2d_noaffine: () => [(x) => F.layerNorm(x!, [3, 6], null, null, 1e-6), [n(2, 3, 6)]],
  group_norm: () => [(x, w, b) => F.groupNorm(x!, 2, w!, b!), [n(2, 4, 3, 3), n(4), n(4)]],
  group_norm_1_noaffine: () => [(x) => F.groupNorm(x!, 1), [n(2, 4, 2, 3)]],
  batch_norm: () => [
    (x, rm, rv, w, b) => F.batchNorm(x!, rm!, rv!, w!, b!, 1e-3),
    [n(2, 3, 3, 3), n(3), u(0.5, 2, 3), n(3), n(3)],
    { wrt: [0, 3, 4] },
  ],

  // activations
  softmax: () => [(x) => F.softmax(x!, -1), [n(3, 7)]],
  softmax_dim0: () => [(x) => F.softmax(x!, 0), [n(3, 7)]],
  log_softmax: () => [(x) => F.logSoftmax(x!, 1), [n(3, 7)]],
  gelu: () => [(x) => F.gelu(x!), [n(4, 6)]],
  gelu_tanh: () => [(x) => F.gelu(x!, 'tanh'), [n(4, 6)]],
  silu: () => [(x) => F.silu(x!), [n(4, 6)]],
  relu6: () => [(x) => F.relu6(x!.mul(4)), [torch.keep(torch.tensor([-1.2, -0.3, 0.4, 0.9, 1.3, 1.4, 1.6, 2.2], { dtype: 'float64' }))]],
  leaky_relu: () => [(x) => F.leakyRelu(x!, 0.1), [away(4, 6)]],
  softplus: () => [(x) => F.softplus(x!), [n(4, 6)]],
  softplus_beta: () => [(x) => F.softplus(x!.mul(3), 2, 5), [n(4, 6)]],

  // attention
  attention: () => [(q, k, v) => F.scaledDotProductAttention(q!, k!, v!), [n(1, 2, 3, 4), n(1, 2, 5, 4), n(1, 2, 5, 3)]],
  attention_unfused: () => [(q, k, v) => F.scaledDotProductAttention(q!, k!, v!, { fused: false }), [n(2, 3, 4), n(2, 5, 4), n(2, 5, 3)]],

  // convolution and padding
  conv2d: () => [(x, w, b) => F.conv2d(x!, w!, b!), [n(1, 2, 5, 5), n(3, 2, 3, 3), n(3)]],
  conv2d_stride_pad: () => [(x, w, b) => F.conv2d(x!, w!, b!, { stride: 2, padding: 1 }), [n(2, 2, 5, 5), n(3, 2, 3, 3), n(3)]],
  conv2d_mixed_dilation: () => [
    (x, w) => F.conv2d(x!, w!, null, { stride: [1, 2], padding: [2, 1], dilation: 2 }),
    [n(1, 2, 6, 6), n(2, 2, 3, 3)],
  ],
  conv2d_grouped: () => [(x, w, b) => F.conv2d(x!, w!, b!, { padding: 1, groups: 2 }), [n(1, 4, 4, 4), n(4, 2, 3, 3), n(4)]],
  conv2d_depthwise: () => [(x, w, b) => F.conv2d(x!, w!, b!, { padding: 1, groups: 3 }), [n(1, 3, 4, 4), n(6, 1, 3, 3), n(6)]],
  conv2d_patchify: () => [(x, w, b) => F.conv2d(x!, w!, b!, { stride: 2 }), [n(1, 3, 4, 4), n(5, 3, 2, 2), n(5)]],
  pad: () => [(x) => F.pad(x!, [1, 2, 0, 1], 0.5), [n(1, 2, 3, 4)]],

  // pooling
  avg_pool2d: () => [(x) => F.avgPool2d(x!, 2), [n(1, 2, 4, 6)]],
  avg_pool2d_pad_exclude: () => [(x) => F.avgPool2d(x!, 3, 2, 1, { countIncludePad: false }), [n(1, 2, 5, 5)]],
  avg_pool2d_ceil: () => [(x) => F.avgPool2d(x!, 3, 2, 0, { ceilMode: true }), [n(1, 2, 6, 6)]],
  max_pool2d: () => [(x) => F.maxPool2d(x!, 2), [n(1, 2, 4, 6)]],
  max_pool2d_pad: () => [(x) => F.maxPool2d(x!, 3, 2, 1), [n(1, 2, 5, 5)]],
  max_pool2d_dilation: () => [(x) => F.maxPool2d(x!, 2, 1, 0, { dilation: 2 }), [n(1, 1, 5, 5)]],
  adaptive_avg_pool2d: () => [(x) => F.adaptiveAvgPool2d(x!, [2, 3]), [n(1, 2, 5, 7)]],

  // resampling
  interp_nearest: () => [(x) => F.interpolate(x!, { scaleFactor: 2 }), [n(1, 2, 3, 3)]],
  interp_bilinear_up: () => [(x) => F.interpolate(x!, { size: [5, 7], mode: 'bilinear' }), [n(1, 2, 3, 4)]],
  interp_bilinear_up_ac: () => [(x) => F.interpolate(x!, { size: [5, 7], mode: 'bilinear', alignCorners: true }), [n(1, 2, 3, 4)]],
  interp_bilinear_down_aa: () => [(x) => F.interpolate(x!, { size: [3, 2], mode: 'bilinear', antialias: true }), [n(1, 2, 7, 6)]],
  interp_bicubic_up: () => [(x) => F.interpolate(x!, { size: [6, 7], mode: 'bicubic' }), [n(1, 1, 4, 4)]],
  interp_bicubic_up_ac: () => [(x) => F.interpolate(x!, { size: [6, 7], mode: 'bicubic', alignCorners: true }), [n(1, 1, 4, 4)]],
  interp_bicubic_down_aa: () => [(x) => F.interpolate(x!, { size: [3, 2], mode: 'bicubic', antialias: true }), [n(1, 1, 7, 6)]],

  // embedding and similarity
  embedding: () => [(w, idx) => F.embedding(w!, idx!), [n(6, 3), long([1, 0, 5, 3, 3, 1], [2, 3])]],
  normalize: () => [(x) => F.normalize(x!), [n(3, 4)]],
  normalize_p1: () => [(x) => F.normalize(x!, { p: 1, dim: -1 }), [away(3, 4)]],
  cosine_similarity: () => [(a, b) => F.cosineSimilarity(a!, b!), [n(3, 4), n(3, 4)]],
  cosine_similarity_bcast: () => [(a, b) => F.cosineSimilarity(a!, b!, -1), [n(2, 3, 4), n(3, 4)]],

  // joining and splitting (several outputs each get their own random projection)
  cat: () => [(a, b) => torch.cat([a!, b!, a!], 1), [n(2, 3), n(2, 2)]],
  stack: () => [(a, b) => torch.stack([a!, b!], -1), [n(2, 3), n(2, 3)]],
  split: () => [(x) => x!.split(2, 1), [n(2, 5)]],
  split_sizes: () => [(x) => x!.split([1, 3, 1], 1), [n(2, 5)]],
  chunk: () => [(x) => x!.chunk(2, 0), [n(3, 4)]],

  // views and shape
  view: () => [(x) => x!.view(4, -1), [n(2, 3, 4)]],
  reshape_noncontig: () => [(x) => x!.transpose(0, 2).reshape(-1, 3), [n(2, 3, 4)]],
  permute: () => [(x) => x!.permute(2, 0, 1), [n(2, 3, 4)]],
  transpose: () => [(x) => x!.transpose(0, 2), [n(2, 3, 4)]],
  flatten: () => [(x) => x!.flatten(1), [n(2, 3, 4)]],
  unsqueeze_squeeze: () => [(x) => x!.unsqueeze(1).squeeze(1).unsqueeze(0).squeeze(), [n(2, 3)]],
  expand: () => [(x) => x!.expand(3, 2, 4), [n(2, 1)]],
  repeat: () => [(x) => x!.repeat(2, 1, 3), [n(2, 3)]],
  narrow: () => [(x) => x!.narrow(1, 1, 2), [n(2, 4, 3)]],
  select: () => [(x) => x!.select(2, -1), [n(2, 4, 3)]],
  slice: () => [(x) => x!.slice(1, 1, undefined, 2), [n(2, 5, 3)]],
  flip: () => [(x) => x!.flip(0, 2), [n(2, 4, 3)]],
  contiguous_clone: () => [(x) => x!.transpose(0, 1).contiguous().clone(), [n(2, 3)]],

  // indexing
  index: () => [(x, i0, i2) => x!.index([i0!, null, i2!]), [n(4, 3, 3), long([3, 0, 0]), long([2, 1, 0])]],
  index_mask: () => [(x, m) => x!.index([m!]), [n(3, 4), torch.keep(torch.tensor([true, false, true]))]],
  index_select: () => [(x, i) => x!.indexSelect(1, i!), [n(3, 4), long([3, 0, 2, 2])]],
  gather: () => [(x, i) => x!.gather(1, i!), [n(3, 4), long([0, 3, 3, 1, 2, 0], [3, 2])]],
  where: () => [(c, a, b) => torch.where(c!, a!, b!), [torch.keep(torch.tensor([[true, false, true]])), n(2, 3), n(2, 1)]],
  masked_fill: () => [(x, m) => x!.maskedFill(m!, 2.5), [n(2, 3), torch.keep(torch.tensor([true, false, false]))]],

  // in-place updates recorded on non-leaf tensors
  inplace_chain: () => [
    (x, y, z) => {
      const t = x!.mul(1.5);
      t.add_(y!, 0.5).mul_(z!).addcmul_(y!, z!, 0.3).addcdiv_(y!, z!.abs().add(1), -0.2).div_(2);
      return t;
    },
    [n(3, 4), n(3, 4), away(4)],
  ],
  inplace_copy_fill_zero: () => [
    (x, y) => {
      const t = x!.mul(2);
      t.narrow(1, 0, 2).copy_(y!); // gradient of the overwritten part goes to y, not x
      t.narrow(1, 2, 1).fill_(0.5);
      t.narrow(1, 3, 1).zero_();
      return t.mul(x!);
    },
    [n(3, 5), n(3, 2)],
  ],
  where_scalar: () => [
    (c, a) => torch.where(c!, a!, 0.5).add(torch.where(c!, -1, a!)),
    [torch.keep(torch.tensor([true, false, true])), n(2, 3)],
  ],
  masked_fill_tensor_value: () => [(x, m, v) => x!.maskedFill(m!, v!), [n(2, 3), torch.keep(torch.tensor([true, false, true])), n()]],
  interp_bilinear_down: () => [(x) => F.interpolate(x!, { size: [2, 3], mode: 'bilinear' }), [n(1, 1, 5, 6)]],
  interp_bicubic_down: () => [(x) => F.interpolate(x!, { size: [2, 3], mode: 'bicubic' }), [n(1, 1, 5, 6)]],
  dtype_round_trip: () => [(x) => x!.to('float64').mul(x!), [n(3)]],
  inplace_clamp_lerp: () => [(x, y) => x!.mul(1).clamp_(-0.5, 0.5).lerp_(y!, 0.3), [away(3, 4), n(3, 4)]],
};

describe('gradients against finite differences (float64)', () => {
  for (const [name, make] of Object.entries(CHECKS)) {
    test(name, () => {
      const before = torch.liveTensors();
      const [fn, inputs, opts] = make();
      const r = gradcheck(fn, inputs, opts);
      assert.ok(r.checked > 0);
      for (const t of inputs) t.dispose();
      assert.equal(torch.liveTensors(), before, `${name}: gradcheck released everything`);
    });
  }
});
