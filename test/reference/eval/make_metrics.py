"""Fixture for src/eval/metrics.test.ts: FID, IS and precision/recall computed the way the ADM evaluator
(openai/guided-diffusion evaluations/evaluator.py) computes them, with NumPy and SciPy, on fixed
float32 features. Run with a Python that has numpy and scipy (not Debian's torch Python):
    python3 test/reference/eval/make_metrics.py

Deviations of the reg-ts side, which the fixture follows so that the comparison is exact:
- IS: softmax and the KL terms in float64 (ADM: float32);
- precision/recall: distances in float32 (ADM: float16 first, float32 if not finite).
"""
import os

import numpy as np
from scipy import linalg

rng = np.random.default_rng(13)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "eval", "metrics.npz")


def frechet(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """evaluator.py FIDStatistics.frechet_distance."""
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def stats(x):
    x = x.astype(np.float64)
    return x.mean(0), np.cov(x, rowvar=False)


def inception_score(logits, split_size):
    """evaluator.py compute_inception_score, on softmax(logits) in float64."""
    z = logits.astype(np.float64)
    z = z - z.max(1, keepdims=True)
    preds = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    scores = []
    for i in range(0, len(preds), split_size):
        part = preds[i : i + split_size]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return float(np.mean(scores))


def distances(u, v):
    """evaluator.py _batch_pairwise_distances, in float32."""
    nu = np.sum(np.square(u), axis=1, dtype=np.float32)[:, None]
    nv = np.sum(np.square(v), axis=1, dtype=np.float32)[None, :]
    return np.maximum(nu - 2 * (u @ v.T) + nv, np.float32(0))


def radii(f, k, batch):
    """ManifoldEstimator.manifold_radii: entry k of each row's partition (index 0 is the point itself)."""
    out = np.zeros(len(f), dtype=np.float32)
    for b in range(0, len(f), batch):
        d = np.concatenate([distances(f[b : b + batch], f[c : c + batch]) for c in range(0, len(f), batch)], axis=1)
        out[b : b + batch] = np.partition(d, k, axis=1)[:, k]
    return out


def precision_recall(ref, sample, k, batch):
    """ManifoldEstimator.evaluate_pr as compute_prec_recall uses it: (precision, recall)."""
    r_ref, r_sample = radii(ref, k, batch), radii(sample, k, batch)
    ref_in = np.zeros(len(ref), dtype=bool)
    sample_in = np.zeros(len(sample), dtype=bool)
    for b in range(0, len(ref), batch):
        for c in range(0, len(sample), batch):
            d = distances(ref[b : b + batch], sample[c : c + batch])
            ref_in[b : b + batch] |= (d <= r_sample[None, c : c + batch]).any(1)
            sample_in[c : c + batch] |= (d <= r_ref[b : b + batch, None]).any(0)
    return float(sample_in.mean()), float(ref_in.mean())


a = rng.standard_normal((300, 16)).astype(np.float32)
b = (rng.standard_normal((250, 16)) @ rng.standard_normal((16, 16)) * 0.5 + 0.3).astype(np.float32)
logits = (rng.standard_normal((23, 1008)) * 3).astype(np.float32)
ref = rng.standard_normal((200, 8)).astype(np.float32)
sample = (rng.standard_normal((150, 8)) * 1.2 + 0.2).astype(np.float32)
mu_a, sigma_a = stats(a)
mu_b, sigma_b = stats(b)
# a rank-deficient pair: 12 samples in 20 dimensions (the sFID case N < D)
few = rng.standard_normal((12, 20)).astype(np.float32)
few_b = rng.standard_normal((12, 20)).astype(np.float32)
precision, recall = precision_recall(ref, sample, 3, 64)
np.savez(
    OUT,
    a=a,
    b=b,
    mu_a=mu_a,
    sigma_a=sigma_a,
    fd_ab=np.array(frechet(mu_a, sigma_a, mu_b, sigma_b)),
    few=few,
    few_b=few_b,
    fd_few=np.array(frechet(*stats(few), *stats(few_b))),
    logits=logits,
    is_split10=np.array(inception_score(logits, 10)),
    is_split5000=np.array(inception_score(logits, 5000)),
    ref=ref,
    sample=sample,
    precision=np.array(precision),
    recall=np.array(recall),
)
print("fd", frechet(mu_a, sigma_a, mu_b, sigma_b), "is", inception_score(logits, 10), "pr", precision, recall, "fd_few", frechet(*stats(few), *stats(few_b)))
