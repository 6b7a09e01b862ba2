"""Fixture for the 1e-6·I retry of src/eval/frechet.ts: a pair of singular covariances (integer Gram
matrices G·Gᵀ, exact in float64, found by a search over small integer G) whose product has no finite
scipy.linalg.sqrtm, so that the ADM evaluator's `frechet_distance` adds 1e-6·I to both and computes
again. Records that value (fd_adm), and the distance without any offset from NumPy's eigh of
Σ₁^½ Σ₂ Σ₁^½ (fd_exact).
Run: python3 test/reference/eval/make_frechet_retry.py   (needs numpy and scipy)"""
import json
import os
import warnings

import numpy as np
from scipy import linalg

s1 = np.array(
    [[5, -1, -2, 3, -3], [-1, 2, -2, -1, 2], [-2, -2, 5, -1, -1], [3, -1, -1, 2, -2], [-3, 2, -1, -2, 3]], dtype=np.float64
)
s2 = np.array(
    [[0, 0, 0, 0, 0], [0, 1, -2, -2, -2], [0, -2, 4, 4, 4], [0, -2, 4, 4, 4], [0, -2, 4, 4, 4]], dtype=np.float64
)
mu1 = np.array([1.0, 0.0, 2.0, 0.0, -1.0])
mu2 = np.zeros(5)
eps = 1e-6

# the ADM evaluator's frechet_distance (guided-diffusion evaluations/evaluator.py), step by step
diff = mu1 - mu2
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
assert not np.isfinite(covmean).all(), "the pair must need the retry"
offset = np.eye(s1.shape[0]) * eps
covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
assert np.isfinite(covmean).all()
if np.iscomplexobj(covmean):
    assert np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3)
    covmean = covmean.real
fd_adm = diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)

# without an offset: tr((Σ₁Σ₂)^½) = Σ √λ of the symmetric Σ₁^½ Σ₂ Σ₁^½
w, v = np.linalg.eigh(s1)
root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
inner = root @ s2 @ root
fd_exact = diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()

out = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "eval", "frechet-retry.json")
record = {
    "about": "written by test/reference/eval/make_frechet_retry.py",
    "mu1": mu1.tolist(),
    "mu2": mu2.tolist(),
    "sigma1": s1.tolist(),
    "sigma2": s2.tolist(),
    "eps": eps,
    "fd_adm": float(fd_adm),
    "fd_exact": float(fd_exact),
}
with open(out, "w") as f:
    json.dump(record, f, indent=1)
    f.write("\n")
print("wrote", out, fd_adm, fd_exact)
