"""Fixture for src/eval/frechet.test.ts: two feature sets and their Fréchet distance computed the
way the ADM/pytorch-fid evaluators do it (numpy statistics + scipy.linalg.sqrtm).
Run: /usr/bin/python3 test/reference/eval/make_frechet.py"""
import os
import sys

import numpy as np
import torch
from scipy import linalg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from st import save_file  # noqa: E402

rng = np.random.default_rng(0)
a = rng.standard_normal((300, 16))
b = rng.standard_normal((250, 16)) @ rng.standard_normal((16, 16)) * 0.5 + 0.3


def fd(x, y):
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


out = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "eval", "frechet.safetensors")
arrays = {
    "a": a,
    "b": b,
    "fd_ab": np.array([fd(a, b)]),
    "fd_aa": np.array([fd(a, a)]),
    "sigma_a": np.cov(a, rowvar=False),
    "mu_a": a.mean(0),
}
save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}, out)
print("wrote", out, fd(a, b))
