/**
 * Every operator of the Tensor API against PyTorch: test/reference/ops/make_ops.py computed the
 * inputs and outputs of each case with Debian's PyTorch 1.13 and stored them in
 * test/fixtures/ops/ops.safetensors; here each case is recomputed through reg-ts and compared.
 *
 * Tolerances (float32):
 * - `exact`: data movement (views, indexing, joins, copies), integer and boolean results, random
 *   numbers from seeded generators, dtype conversions. Nothing is computed, so every bit must match.
 * - `ew` (1e-6 relative): elementwise math. Each output element is one short computation on the same
 *   float32 inputs; libtorch's vectorised (SLEEF/AVX) and scalar paths can differ by a few ulps
 *   (float32 ulp = 1.2e-7 relative), so 1e-6 leaves room for ~8 ulps and nothing more.
 * - `red` (1e-5 relative to the output's scale): reductions, matmul, convolution, normalisation,
 *   attention, resampling. These sum tens to hundreds of products; the summation order depends on
 *   blocking and threads (OpenBLAS, oneDNN), and the rounding error of a float32 sum of n terms
 *   grows like √n·ulp. 1e-5 bounds that for the sizes used here (n ≤ 128).
 * For `ew` and `red` an element passes when |a − e| ≤ rtol·max(|e|, s), where s is the largest
 * |e| of the tensor times 1e-3 for `ew` and the RMS of the output for `red`: an absolute floor
 * keeps outputs that cancel to ~0 (sin near π, a centred sum) from demanding more accuracy than
 * their inputs carry.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { opFixture, opFixturePath, type CaseInputs, type OpFixture } from '../../test/op-fixture.js';
import * as torch from './index.js';
import { F, type Tensor } from './index.js';

// -------------------------------------------------------------------------------------------------
// Fixture reading (a minimal safetensors reader, independent of src/torch/io)
// -------------------------------------------------------------------------------------------------

const ST_DTYPES: Record<string, torch.DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
  BOOL: 'bool',
};

function readFixtures(file: string): OpFixture {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, Tensor>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = value as Entry;
    const dtype = ST_DTYPES[info.dtype];
    if (!dtype) throw new Error(`fixture ${name}: unsupported dtype ${info.dtype}`);
    const [b, e] = info.data_offsets;
    tensors.set(name, torch.keep(torch.fromBytes(buf.subarray(8 + n + b, 8 + n + e), dtype, info.shape)));
  }
  return opFixture(tensors, metadata);
}

// -------------------------------------------------------------------------------------------------
// Comparison
// -------------------------------------------------------------------------------------------------

type Tol = 'exact' | 'ew' | 'red';
const RTOL: Record<Exclude<Tol, 'exact'>, number> = { ew: 1e-6, red: 1e-5 };

/** Worst relative error seen per tolerance class (printed at the end with REGTS_TEST_VERBOSE=1). */
const worst: Record<Tol, { err: number; name: string }> = {
  exact: { err: 0, name: '' },
  ew: { err: 0, name: '' },
  red: { err: 0, name: '' },
};

function assertMatches(name: string, actual: Tensor, expected: Tensor, tol: Tol): void {
  assert.deepEqual(actual.shape, expected.shape, `${name}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${name}: dtype`);
  const floating = torch.isFloatingPoint(expected.dtype);
  if (tol === 'exact' || !floating) {
    const a = actual.toBytes();
    const e = expected.toBytes();
    if (Buffer.compare(a, e) !== 0) {
      assert.deepEqual(actual.toArray(), expected.toArray(), `${name}: values must match exactly`);
      assert.fail(`${name}: values equal but bytes differ (signed zero or NaN payload)`);
    }
    return;
  }
  const a = actual.toArray();
  const e = expected.toArray();
  const maxAbs = e.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0);
  const rms = Math.sqrt(e.reduce((s, v) => (Number.isFinite(v) ? s + v * v : s), 0) / Math.max(1, e.length));
  const floor = tol === 'ew' ? maxAbs * 1e-3 : rms;
  const rtol = RTOL[tol];
  for (let i = 0; i < e.length; i++) {
    const ev = e[i]!;
    const av = a[i]!;
    if (Number.isNaN(ev) || !Number.isFinite(ev)) {
      assert.ok(Object.is(av, ev), `${name}[${i}]: expected ${ev}, got ${av}`);
      continue;
    }
    const scale = Math.max(Math.abs(ev), floor, Number.MIN_VALUE);
    const err = Math.abs(av - ev) / scale;
    if (err > worst[tol].err) worst[tol] = { err, name };
    if (!(err <= rtol)) assert.fail(`${name}[${i}]: got ${av}, PyTorch ${ev} (relative error ${err.toExponential(2)} > ${rtol})`);
  }
}

// -------------------------------------------------------------------------------------------------
// The cases: name → [tolerance, computation through reg-ts]
// -------------------------------------------------------------------------------------------------

type In = CaseInputs;
type Out = Tensor | Tensor[];
type Case = [Tol, (i: In) => Out];

const gen = (seed: number): torch.Generator => new torch.Generator(seed);

const CASES: Record<string, Case> = {
  // creation
  arange_int: ['exact', () => torch.arange(0, 10, 3)],
  arange_neg: ['exact', () => torch.arange(5, -3, -2)],
  arange_float: ['exact', () => torch.arange(0.5, 3.0, 0.25)],
  linspace: ['ew', () => torch.linspace(-1, 2, 7)],
  linspace_f64: ['ew', () => torch.linspace(0, 1, 11, { dtype: 'float64' })],
  full: ['exact', () => torch.full([2, 3], 2.5)],
  full_int32: ['exact', () => torch.full([2, 2], 7, { dtype: 'int32' })],
  zeros_int64: ['exact', () => torch.zeros([2, 3], { dtype: 'int64' })],
  ones_f64: ['exact', () => torch.ones([3], { dtype: 'float64' })],
  eye: ['exact', () => torch.eye(4)],
  eye_f64: ['exact', () => torch.eye(3, { dtype: 'float64' })],
  zeros_like: ['exact', (i) => torch.zerosLike(i.x!)],
  ones_like_int: ['exact', (i) => torch.onesLike(i.x!, { dtype: 'int32' })],
  full_like: ['exact', (i) => torch.fullLike(i.x!, -1.5)],
  tensor_nested: [
    'exact',
    () =>
      torch.tensor([
        [1.5, -2.0, 3.25],
        [0.0, 1e-3, 7.0],
      ]),
  ],
  tensor_bool: ['exact', () => torch.tensor([true, false, true])],

  // random numbers: bit-exact with PyTorch's CPU generator
  rng_randn_small: ['exact', () => torch.randn([5], { generator: gen(42) })],
  rng_randn_large: ['exact', () => torch.randn([3, 50], { generator: gen(42) })],
  rng_randn_f64: ['exact', () => torch.randn([20], { generator: gen(7), dtype: 'float64' })],
  rng_rand: ['exact', () => torch.rand([4, 7], { generator: gen(7) })],
  rng_rand_f64: ['exact', () => torch.rand([9], { generator: gen(7), dtype: 'float64' })],
  rng_randint: ['exact', () => torch.randint(-5, 17, [30], { generator: gen(3) })],
  rng_randperm: ['exact', () => torch.randperm(20, { generator: gen(3) })],
  rng_stream: [
    'exact',
    () => {
      const g = gen(123);
      return [
        torch.randn([7], { generator: g }),
        torch.rand([9], { generator: g }),
        torch.randint(0, 100, [11], { generator: g }),
        torch.randn([33], { generator: g }),
      ];
    },
  ],
  rng_global: [
    'exact',
    () => {
      torch.manualSeed(2024);
      return [torch.randn([10]), torch.rand([3])];
    },
  ],

  // dtype conversions
  to_bfloat16: ['exact', (i) => i.x!.to('bfloat16')],
  to_float16: ['exact', (i) => i.x!.to('float16')],
  to_int32: ['exact', (i) => i.x!.to('int32')],
  to_float64: ['exact', (i) => i.x!.double()],
  bfloat16_to_float32: ['exact', (i) => i.x!.float()],
  int64_to_float32: ['exact', (i) => i.x!.float()],
  bool_to_float32: ['exact', (i) => i.x!.to('float32')],

  // broadcasting arithmetic
  add: ['ew', (i) => i.a!.add(i.b!)],
  add_alpha: ['ew', (i) => i.a!.add(i.b!, 0.5)],
  sub: ['ew', (i) => i.a!.sub(i.b!)],
  sub_alpha: ['ew', (i) => i.a!.sub(i.b!, 2)],
  mul: ['ew', (i) => i.a!.mul(i.b!)],
  div: ['ew', (i) => i.a!.div(i.b!)],
  pow: ['ew', (i) => i.a!.pow(i.b!)],
  pow_scalar: ['ew', (i) => i.a!.pow(2.5)],
  pow_int_scalar: ['ew', (i) => i.a!.pow(3)],
  remainder: ['ew', (i) => i.a!.remainder(i.b!)],
  remainder_scalar: ['ew', (i) => i.a!.remainder(1.5)],
  maximum: ['exact', (i) => i.a!.maximum(i.b!)],
  minimum: ['exact', (i) => i.a!.minimum(i.b!)],
  add_scalar: ['ew', (i) => i.a!.add(1.25)],
  sub_scalar: ['ew', (i) => i.a!.sub(3)],
  mul_scalar: ['ew', (i) => i.a!.mul(-0.75)],
  div_scalar: ['ew', (i) => i.a!.div(3)],
  rsub_scalar: ['ew', (i) => i.a!.rsub(2)],
  int_add_scalar: ['exact', (i) => i.a!.add(5)],
  int_mul: ['exact', (i) => i.a!.mul(i.b!)],
  int_div: ['ew', (i) => i.a!.div(i.b!)],
  int_remainder: ['exact', (i) => i.a!.remainder(i.b!)],
  int_plus_float_scalar: ['exact', (i) => i.a!.add(0.5)],
  eq: ['exact', (i) => i.a!.eq(i.b!)],
  ne: ['exact', (i) => i.a!.ne(i.b!)],
  lt: ['exact', (i) => i.a!.lt(i.b!)],
  le: ['exact', (i) => i.a!.le(i.b!)],
  gt: ['exact', (i) => i.a!.gt(i.b!)],
  ge: ['exact', (i) => i.a!.ge(i.b!)],
  eq_scalar: ['exact', (i) => i.a!.eq(0)],
  gt_scalar: ['exact', (i) => i.a!.gt(0.1)],
  logical_and: ['exact', (i) => i.a!.logicalAnd(i.b!)],
  logical_or: ['exact', (i) => i.a!.logicalOr(i.b!)],
  logical_not: ['exact', (i) => i.a!.logicalNot()],
  all: ['exact', (i) => [i.a!.all(), torch.ones([3], { dtype: 'bool' }).all()]],
  any: ['exact', (i) => [i.a!.any(), torch.zeros([3], { dtype: 'bool' }).any()]],

  // unary math
  neg: ['exact', (i) => i.x!.neg()],
  abs: ['exact', (i) => i.x!.abs()],
  sqrt: ['ew', (i) => i.x!.sqrt()],
  rsqrt: ['ew', (i) => i.x!.rsqrt()],
  exp: ['ew', (i) => i.x!.exp()],
  expm1: ['ew', (i) => i.x!.expm1()],
  log: ['ew', (i) => i.x!.log()],
  log1p: ['ew', (i) => i.x!.log1p()],
  sin: ['ew', (i) => i.x!.sin()],
  cos: ['ew', (i) => i.x!.cos()],
  tan: ['ew', (i) => i.x!.tan()],
  atan: ['ew', (i) => i.x!.atan()],
  tanh: ['ew', (i) => i.x!.tanh()],
  sigmoid: ['ew', (i) => i.x!.sigmoid()],
  relu: ['exact', (i) => i.x!.relu()],
  square: ['ew', (i) => i.x!.square()],
  reciprocal: ['ew', (i) => i.x!.reciprocal()],
  erf: ['ew', (i) => i.x!.erf()],
  sign: ['exact', (i) => i.x!.sign()],
  floor: ['exact', (i) => i.x!.floor()],
  ceil: ['exact', (i) => i.x!.ceil()],
  round: ['exact', (i) => i.x!.round()],
  trunc: ['exact', (i) => i.x!.trunc()],
  isnan: ['exact', (i) => i.x!.isnan()],
  isfinite: ['exact', (i) => i.x!.isfinite()],
  clamp: ['exact', (i) => i.x!.clamp(-1.0, 0.5)],
  clamp_min: ['exact', (i) => i.x!.clamp(-0.25)],
  clamp_max: ['exact', (i) => i.x!.clamp(undefined, 1.0)],
  clamp_int: ['exact', (i) => i.x!.clamp(-5, 5)],

  // reductions
  sum: ['red', (i) => i.x!.sum()],
  sum_dim_keepdim: ['red', (i) => i.x!.sum(1, true)],
  sum_dims: ['red', (i) => i.x!.sum([0, 2])],
  sum_int: ['exact', (i) => i.x!.sum()],
  mean: ['red', (i) => i.x!.mean()],
  mean_dim: ['red', (i) => i.x!.mean(-1)],
  mean_dims_keepdim: ['red', (i) => i.x!.mean([0, 1], true)],
  var: ['red', (i) => i.x!.var()],
  var_dim_biased: ['red', (i) => i.x!.var(1, { correction: 0, keepdim: true })],
  std: ['red', (i) => i.x!.std()],
  std_dim: ['red', (i) => i.x!.std(2)],
  norm: ['red', (i) => i.x!.norm()],
  norm_p1_dim: ['red', (i) => i.x!.norm(1, -1)],
  norm_p3_dims_keepdim: ['red', (i) => i.x!.norm(3, [0, 1], true)],
  amax_dim: ['exact', (i) => i.x!.amax(1)],
  amax_all: ['exact', (i) => i.x!.amax()],
  amin_dims: ['exact', (i) => i.x!.amin([0, 2], true)],
  argmax: ['exact', (i) => i.x!.argmax()],
  argmax_dim_keepdim: ['exact', (i) => i.x!.argmax(2, true)],
  argmin_dim: ['exact', (i) => i.x!.argmin(0)],
  max_all: ['exact', (i) => i.x!.max()],
  min_all: ['exact', (i) => i.x!.min()],
  max_dim: [
    'exact',
    (i) => {
      const m = i.x!.max(1);
      return [m.values, m.indices];
    },
  ],
  min_dim_keepdim: [
    'exact',
    (i) => {
      const m = i.x!.min(-1, true);
      return [m.values, m.indices];
    },
  ],
  logsumexp: ['red', (i) => i.x!.logsumexp(2)],
  logsumexp_dims_keepdim: ['red', (i) => i.x!.logsumexp([0, 1], true)],
  cumsum: ['red', (i) => i.x!.cumsum(1)],
  cumsum_int: ['exact', (i) => i.x!.cumsum(1)],
  prod: ['red', (i) => i.x!.prod()],

  // linear algebra
  matmul_2d: ['red', (i) => i.a!.matmul(i.b!)],
  matmul_broadcast: ['red', (i) => i.a!.matmul(i.b!)],
  matmul_vec_mat: ['red', (i) => i.a!.matmul(i.b!)],
  matmul_mat_vec: ['red', (i) => i.a!.matmul(i.b!)],
  mm: ['red', (i) => i.a!.mm(i.b!)],
  bmm: ['red', (i) => i.a!.bmm(i.b!)],
  linear: ['red', (i) => F.linear(i.x!, i.w!, i.b!)],
  linear_nobias: ['red', (i) => F.linear(i.x!, i.w!)],
  t: ['exact', (i) => i.x!.t()],
  dot: ['red', (i) => i.a!.dot(i.b!)],
  diagonal: ['exact', (i) => i.x!.diagonal()],
  diagonal_offset_dims: ['exact', (i) => i.x!.diagonal(1, 1, 2)],
  diagonal_negative: ['exact', (i) => i.x!.diagonal(-1, 0, 2)],

  // normalisation, activations, attention
  layer_norm: ['red', (i) => F.layerNorm(i.x!, [8], i.w!, i.b!)],
  layer_norm_noaffine: ['red', (i) => F.layerNorm(i.x!, [8])],
  layer_norm_2d_eps: ['red', (i) => F.layerNorm(i.x!, [5, 8], null, null, 1e-6)],
  group_norm: ['red', (i) => F.groupNorm(i.x!, 3, i.w!, i.b!)],
  group_norm_1_noaffine: ['red', (i) => F.groupNorm(i.x!, 1)],
  batch_norm: ['ew', (i) => F.batchNorm(i.x!, i.rm!, i.rv!, i.w!, i.b!, 1e-3)],
  batch_norm_noaffine: ['ew', (i) => F.batchNorm(i.x!, i.rm!, i.rv!)],
  softmax: ['red', (i) => F.softmax(i.x!, -1)],
  softmax_dim0: ['red', (i) => F.softmax(i.x!, 0)],
  log_softmax: ['red', (i) => F.logSoftmax(i.x!, -1)],
  gelu: ['ew', (i) => F.gelu(i.x!)],
  gelu_tanh: ['ew', (i) => F.gelu(i.x!, 'tanh')],
  silu: ['ew', (i) => F.silu(i.x!)],
  relu6: ['exact', (i) => F.relu6(i.x!)],
  leaky_relu: ['ew', (i) => F.leakyRelu(i.x!, 0.1)],
  softplus: ['ew', (i) => F.softplus(i.x!)],
  softplus_beta: ['ew', (i) => F.softplus(i.x!, 2, 5)],
  attention: ['red', (i) => F.scaledDotProductAttention(i.q!, i.k!, i.v!)],

  // convolution, padding, pooling, resampling
  conv2d: ['red', (i) => F.conv2d(i.x!, i.w!, i.b!)],
  conv2d_stride: ['red', (i) => F.conv2d(i.x!, i.w!, i.b!, { stride: 2 })],
  conv2d_pad: ['red', (i) => F.conv2d(i.x!, i.w!, null, { padding: 1 })],
  conv2d_mixed: ['red', (i) => F.conv2d(i.x!, i.w!, i.b!, { stride: [1, 2], padding: [2, 1], dilation: 2 })],
  conv2d_grouped: ['red', (i) => F.conv2d(i.x!, i.w!, i.b!, { padding: 1, groups: 2 })],
  conv2d_depthwise: ['red', (i) => F.conv2d(i.x!, i.w!, i.b!, { padding: 1, groups: 4 })],
  conv2d_patchify: ['red', (i) => F.conv2d(i.x!, i.w!, i.b!, { stride: 2 })],
  conv2d_1x1: ['red', (i) => F.conv2d(i.x!, i.w!)],
  pad: ['exact', (i) => F.pad(i.x!, [1, 2, 0, 1], 0.5)],
  pad_last: ['exact', (i) => F.pad(i.x!, [2, 3])],
  avg_pool2d: ['red', (i) => F.avgPool2d(i.x!, 2)],
  avg_pool2d_pad_exclude: ['red', (i) => F.avgPool2d(i.x!, 3, 2, 1, { countIncludePad: false })],
  avg_pool2d_ceil: ['red', (i) => F.avgPool2d(i.x!, 3, 2, 0, { ceilMode: true })],
  max_pool2d: ['exact', (i) => F.maxPool2d(i.x!, 2)],
  max_pool2d_pad: ['exact', (i) => F.maxPool2d(i.x!, 3, 2, 1)],
  max_pool2d_dilation_ceil: ['exact', (i) => F.maxPool2d(i.x!, 2, 2, 0, { dilation: 2, ceilMode: true })],
  adaptive_avg_pool2d: ['red', (i) => F.adaptiveAvgPool2d(i.x!, [3, 4])],
  adaptive_avg_pool2d_1: ['red', (i) => F.adaptiveAvgPool2d(i.x!, 1)],
  interp_nearest: ['exact', (i) => F.interpolate(i.x!, { size: [4, 5] })],
  interp_nearest_scale: ['exact', (i) => F.interpolate(i.x!, { scaleFactor: 2, mode: 'nearest' })],
  interp_bilinear_up: ['red', (i) => F.interpolate(i.x!, { size: [13, 17], mode: 'bilinear' })],
  interp_bilinear_up_ac: ['red', (i) => F.interpolate(i.x!, { size: [13, 17], mode: 'bilinear', alignCorners: true })],
  interp_bilinear_down: ['red', (i) => F.interpolate(i.x!, { size: [3, 4], mode: 'bilinear' })],
  interp_bilinear_down_aa: ['red', (i) => F.interpolate(i.x!, { size: [3, 4], mode: 'bilinear', antialias: true })],
  interp_bilinear_scale: ['red', (i) => F.interpolate(i.x!, { scaleFactor: 1.5, mode: 'bilinear' })],
  interp_bicubic_up: ['red', (i) => F.interpolate(i.x!, { size: [16, 20], mode: 'bicubic' })],
  interp_bicubic_up_ac: ['red', (i) => F.interpolate(i.x!, { size: [16, 20], mode: 'bicubic', alignCorners: true })],
  interp_bicubic_down: ['red', (i) => F.interpolate(i.x!, { size: [3, 4], mode: 'bicubic' })],
  interp_bicubic_down_aa: ['red', (i) => F.interpolate(i.x!, { size: [3, 4], mode: 'bicubic', antialias: true })],
  interp_bicubic_down_aa_ac: ['red', (i) => F.interpolate(i.x!, { size: [5, 3], mode: 'bicubic', antialias: true, alignCorners: true })],

  // embedding, similarity
  embedding: ['exact', (i) => F.embedding(i.w!, i.idx!)],
  normalize: ['red', (i) => F.normalize(i.x!)],
  normalize_p1_last: ['red', (i) => F.normalize(i.x!, { p: 1, dim: -1 })],
  normalize_zero_row: ['exact', (i) => F.normalize(i.x!)],
  cosine_similarity: ['red', (i) => F.cosineSimilarity(i.a!, i.b!)],
  cosine_similarity_bcast: ['red', (i) => F.cosineSimilarity(i.a!, i.b!, -1)],

  // joining and splitting
  cat: ['exact', (i) => torch.cat([i.a!, i.b!, i.c!])],
  cat_last: ['exact', (i) => torch.cat([i.a!, i.b!], -1)],
  stack: ['exact', (i) => torch.stack([i.a!, i.a!.mul(2), i.a!.mul(3)], 1)],
  split: ['exact', (i) => i.x!.split(2, 1)],
  split_sizes: ['exact', (i) => i.x!.split([1, 4, 2], 1)],
  chunk: ['exact', (i) => i.x!.chunk(3, 1)],
  chunk_last: ['exact', (i) => i.x!.chunk(2, -1)],

  // views and shape
  view: ['exact', (i) => i.x!.view(4, -1)],
  reshape_noncontig: ['exact', (i) => i.x!.transpose(0, 2).reshape(-1, 3)],
  permute: ['exact', (i) => i.x!.permute(2, 0, 1)],
  transpose: ['exact', (i) => i.x!.transpose(0, 2)],
  flatten: ['exact', (i) => i.x!.flatten()],
  flatten_1: ['exact', (i) => i.x!.flatten(1)],
  flatten_0_1: ['exact', (i) => i.x!.flatten(0, 1)],
  unsqueeze: ['exact', (i) => i.x!.unsqueeze(1)],
  squeeze: ['exact', (i) => i.x!.squeeze()],
  squeeze_dim: ['exact', (i) => i.x!.squeeze(0)],
  expand: ['exact', (i) => i.x!.expand(2, 5, 4)],
  repeat: ['exact', (i) => i.x!.repeat(2, 1, 3)],
  narrow: ['exact', (i) => i.x!.narrow(1, 1, 2)],
  select: ['exact', (i) => i.x!.select(2, -1)],
  slice: ['exact', (i) => i.x!.slice(1, 1, undefined, 2)],
  slice_neg: ['exact', (i) => i.x!.slice(-1, -3, -1)],
  slice_step3: ['exact', (i) => i.x!.slice(2, undefined, undefined, 3)],
  flip: ['exact', (i) => i.x!.flip(0, 2)],
  contiguous: ['exact', (i) => i.x!.transpose(1, 2).contiguous()],
  clone: ['exact', (i) => i.x!.clone()],

  // indexing
  index: ['exact', (i) => i.x!.index([i.i0!, null, i.i2!])],
  index_first: ['exact', (i) => i.x!.index([i.i0!])],
  index_mask: ['exact', (i) => i.x!.index([i.mask!])],
  index_select: ['exact', (i) => i.x!.indexSelect(1, i.idx!)],
  gather: ['exact', (i) => i.x!.gather(1, i.idx!)],
  gather_dim0: ['exact', (i) => i.x!.gather(0, i.idx!)],
  where: ['exact', (i) => torch.where(i.cond!, i.a!, i.b!)],
  where_scalar_other: ['exact', (i) => torch.where(i.cond!, i.a!, 0.5)],
  where_scalar_self: ['exact', (i) => torch.where(i.cond!, -2.0, i.b!)],
  masked_fill: ['exact', (i) => i.x!.maskedFill(i.mask!, -1e4)],
  masked_fill_tensor: ['exact', (i) => i.x!.maskedFill(i.mask!, i.v!)],

  // in-place updates (on a clone, as the reference)
  add_: ['ew', (i) => i.x!.clone().add_(i.y!, -0.1)],
  add_scalar_: ['ew', (i) => i.x!.clone().add_(2.5)],
  sub_: ['ew', (i) => i.x!.clone().sub_(i.y!, 3)],
  mul_: ['ew', (i) => i.x!.clone().mul_(i.z!)],
  mul_scalar_: ['ew', (i) => i.x!.clone().mul_(0.9)],
  div_: ['ew', (i) => i.x!.clone().div_(i.z!)],
  div_scalar_: ['ew', (i) => i.x!.clone().div_(7)],
  addcmul_: ['ew', (i) => i.x!.clone().addcmul_(i.y!, i.z!, 0.3)],
  addcdiv_: ['ew', (i) => i.x!.clone().addcdiv_(i.y!, i.z!, -0.01)],
  lerp_: ['ew', (i) => i.x!.clone().lerp_(i.y!, 0.999)],
  copy_: ['exact', (i) => i.x!.clone().copy_(i.z!)],
  fill_: ['exact', (i) => i.x!.clone().fill_(-3.5)],
  zero_: ['exact', (i) => i.x!.clone().zero_()],
  clamp_: ['exact', (i) => i.x!.clone().clamp_(-0.5, 0.5)],
};

// -------------------------------------------------------------------------------------------------

const fx = readFixtures(opFixturePath('ops.safetensors', 'make_ops.py'));
const { inputsOf, outputsOf } = fx;

describe('operators against PyTorch fixtures', () => {
  test('fixture file and TypeScript table cover the same cases', () => {
    assert.ok(fx.cases.length > 200, 'fixture lists its cases');
    assert.deepEqual([...fx.cases].sort(), Object.keys(CASES).sort());
  });

  for (const name of fx.cases) {
    const entry = CASES[name];
    if (!entry) continue; // reported by the coverage test above
    const [tol, run] = entry;
    test(name, () => {
      const before = torch.liveTensors();
      torch.scope(() => {
        const got = run(inputsOf(name));
        const actual = Array.isArray(got) ? got : [got];
        const expected = outputsOf(name);
        assert.equal(actual.length, expected.length, `${name}: number of outputs`);
        actual.forEach((a, k) => assertMatches(expected.length > 1 ? `${name}.out.${k}` : name, a, expected[k]!, tol));
      });
      assert.equal(torch.liveTensors(), before, `${name}: every intermediate released by the scope`);
    });
  }

  test('unfused attention fallback matches the fixture too', () => {
    torch.scope(() => {
      const i = inputsOf('attention');
      assertMatches(
        'attention(fused=false)',
        F.scaledDotProductAttention(i.q!, i.k!, i.v!, { fused: false }),
        outputsOf('attention')[0]!,
        'red',
      );
    });
  });

  test('worst errors per tolerance class', () => {
    if (process.env.REGTS_TEST_VERBOSE) {
      for (const [k, v] of Object.entries(worst)) console.log(`${k}: worst relative error ${v.err.toExponential(2)} (${v.name})`);
    }
    assert.ok(worst.ew.err <= RTOL.ew && worst.red.err <= RTOL.red);
  });
});
