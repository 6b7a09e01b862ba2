"""Fixture for src/eval/cknna.test.ts: CKNNA as platonic-rep computes it (minyoungg/platonic-rep @dcd76ba,
`metrics.py` AlignmentMetrics.cknna with unbiased=True, hsic_unbiased, remove_outliers; and
`measure_alignment.py`'s preparation: remove_outliers(q=0.95) then F.normalize(dim=-1)), transcribed in
plain PyTorch, on fixed features in float64 and float32.
Run: /usr/bin/python3 test/reference/eval/make_cknna.py"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from st import save_file  # noqa: E402


def hsic_unbiased(K, L):
    m = K.shape[0]
    K_tilde = K.clone().fill_diagonal_(0)
    L_tilde = L.clone().fill_diagonal_(0)
    value = (
        torch.sum(K_tilde * L_tilde.T)
        + torch.sum(K_tilde) * torch.sum(L_tilde) / ((m - 1) * (m - 2))
        - 2 * torch.sum(torch.mm(K_tilde, L_tilde)) / (m - 2)
    )
    return value / (m * (m - 3))


def cknna(feats_A, feats_B, topk):
    n = feats_A.shape[0]
    K = feats_A @ feats_A.T
    L = feats_B @ feats_B.T

    def similarity(K, L):
        K_hat = K.clone().fill_diagonal_(float("-inf"))
        L_hat = L.clone().fill_diagonal_(float("-inf"))
        _, iK = torch.topk(K_hat, topk, dim=1)
        _, iL = torch.topk(L_hat, topk, dim=1)
        mask_K = torch.zeros(n, n).scatter_(1, iK, 1)
        mask_L = torch.zeros(n, n).scatter_(1, iL, 1)
        mask = mask_K * mask_L
        return hsic_unbiased(mask * K, mask * L)

    kl, kk, ll = similarity(K, L), similarity(K, K), similarity(L, L)
    return kl.item() / (torch.sqrt(kk * ll) + 1e-6).item()


def remove_outliers(feats, q):
    q_val = torch.quantile(feats.abs().flatten(start_dim=1), q, dim=1).mean()
    return feats.clamp(-q_val, q_val)


def prepare(f):
    return F.normalize(remove_outliers(f, 0.95), dim=-1)


torch.manual_seed(0)
n, da, db = 48, 16, 24
a = torch.randn(n, da, dtype=torch.float64)
# B shares A's structure (a linear map of it) plus noise and a few heavy outliers, so the neighbour
# sets overlap partly and the clamp has something to clamp.
b = a @ torch.randn(da, db, dtype=torch.float64) * 0.3 + torch.randn(n, db, dtype=torch.float64)
b[3, 5] = 40.0
b[17, 2] = -25.0
k_rand = torch.randn(10, 10, dtype=torch.float64)
l_rand = torch.randn(10, 10, dtype=torch.float64)

out = {"a": a, "b": b, "k_rand": k_rand, "l_rand": l_rand, "hsic_rand": hsic_unbiased(k_rand, l_rand).reshape(1)}
out["b_clamped"] = remove_outliers(b, 0.95)
for dt, name in [(torch.float64, "f64"), (torch.float32, "f32")]:
    fa, fb = a.to(dt), b.to(dt)
    out[f"cknna_prepared_k10_{name}"] = torch.tensor([cknna(prepare(fa), prepare(fb), 10)], dtype=torch.float64)
    out[f"cknna_raw_k5_{name}"] = torch.tensor([cknna(fa, fb, 5)], dtype=torch.float64)
    out[f"cknna_swapped_k10_{name}"] = torch.tensor([cknna(prepare(fb), prepare(fa), 10)], dtype=torch.float64)
    out[f"cknna_self_k10_{name}"] = torch.tensor([cknna(prepare(fa), prepare(fa), 10)], dtype=torch.float64)

dest = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "eval", "cknna.safetensors")
save_file({k: v.contiguous() for k, v in out.items()}, dest)
for k, v in out.items():
    if v.numel() == 1:
        print(k, v.item())
print("wrote", dest)
