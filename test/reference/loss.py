"""REG training objective (docs/method.md#training-objective), with every random quantity supplied by the caller.

Time convention: t = 0 data, t = 1 noise.
    linear : alpha = 1 - t,        sigma = t,          d_alpha = -1,                 d_sigma = 1
    cosine : alpha = cos(pi t/2),  sigma = sin(pi t/2), d_alpha = -(pi/2) sin(pi t/2), d_sigma = (pi/2) cos(pi t/2)
    x_t   = alpha * x0   + sigma * eps          (eps   ~ N(0, I) like x0,   (B, C, H, W))
    cls_t = alpha * cls0 + sigma * eps_cls      (eps_cls ~ N(0, I) like cls0, (B, Dz)); same t per sample
    v target     = d_alpha * x0   + d_sigma * eps
    v_cls target = d_alpha * cls0 + d_sigma * eps_cls

Loss terms (all scalars):
    loss_z    = mean over batch of per-sample mean over C*H*W of (v_hat - v)^2
    loss_cls  = mean over batch of per-sample mean over Dz of (v_cls_hat - v_cls)^2
    loss_proj = sum over encoders k, samples b of  -mean_n cos(z_hat[k][b,n], z[k][b,n])   / (K * B)
                (cosine after F.normalize(dim=-1), eps 1e-12; n runs over ALL tokens: N+1 for REG)
    total     = loss_z + proj_coeff * loss_proj + cls_coeff * loss_cls     (defaults 0.5, 0.03)
Terms a variant does not have are 0 and are left out of the total.
"""

import math

import torch
import torch.nn.functional as F


def interpolant(t, path_type="linear"):
    """Returns alpha, sigma, d_alpha, d_sigma (tensors shaped like t)."""
    if path_type == "linear":
        return 1 - t, t, -torch.ones_like(t), torch.ones_like(t)
    if path_type == "cosine":
        a = t * math.pi / 2
        return torch.cos(a), torch.sin(a), -math.pi / 2 * torch.sin(a), math.pi / 2 * torch.cos(a)
    raise ValueError(path_type)


def time_from_uniform(u):
    """weighting='uniform': t = u, u ~ U[0,1)."""
    return u


def time_from_normal(n, path_type="linear"):
    """weighting='lognormal': sigma = exp(n), n ~ N(0,1); t = sigma/(1+sigma) (linear) or (2/pi) atan(sigma)."""
    s = torch.exp(n)
    if path_type == "linear":
        return s / (1 + s)
    if path_type == "cosine":
        return 2 / math.pi * torch.atan(s)
    raise ValueError(path_type)


def mean_flat(x):
    return x.reshape(x.shape[0], -1).mean(dim=1)


def reg_loss(model, x0, y, t, noise, cls0=None, noise_cls=None, target_zs=None, drop_mask=None,
             path_type="linear", proj_coeff=0.5, cls_coeff=0.03):
    """x0 (B,C,H,W) clean latent; y (B,) labels; t (B,); noise like x0; cls0/noise_cls (B,Dz) for token
    variants; target_zs: list of (B, T[+1], Dz_k) alignment targets (alignment variants);
    drop_mask (B,) bool (label -> null). Returns dict of scalar tensors and intermediate values."""
    tb = t.reshape(-1, 1, 1, 1)
    a, s, da, ds = interpolant(tb, path_type)
    xt = a * x0 + s * noise
    v_tgt = da * x0 + ds * noise
    out = {"x_t": xt, "v_target": v_tgt}
    cls_t = None
    if model.has_token:
        a2, s2, da2, ds2 = (q.reshape(-1, 1) for q in (a, s, da, ds))
        cls_t = a2 * cls0 + s2 * noise_cls
        out["cls_t"] = cls_t
        out["v_cls_target"] = da2 * cls0 + ds2 * noise_cls
    v, zs, v_cls = model(xt, t, y, cls_token=cls_t, drop_mask=drop_mask)
    out.update(v_img=v, zs=zs, v_cls=v_cls)
    loss_z = mean_flat((v - v_tgt) ** 2).mean()
    total = loss_z
    out["loss_z"] = loss_z
    if model.has_token:
        loss_cls = mean_flat((v_cls - out["v_cls_target"]) ** 2).mean()
        out["loss_cls"] = loss_cls
        total = total + cls_coeff * loss_cls
    if model.has_align:
        B = x0.shape[0]
        acc = 0.0
        for z_hat, z in zip(zs, target_zs):
            cos = (F.normalize(z_hat, dim=-1) * F.normalize(z, dim=-1)).sum(dim=-1)  # (B, T')
            acc = acc + (-cos.mean(dim=1)).sum()
        loss_proj = acc / (len(zs) * B)
        out["loss_proj"] = loss_proj
        total = total + proj_coeff * loss_proj
    out["loss"] = total
    return out
