"""One optimisation step as in the official train.py (docs/method.md#training-setup), using PyTorch's own implementations.

    grad_norm = clip_grad_norm_(model.parameters(), 1.0)     # 2-norm over all grads; grads scaled by
                                                             # min(1, 1.0 / (grad_norm + 1e-6))
    AdamW(lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0).step()
        m = b1 m + (1-b1) g ; v = b2 v + (1-b2) g^2 ; p -= lr * wd * p (decoupled, before the update)
        p -= lr / (1 - b1^k) * m / (sqrt(v) / sqrt(1 - b2^k) + eps)          (k = step count, 1-based)
    EMA (decay 0.9999) over ALL named parameters, pos_embed included (it has no grad, so AdamW and
    clipping skip it, but the EMA still does ema = ema*d + p*(1-d) on it):
        ema.mul_(decay).add_(p, alpha=1 - decay)
EMA starts as an exact copy of the model (official: update_ema(ema, model, decay=0)).
"""

import copy
from collections import OrderedDict

import torch


def make_optimizer(model, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    # official: AdamW over model.parameters() (pos_embed included; it never gets a grad)
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=betas, weight_decay=weight_decay, eps=eps)


def make_ema(model):
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    update_ema(ema, model, decay=0.0)
    ema.eval()
    return ema


@torch.no_grad()
def update_ema(ema, model, decay=0.9999):
    ep = OrderedDict(ema.named_parameters())
    for name, p in model.named_parameters():
        ep[name].mul_(decay).add_(p.data, alpha=1 - decay)


def train_step(model, ema, optimizer, loss, max_grad_norm=1.0, ema_decay=0.9999):
    """backward, clip, AdamW step, zero grads, EMA.
    Returns (grad_norm: total 2-norm before clipping, raw grads by name, clipped grads by name)."""
    loss.backward()
    grads = OrderedDict((n, p.grad.detach().clone()) for n, p in model.named_parameters() if p.grad is not None)
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    clipped = OrderedDict((n, p.grad.detach().clone()) for n, p in model.named_parameters() if p.grad is not None)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    update_ema(ema, model, decay=ema_decay)
    return grad_norm, grads, clipped
