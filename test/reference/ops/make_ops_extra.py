"""Reference values for operators added after make_ops.py's fixture was fixed: attention with masks
and causality, clamp/maximum/minimum with tensor bounds, sub_ with a scalar.

Run with Debian's PyTorch (python3-torch 1.13; the `python3` on PATH does not see it):

    /usr/bin/python3 test/reference/ops/make_ops_extra.py

It writes test/fixtures/ops/ops_extra.safetensors in make_ops.py's layout: each case `NAME` stores its
inputs as `NAME.in.KEY` and its output(s) as `NAME.out` or `NAME.out.0`, `NAME.out.1`, ...; the
case list is in the metadata. src/torch/ops_extra.test.ts recomputes every case through the
TypeScript API and checks that both sides cover the same cases.

Attention. libtorch 1.13 has no F.scaled_dot_product_attention, so the reference is PyTorch 2.x's
documented semantics written out, computed in float64 and rounded to the inputs' dtype:

    scores = q @ k^T * scale                  scale = 1/sqrt(d) unless given
    boolean mask:  scores[~mask] = -inf       (True = may attend)
    float mask:    scores += mask
    is_causal:     mask = ones(L, S).tril()   (top-left aligned)
    out = softmax(scores, -1) @ v

The `_grad` cases also store d(sum(out * r))/d(q, k, v) for a stored random projection r, from
PyTorch's autograd through the same formula.
"""

import math
import os

import torch

from op_cases import OpCases

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "ops", "ops_extra.safetensors")

CASES = OpCases(20251126)
G = CASES.generator
randn, case = CASES.randn, CASES.case


def attention(q, k, v, mask=None, is_causal=False, scale=None):
    """PyTorch 2.x F.scaled_dot_product_attention (dropout 0), evaluated in float64."""
    assert not (is_causal and mask is not None)
    dtype = q.dtype
    q, k, v = q.double(), k.double(), v.double()
    L, S = q.shape[-2], k.shape[-2]
    s = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * s
    if is_causal:
        mask = torch.ones(L, S, dtype=torch.bool).tril()
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        else:
            scores = scores + mask.double()
    return (torch.softmax(scores, -1) @ v).to(dtype)


def bool_mask(*shape):
    """Random boolean mask where every query row keeps at least one key (no all -inf rows)."""
    m = torch.rand(*shape, generator=G) < 0.6
    m[..., 0] = True
    return m


# ------------------------------------------------------------------------------------------------
# Attention
# ------------------------------------------------------------------------------------------------

q, k, v = randn(2, 3, 5, 8), randn(2, 3, 7, 8), randn(2, 3, 7, 4)
case("sdpa", attention(q, k, v), q=q, k=k, v=v)
m = bool_mask(2, 3, 5, 7)
case("sdpa_bool_mask", attention(q, k, v, mask=m), q=q, k=k, v=v, mask=m)
m2 = bool_mask(5, 7)
case("sdpa_bool_mask_broadcast", attention(q, k, v, mask=m2), q=q, k=k, v=v, mask=m2)
am = randn(2, 1, 5, 7)
am[:, :, 1, 3:] = float("-inf")
case("sdpa_additive_mask", attention(q, k, v, mask=am), q=q, k=k, v=v, mask=am)
case("sdpa_scale", attention(q, k, v, scale=0.05), q=q, k=k, v=v)

qc, kc, vc = randn(2, 2, 6, 8), randn(2, 2, 6, 8), randn(2, 2, 6, 8)
case("sdpa_causal", attention(qc, kc, vc, is_causal=True), q=qc, k=kc, v=vc)
# L < S: query i sees keys 0..i (top-left aligned), as PyTorch does
case("sdpa_causal_short_query", attention(q, k, v, is_causal=True), q=q, k=k, v=v)

q64, k64, v64 = randn(1, 2, 4, 6, dtype=torch.float64), randn(1, 2, 5, 6, dtype=torch.float64), randn(1, 2, 5, 3, dtype=torch.float64)
m64 = bool_mask(1, 2, 4, 5)
case("sdpa_bool_mask_f64", attention(q64, k64, v64, mask=m64), q=q64, k=k64, v=v64, mask=m64)

# gradients of sum(out * r) with respect to q, k, v (float64)
def grad_case(name, q, k, v, **kw):
    qg, kg, vg = (t.clone().requires_grad_(True) for t in (q, k, v))
    out = attention(qg, kg, vg, **kw)
    r = randn(*out.shape, dtype=torch.float64)
    (out * r).sum().backward()
    masks = {"mask": kw["mask"]} if "mask" in kw else {}
    case(name, [out, qg.grad, kg.grad, vg.grad], q=q, k=k, v=v, r=r, **masks)


grad_case("sdpa_bool_mask_grad", q64, k64, v64, mask=m64)
qs64, ks64, vs64 = (randn(1, 2, 5, 6, dtype=torch.float64) for _ in range(3))
grad_case("sdpa_causal_grad", qs64, ks64, vs64, is_causal=True)

# ------------------------------------------------------------------------------------------------
# clamp / maximum / minimum with tensor bounds, sub_ with a scalar
# ------------------------------------------------------------------------------------------------

x, lo, hi = randn(3, 4), randn(3, 4) - 0.5, randn(4) + 0.5
case("clamp_tensor", torch.clamp(x, lo, hi), x=x, lo=lo, hi=hi)
case("clamp_tensor_min", torch.clamp(x, min=lo), x=x, lo=lo)
case("clamp_tensor_max", torch.clamp(x, max=hi), x=x, hi=hi)
case("clamp_tensor_scalar", torch.clamp(torch.clamp(x, min=lo), max=0.3), x=x, lo=lo)  # torch 1.13 has no mixed overload
case("clamp_scalar_tensor", torch.clamp(torch.clamp(x, min=-0.2), max=hi), x=x, hi=hi)
case("clamp_tensor_", x.clone().clamp_(lo, hi), x=x, lo=lo, hi=hi)
case("maximum_scalar", torch.clamp(x, min=0.1), x=x)
case("minimum_scalar", torch.clamp(x, max=-0.1), x=x)
case("sub_scalar_", x.clone().sub_(1.5, alpha=2), x=x)

# ------------------------------------------------------------------------------------------------

CASES.save(OUT, "test/reference/ops/make_ops_extra.py")
