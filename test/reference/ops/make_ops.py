"""Reference values of every operator the reg-ts Tensor API exposes, computed by PyTorch.

Run with Debian's PyTorch (python3-torch 1.13; the `python3` on PATH does not see it):

    /usr/bin/python3 test/reference/ops/make_ops.py

It writes test/fixtures/ops/ops.safetensors. Each case `NAME` stores its inputs as `NAME.in.KEY`
and its output(s) as `NAME.out` (one tensor) or `NAME.out.0`, `NAME.out.1`, ... (several).
src/torch/ops.test.ts recomputes every case through the TypeScript API and compares; it also
checks that every case here has a TypeScript counterpart (and the other way round), so the
case names below are the contract between the two files.

Inputs are drawn from one seeded generator and stored, so the TypeScript side never needs to
reproduce them; the random-number cases (`rng_*`) are the exception: there TypeScript draws from
its own generator with the same seed and must get the same bits.

Tolerances are decided in ops.test.ts (exact / elementwise 1e-6 / reduction 1e-5).
"""

import math
import os

import torch
import torch.nn.functional as F

from op_cases import OpCases

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "ops", "ops.safetensors")

CASES = OpCases(20240601)
G = CASES.generator
randn, case = CASES.randn, CASES.case
uniform = CASES.uniform


# ------------------------------------------------------------------------------------------------
# Creation
# ------------------------------------------------------------------------------------------------

case("arange_int", torch.arange(0, 10, 3))
case("arange_neg", torch.arange(5, -3, -2))
case("arange_float", torch.arange(0.5, 3.0, 0.25))
case("linspace", torch.linspace(-1, 2, 7))
case("linspace_f64", torch.linspace(0, 1, 11, dtype=torch.float64))
case("full", torch.full((2, 3), 2.5))
case("full_int32", torch.full((2, 2), 7, dtype=torch.int32))
case("zeros_int64", torch.zeros(2, 3, dtype=torch.int64))
case("ones_f64", torch.ones(3, dtype=torch.float64))
case("eye", torch.eye(4))
case("eye_f64", torch.eye(3, dtype=torch.float64))
x = randn(2, 3)
case("zeros_like", torch.zeros_like(x), x=x)
case("ones_like_int", torch.ones_like(x, dtype=torch.int32), x=x)
case("full_like", torch.full_like(x, -1.5), x=x)
case("tensor_nested", torch.tensor([[1.5, -2.0, 3.25], [0.0, 1e-3, 7.0]]))
case("tensor_bool", torch.tensor([True, False, True]))

# Random numbers: libtorch's CPU generator is PyTorch's (mt19937 seeded the same way), so the
# TypeScript side must reproduce these bit for bit. randn below 16 elements takes a scalar path,
# from 16 up a vectorised Box-Muller: both are covered.
g = torch.Generator().manual_seed(42)
case("rng_randn_small", torch.randn(5, generator=g))
g = torch.Generator().manual_seed(42)
case("rng_randn_large", torch.randn(3, 50, generator=g))
g = torch.Generator().manual_seed(7)
case("rng_randn_f64", torch.randn(20, generator=g, dtype=torch.float64))
g = torch.Generator().manual_seed(7)
case("rng_rand", torch.rand(4, 7, generator=g))
g = torch.Generator().manual_seed(7)
case("rng_rand_f64", torch.rand(9, generator=g, dtype=torch.float64))
g = torch.Generator().manual_seed(3)
case("rng_randint", torch.randint(-5, 17, (30,), generator=g))
g = torch.Generator().manual_seed(3)
case("rng_randperm", torch.randperm(20, generator=g))
g = torch.Generator().manual_seed(123)  # one stream, several draws in a row
case("rng_stream", [torch.randn(7, generator=g), torch.rand(9, generator=g),
                    torch.randint(0, 100, (11,), generator=g), torch.randn(33, generator=g)])
torch.manual_seed(2024)  # the global CPU generator
case("rng_global", [torch.randn(10), torch.rand(3)])

# dtype conversions (round to nearest even for the narrow floats; truncation toward zero for ints)
x = torch.cat([randn(20) * 100, torch.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 65504.0, 1e-8, -0.0])])
case("to_bfloat16", x.to(torch.bfloat16), x=x)
case("to_float16", x.to(torch.float16), x=x)
case("to_int32", x.to(torch.int32), x=x)
case("to_float64", x.to(torch.float64), x=x)
xb = randn(6).to(torch.bfloat16)
case("bfloat16_to_float32", xb.to(torch.float32), x=xb)
xi = torch.randint(-1000, 1000, (8,), generator=G)
case("int64_to_float32", xi.to(torch.float32), x=xi)
xm = torch.tensor([True, False, True, True])
case("bool_to_float32", xm.to(torch.float32), x=xm)

# ------------------------------------------------------------------------------------------------
# Broadcasting arithmetic, comparisons, logic
# ------------------------------------------------------------------------------------------------

a = randn(3, 1, 4)
b = randn(5, 4)
p = uniform(0.5, 2.0, 3, 1, 4)
case("add", a + b, a=a, b=b)
case("add_alpha", torch.add(a, b, alpha=0.5), a=a, b=b)
case("sub", a - b, a=a, b=b)
case("sub_alpha", torch.sub(a, b, alpha=2), a=a, b=b)
case("mul", a * b, a=a, b=b)
case("div", a / b, a=a, b=b)
case("pow", torch.pow(p, b), a=p, b=b)
case("pow_scalar", torch.pow(p, 2.5), a=p)
case("pow_int_scalar", torch.pow(a, 3), a=a)
case("remainder", torch.remainder(a * 3, b), a=a * 3, b=b)
case("remainder_scalar", torch.remainder(a * 3, 1.5), a=a * 3)
case("maximum", torch.maximum(a, b), a=a, b=b)
case("minimum", torch.minimum(a, b), a=a, b=b)
case("add_scalar", a + 1.25, a=a)
case("sub_scalar", a - 3, a=a)
case("mul_scalar", a * -0.75, a=a)
case("div_scalar", a / 3, a=a)
case("rsub_scalar", 2 - a, a=a)
ia = torch.randint(-20, 20, (2, 3), generator=G)
ib = torch.randint(1, 7, (3,), generator=G)
case("int_add_scalar", ia + 5, a=ia)          # stays int64
case("int_mul", ia * ib, a=ia, b=ib)
case("int_div", ia / ib, a=ia, b=ib)          # true division: float32
case("int_remainder", torch.remainder(ia, ib), a=ia, b=ib)
case("int_plus_float_scalar", ia + 0.5, a=ia)  # promotes to float32
c = torch.round(randn(3, 1, 4))
d = torch.round(randn(5, 4))
case("eq", c == d, a=c, b=d)
case("ne", c != d, a=c, b=d)
case("lt", a < b, a=a, b=b)
case("le", c <= d, a=c, b=d)
case("gt", a > b, a=a, b=b)
case("ge", c >= d, a=c, b=d)
case("eq_scalar", c == 0, a=c)
case("gt_scalar", a > 0.1, a=a)
m1 = randn(3, 4) > 0
m2 = randn(4) > 0
case("logical_and", torch.logical_and(m1, m2), a=m1, b=m2)
case("logical_or", torch.logical_or(m1, m2), a=m1, b=m2)
case("logical_not", torch.logical_not(m1), a=m1)
case("all", [m1.all(), torch.ones(3, dtype=torch.bool).all()], a=m1)
case("any", [m1.any(), torch.zeros(3, dtype=torch.bool).any()], a=m1)

# ------------------------------------------------------------------------------------------------
# Unary math and clamp
# ------------------------------------------------------------------------------------------------

x = randn(4, 9) * 2
pos = uniform(0.05, 5.0, 4, 9)
case("neg", -x, x=x)
case("abs", x.abs(), x=x)
case("sqrt", pos.sqrt(), x=pos)
case("rsqrt", pos.rsqrt(), x=pos)
case("exp", x.exp(), x=x)
case("expm1", (x * 0.01).expm1(), x=x * 0.01)
case("log", pos.log(), x=pos)
case("log1p", (pos * 1e-3).log1p(), x=pos * 1e-3)
case("sin", x.sin(), x=x)
case("cos", x.cos(), x=x)
case("tan", (x * 0.3).tan(), x=x * 0.3)
case("atan", x.atan(), x=x)
case("tanh", x.tanh(), x=x)
case("sigmoid", x.sigmoid(), x=x)
case("relu", x.relu(), x=x)
case("square", x.square(), x=x)
case("reciprocal", pos.reciprocal(), x=pos)
case("erf", x.erf(), x=x)
case("sign", torch.cat([x.flatten(), torch.tensor([0.0, -0.0])]).sign(),
     x=torch.cat([x.flatten(), torch.tensor([0.0, -0.0])]))
r = torch.cat([x.flatten() * 3, torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.0, -3.0])])
case("floor", r.floor(), x=r)
case("ceil", r.ceil(), x=r)
case("round", r.round(), x=r)  # half to even
case("trunc", r.trunc(), x=r)
special = torch.tensor([0.0, 1.0, float("nan"), float("inf"), -float("inf"), -2.0])
case("isnan", special.isnan(), x=special)
case("isfinite", special.isfinite(), x=special)
case("clamp", x.clamp(-1.0, 0.5), x=x)
case("clamp_min", x.clamp(min=-0.25), x=x)
case("clamp_max", x.clamp(max=1.0), x=x)
case("clamp_int", ia.clamp(-5, 5), x=ia)

# ------------------------------------------------------------------------------------------------
# Reductions
# ------------------------------------------------------------------------------------------------

x = randn(4, 5, 6)
case("sum", x.sum(), x=x)
case("sum_dim_keepdim", x.sum(1, keepdim=True), x=x)
case("sum_dims", x.sum((0, 2)), x=x)
case("sum_int", ia.sum(), x=ia)  # int64 accumulation
case("mean", x.mean(), x=x)
case("mean_dim", x.mean(-1), x=x)
case("mean_dims_keepdim", x.mean((0, 1), keepdim=True), x=x)
case("var", x.var(), x=x)
case("var_dim_biased", torch.var(x, 1, correction=0, keepdim=True), x=x)
case("std", x.std(), x=x)
case("std_dim", torch.std(x, 2), x=x)
case("norm", torch.linalg.vector_norm(x), x=x)
case("norm_p1_dim", torch.linalg.vector_norm(x, 1, dim=-1), x=x)
case("norm_p3_dims_keepdim", torch.linalg.vector_norm(x, 3, dim=(0, 1), keepdim=True), x=x)
case("amax_dim", x.amax(1), x=x)
case("amax_all", x.amax(), x=x)
case("amin_dims", x.amin((0, 2), keepdim=True), x=x)
case("argmax", x.argmax(), x=x)
case("argmax_dim_keepdim", x.argmax(2, keepdim=True), x=x)
case("argmin_dim", x.argmin(0), x=x)
case("max_all", x.max(), x=x)
case("min_all", x.min(), x=x)
mx = x.max(1)
case("max_dim", [mx.values, mx.indices], x=x)
mn = x.min(-1, keepdim=True)
case("min_dim_keepdim", [mn.values, mn.indices], x=x)
case("logsumexp", x.logsumexp(2), x=x)
case("logsumexp_dims_keepdim", x.logsumexp((0, 1), keepdim=True), x=x)
case("cumsum", x.cumsum(1), x=x)
case("cumsum_int", ia.cumsum(1), x=ia)
q = uniform(0.5, 1.5, 12)
case("prod", q.prod(), x=q)

# ------------------------------------------------------------------------------------------------
# Linear algebra
# ------------------------------------------------------------------------------------------------

a, b = randn(7, 5), randn(5, 3)
case("matmul_2d", a @ b, a=a, b=b)
a, b = randn(2, 1, 4, 5), randn(3, 5, 6)
case("matmul_broadcast", a @ b, a=a, b=b)
a, b = randn(5), randn(5, 3)
case("matmul_vec_mat", a @ b, a=a, b=b)
a, b = randn(4, 5), randn(5)
case("matmul_mat_vec", a @ b, a=a, b=b)
a, b = randn(64, 128), randn(128, 32)
case("mm", a.mm(b), a=a, b=b)
a, b = randn(4, 3, 5), randn(4, 5, 2)
case("bmm", a.bmm(b), a=a, b=b)
x, w, bias = randn(2, 3, 8), randn(6, 8), randn(6)
case("linear", F.linear(x, w, bias), x=x, w=w, b=bias)
case("linear_nobias", F.linear(x, w), x=x, w=w)
x = randn(3, 4)
case("t", x.t(), x=x)
a, b = randn(9), randn(9)
case("dot", a.dot(b), a=a, b=b)
x = randn(3, 4, 5)
case("diagonal", x.diagonal(), x=x)
case("diagonal_offset_dims", x.diagonal(1, 1, 2), x=x)
case("diagonal_negative", x.diagonal(-1, 0, 2), x=x)

# ------------------------------------------------------------------------------------------------
# Normalisation, activations, attention
# ------------------------------------------------------------------------------------------------

x, w, bias = randn(2, 5, 8) * 3 + 1, randn(8), randn(8)
case("layer_norm", F.layer_norm(x, (8,), w, bias), x=x, w=w, b=bias)
case("layer_norm_noaffine", F.layer_norm(x, (8,)), x=x)
case("layer_norm_2d_eps", F.layer_norm(x, (5, 8), eps=1e-6), x=x)
x, w, bias = randn(2, 6, 4, 4) * 2 - 1, randn(6), randn(6)
case("group_norm", F.group_norm(x, 3, w, bias), x=x, w=w, b=bias)
case("group_norm_1_noaffine", F.group_norm(x, 1), x=x)
x = randn(2, 3, 4, 4)
rm, rv, w, bias = randn(3), uniform(0.5, 2.0, 3), randn(3), randn(3)
case("batch_norm", F.batch_norm(x, rm, rv, w, bias, training=False, eps=1e-3),
     x=x, rm=rm, rv=rv, w=w, b=bias)
case("batch_norm_noaffine", F.batch_norm(x, rm, rv, training=False), x=x, rm=rm, rv=rv)

x = torch.linspace(-6, 6, 51).reshape(3, 17) + randn(3, 17) * 0.01
case("softmax", F.softmax(x, -1), x=x)
case("softmax_dim0", F.softmax(x, 0), x=x)
case("log_softmax", F.log_softmax(x, -1), x=x)
case("gelu", F.gelu(x), x=x)
case("gelu_tanh", F.gelu(x, approximate="tanh"), x=x)
case("silu", F.silu(x), x=x)
case("relu6", F.relu6(x), x=x)
case("leaky_relu", F.leaky_relu(x, 0.1), x=x)
case("softplus", F.softplus(x), x=x)
case("softplus_beta", F.softplus(x, beta=2, threshold=5), x=x)

q, k, v = randn(2, 3, 5, 8), randn(2, 3, 7, 8), randn(2, 3, 7, 4)
# libtorch 1.13 has no fused F.scaled_dot_product_attention: the reference is the formula
att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), -1) @ v
case("attention", att, q=q, k=k, v=v)

# ------------------------------------------------------------------------------------------------
# Convolution, padding, pooling, resampling
# ------------------------------------------------------------------------------------------------

x = randn(2, 4, 9, 9)
w, bias = randn(6, 4, 3, 3), randn(6)
case("conv2d", F.conv2d(x, w, bias), x=x, w=w, b=bias)
case("conv2d_stride", F.conv2d(x, w, bias, stride=2), x=x, w=w, b=bias)
case("conv2d_pad", F.conv2d(x, w, None, padding=1), x=x, w=w)
case("conv2d_mixed", F.conv2d(x, w, bias, stride=(1, 2), padding=(2, 1), dilation=2), x=x, w=w, b=bias)
wg = randn(6, 2, 3, 3)
case("conv2d_grouped", F.conv2d(x, wg, bias, padding=1, groups=2), x=x, w=wg, b=bias)
wd, bd = randn(8, 1, 3, 3), randn(8)
case("conv2d_depthwise", F.conv2d(x, wd, bd, padding=1, groups=4), x=x, w=wd, b=bd)
xp, wp, bp = randn(2, 4, 8, 8), randn(16, 4, 2, 2), randn(16)
case("conv2d_patchify", F.conv2d(xp, wp, bp, stride=2), x=xp, w=wp, b=bp)  # SiT patch embedding
w1 = randn(5, 4, 1, 1)
case("conv2d_1x1", F.conv2d(x, w1), x=x, w=w1)

x = randn(2, 3, 4, 5)
case("pad", F.pad(x, [1, 2, 0, 1], value=0.5), x=x)
case("pad_last", F.pad(x, [2, 3]), x=x)

x = randn(2, 3, 8, 10)
case("avg_pool2d", F.avg_pool2d(x, 2), x=x)
case("avg_pool2d_pad_exclude", F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False), x=x)
case("avg_pool2d_ceil", F.avg_pool2d(x, 3, stride=2, ceil_mode=True), x=x)
case("max_pool2d", F.max_pool2d(x, 2), x=x)
case("max_pool2d_pad", F.max_pool2d(x, 3, stride=2, padding=1), x=x)
case("max_pool2d_dilation_ceil", F.max_pool2d(x, 2, stride=2, dilation=2, ceil_mode=True), x=x)
case("adaptive_avg_pool2d", F.adaptive_avg_pool2d(x, (3, 4)), x=x)  # uneven windows
case("adaptive_avg_pool2d_1", F.adaptive_avg_pool2d(x, 1), x=x)

x = randn(1, 2, 8, 10)
case("interp_nearest", F.interpolate(x, size=(4, 5), mode="nearest"), x=x)
case("interp_nearest_scale", F.interpolate(x, scale_factor=2, mode="nearest"), x=x)
case("interp_bilinear_up", F.interpolate(x, size=(13, 17), mode="bilinear", align_corners=False), x=x)
case("interp_bilinear_up_ac", F.interpolate(x, size=(13, 17), mode="bilinear", align_corners=True), x=x)
case("interp_bilinear_down", F.interpolate(x, size=(3, 4), mode="bilinear"), x=x)
case("interp_bilinear_down_aa", F.interpolate(x, size=(3, 4), mode="bilinear", antialias=True), x=x)
case("interp_bilinear_scale", F.interpolate(x, scale_factor=1.5, mode="bilinear"), x=x)
case("interp_bicubic_up", F.interpolate(x, size=(16, 20), mode="bicubic"), x=x)
case("interp_bicubic_up_ac", F.interpolate(x, size=(16, 20), mode="bicubic", align_corners=True), x=x)
case("interp_bicubic_down", F.interpolate(x, size=(3, 4), mode="bicubic"), x=x)
case("interp_bicubic_down_aa", F.interpolate(x, size=(3, 4), mode="bicubic", antialias=True), x=x)
case("interp_bicubic_down_aa_ac",
     F.interpolate(x, size=(5, 3), mode="bicubic", antialias=True, align_corners=True), x=x)

# ------------------------------------------------------------------------------------------------
# Embedding, similarity
# ------------------------------------------------------------------------------------------------

w = randn(10, 4)
idx = torch.tensor([[1, 0, 9], [3, 3, 7]])
case("embedding", F.embedding(idx, w), w=w, idx=idx)
x, y = randn(4, 6), randn(4, 6)
case("normalize", F.normalize(x), x=x)
case("normalize_p1_last", F.normalize(x, p=1.0, dim=-1), x=x)
case("normalize_zero_row", F.normalize(torch.zeros(2, 3)), x=torch.zeros(2, 3))  # eps keeps it finite
case("cosine_similarity", F.cosine_similarity(x, y), a=x, b=y)
x3, y3 = randn(2, 3, 5), randn(3, 5)
case("cosine_similarity_bcast", F.cosine_similarity(x3, y3, dim=-1), a=x3, b=y3)

# ------------------------------------------------------------------------------------------------
# Joining and splitting
# ------------------------------------------------------------------------------------------------

a, b, c = randn(2, 3), randn(1, 3), randn(4, 3)
case("cat", torch.cat([a, b, c]), a=a, b=b, c=c)
a2, b2 = randn(2, 3), randn(2, 5)
case("cat_last", torch.cat([a2, b2], -1), a=a2, b=b2)
case("stack", torch.stack([a, a * 2, a * 3], 1), a=a)
x = randn(3, 7, 2)
case("split", list(x.split(2, 1)), x=x)
case("split_sizes", list(x.split([1, 4, 2], 1)), x=x)
case("chunk", list(x.chunk(3, 1)), x=x)
case("chunk_last", list(x.chunk(2, -1)), x=x)

# ------------------------------------------------------------------------------------------------
# Views and shape
# ------------------------------------------------------------------------------------------------

x = randn(2, 3, 4)
case("view", x.view(4, -1), x=x)
case("reshape_noncontig", x.transpose(0, 2).reshape(-1, 3), x=x)
case("permute", x.permute(2, 0, 1), x=x)
case("transpose", x.transpose(0, 2), x=x)
case("flatten", x.flatten(), x=x)
case("flatten_1", x.flatten(1), x=x)
case("flatten_0_1", x.flatten(0, 1), x=x)
case("unsqueeze", x.unsqueeze(1), x=x)
case("squeeze", x[:, :1].squeeze(), x=x[:, :1])
case("squeeze_dim", x[:1].squeeze(0), x=x[:1])
case("expand", x[:, :1].expand(2, 5, 4), x=x[:, :1])
case("repeat", x.repeat(2, 1, 3), x=x)
case("narrow", x.narrow(1, 1, 2), x=x)
case("select", x.select(2, -1), x=x)
case("slice", x[:, 1::2], x=x)
case("slice_neg", x[..., -3:-1], x=x)
case("slice_step3", x[:, :, ::3], x=x)
case("flip", x.flip([0, 2]), x=x)
case("contiguous", x.transpose(1, 2).contiguous(), x=x)
case("clone", x.clone(), x=x)

# ------------------------------------------------------------------------------------------------
# Indexing
# ------------------------------------------------------------------------------------------------

x = randn(4, 5, 3)
i0 = torch.tensor([3, 0, 0])
i2 = torch.tensor([2, 1, 0])
case("index", x[i0, :, i2], x=x, i0=i0, i2=i2)
case("index_first", x[torch.tensor([[1, 2], [3, 3]])], x=x, i0=torch.tensor([[1, 2], [3, 3]]))
mask = randn(4, 5) > 0
case("index_mask", x[mask], x=x, mask=mask)
isel = torch.tensor([4, 0, 2, 2])
case("index_select", x.index_select(1, isel), x=x, idx=isel)
gidx = torch.randint(0, 5, (4, 2, 3), generator=G)
case("gather", x.gather(1, gidx), x=x, idx=gidx)
gidx0 = torch.randint(0, 4, (2, 5, 3), generator=G)
case("gather_dim0", x.gather(0, gidx0), x=x, idx=gidx0)
cond = randn(5, 3) > 0
y = randn(4, 1, 3)
case("where", torch.where(cond, x, y), cond=cond, a=x, b=y)
case("where_scalar_other", torch.where(cond, x, 0.5), cond=cond, a=x)
case("where_scalar_self", torch.where(cond, -2.0, x), cond=cond, b=x)
case("masked_fill", x.masked_fill(cond, -1e4), x=x, mask=cond)
case("masked_fill_tensor", x.masked_fill(cond, torch.tensor(3.5)), x=x, mask=cond, v=torch.tensor(3.5))

# ------------------------------------------------------------------------------------------------
# In-place updates
# ------------------------------------------------------------------------------------------------

x, y, z = randn(3, 4), randn(3, 4), uniform(0.5, 2.0, 4)
case("add_", x.clone().add_(y, alpha=-0.1), x=x, y=y)
case("add_scalar_", x.clone().add_(2.5), x=x)
case("sub_", x.clone().sub_(y, alpha=3), x=x, y=y)
case("mul_", x.clone().mul_(z), x=x, z=z)
case("mul_scalar_", x.clone().mul_(0.9), x=x)
case("div_", x.clone().div_(z), x=x, z=z)
case("div_scalar_", x.clone().div_(7), x=x)
case("addcmul_", x.clone().addcmul_(y, z, value=0.3), x=x, y=y, z=z)
case("addcdiv_", x.clone().addcdiv_(y, z, value=-0.01), x=x, y=y, z=z)
case("lerp_", x.clone().lerp_(y, 0.999), x=x, y=y)
case("copy_", x.clone().copy_(z), x=x, z=z)  # broadcasts z over rows
case("fill_", x.clone().fill_(-3.5), x=x)
case("zero_", x.clone().zero_(), x=x)
case("clamp_", x.clone().clamp_(-0.5, 0.5), x=x)

# ------------------------------------------------------------------------------------------------

CASES.save(OUT, "test/reference/ops/make_ops.py")
