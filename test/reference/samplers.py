"""Samplers for SiT/REG velocity models (docs/method.md#sampling), every random draw supplied by the caller.

Conventions (same as the official Martinser/REG samplers.py and sihyun-yu/REPA samplers.py):
  * time runs from t = 1 (noise) to t = 0 (data); the sampler state (latent x and, for token models, the
    class token c) is kept in float64; the network is called with the state, the time and the
    labels cast to the network's dtype (float32 usually) and its outputs are cast back to float64;
  * CFG doubles the batch as [cond; uncond]: inputs [x; x], [c; c], labels [y; null] with
    null = num_classes (the official code hard-codes 1000 = ImageNet's num_classes), and combines
    d = d_uncond + w * (d_cond - d_uncond) on all latent channels. The class token uses its own scale
    w_cls when w_cls > 0, otherwise its conditional drift. Guidance is active for a step iff
    cfg_scale > 1 and guidance_low <= t_cur <= guidance_high (t_cur = the step's start time; Heun's
    second evaluation uses the flag of t_cur too).

SDE (euler_maruyama), official REG/REPA:
    t_steps = linspace(1, 0.04, N) (float64) ++ [0]            N + 1 points, N steps
    score(v, x, t)  = (r v - x) / (sigma^2 - r dsigma sigma),  r = alpha / dalpha
                      (linear: alpha = 1-t, sigma = t, dalpha = -1, dsigma = 1 -> (-(1-t) v - x) / t)
    w(t) = 2 t ;  drift d = v - 0.5 w(t) score            (computed on each half of a CFG batch, then guided)
    steps i = 0..N-2:  x <- x + d dt + sqrt(w(t_cur)) * (xi_i * sqrt(|dt|)),  dt = t_next - t_cur < 0
                       xi_i ~ N(0, I) float64, shape of the (un-doubled) state; independent noise for
                       the latent (B,C,H,W) and the class token (B,Dz)  -> N-1 noise tensors per stream
    last step (t_{N-1} = 0.04 -> 0): x <- x + dt d   (no noise)
    Returned: the final latent (and final class token, which the official code discards).

ODE (euler / heun), REPA's euler_sampler extended to the class token:
    t_steps = linspace(1, 0, N + 1) (float64); drift d = v (guided as above)
    Euler: x <- x + (t_next - t_cur) d(x, t_cur)
    Heun : x' = x + dt d(x, t_cur); if i < N-1: x <- x + dt (0.5 d(x, t_cur) + 0.5 d(x', t_next))
           else (final step to t = 0): x <- x'  (plain Euler, no correction)
    The class token is integrated jointly (same network calls) with the same rule. REG's official code
    has no ODE sampler (generate.py --mode ode exits); this is REPA's, which is what REG removed.
"""

import math

import torch


def score_from_velocity(v, x, t, path_type="linear"):
    """t: float64 (B,) -> broadcast over x."""
    t = t.reshape(t.shape[0], *([1] * (x.dim() - 1)))
    if path_type == "linear":
        alpha, d_alpha = 1 - t, -torch.ones_like(x)
        sigma, d_sigma = t, torch.ones_like(x)
    elif path_type == "cosine":
        a = t * math.pi / 2
        alpha, sigma = torch.cos(a), torch.sin(a)
        d_alpha, d_sigma = -math.pi / 2 * torch.sin(a), math.pi / 2 * torch.cos(a)
    else:
        raise ValueError(path_type)
    r = alpha / d_alpha
    var = sigma ** 2 - r * d_sigma * sigma
    return (r * v - x) / var


def diffusion_coeff(t):
    return 2 * t


def sde_time_grid(num_steps):
    t = torch.linspace(1.0, 0.04, num_steps, dtype=torch.float64)
    return torch.cat([t, torch.zeros(1, dtype=torch.float64)])


def ode_time_grid(num_steps):
    return torch.linspace(1.0, 0.0, num_steps + 1, dtype=torch.float64)


def is_guided(t_cur, cfg_scale, guidance_low, guidance_high):
    t = float(t_cur)
    return cfg_scale > 1.0 and guidance_low <= t <= guidance_high


def _model_dtype(model):
    return next(model.parameters()).dtype


@torch.no_grad()
def eval_model(model, x, c, y, t_cur, guided, null_label):
    """One (possibly batch-doubled) network call. Returns float64 (inputs, v, v_cls, t_vec) where
    inputs/v are doubled along the batch when guided ([cond; uncond])."""
    dt = _model_dtype(model)
    if guided:
        xin = torch.cat([x, x], 0)
        cin = torch.cat([c, c], 0) if c is not None else None
        yin = torch.cat([y, torch.full_like(y, null_label)], 0)
    else:
        xin, cin, yin = x, c, y
    tvec = torch.ones(xin.shape[0], dtype=torch.float64) * t_cur
    v, _, vc = model(xin.to(dt), tvec.to(dt), yin, cls_token=None if cin is None else cin.to(dt))
    v = v.to(torch.float64)
    vc = vc.to(torch.float64) if vc is not None else None
    return xin, cin, v, vc, tvec


def _guide(d, scale):
    cond, unc = d.chunk(2)
    return unc + scale * (cond - unc)


def _guide_cls(d, cls_scale):
    cond, unc = d.chunk(2)
    if cls_scale > 0:
        return unc + cls_scale * (cond - unc)
    return cond


@torch.no_grad()
def sde_drift(model, x, c, y, t_cur, guided, cfg_scale, cls_cfg_scale, null_label, path_type="linear"):
    xin, cin, v, vc, tvec = eval_model(model, x, c, y, t_cur, guided, null_label)
    w = diffusion_coeff(t_cur)
    d = v - 0.5 * w * score_from_velocity(v, xin, tvec, path_type)
    dc = vc - 0.5 * w * score_from_velocity(vc, cin, tvec, path_type) if vc is not None else None
    if guided:
        d = _guide(d, cfg_scale)
        dc = _guide_cls(dc, cls_cfg_scale) if dc is not None else None
    return d, dc, v, vc


@torch.no_grad()
def sde_step(model, x, c, y, t_cur, t_next, noise_x=None, noise_c=None, last=False, cfg_scale=1.0,
             cls_cfg_scale=0.0, guidance_low=0.0, guidance_high=1.0, null_label=None, path_type="linear"):
    """One Euler-Maruyama step (float64 state). last=True: deterministic step, no noise."""
    null_label = model.num_classes if null_label is None else null_label
    g = is_guided(t_cur, cfg_scale, guidance_low, guidance_high)
    d, dc, v, vc = sde_drift(model, x, c, y, t_cur, g, cfg_scale, cls_cfg_scale, null_label, path_type)
    dt = t_next - t_cur
    if last:
        xn = x + dt * d
        cn = c + dt * dc if c is not None else None
    else:
        w = diffusion_coeff(t_cur)
        xn = x + d * dt + torch.sqrt(w) * (noise_x * torch.sqrt(torch.abs(dt)))
        cn = c + dc * dt + torch.sqrt(w) * (noise_c * torch.sqrt(torch.abs(dt))) if c is not None else None
    return dict(x_next=xn, c_next=cn, drift_x=d, drift_c=dc, v=v, v_cls=vc, guided=g)


@torch.no_grad()
def euler_maruyama(model, x_T, c_T, y, num_steps, noises_x, noises_c=None, cfg_scale=1.0, cls_cfg_scale=0.0,
                   guidance_low=0.0, guidance_high=1.0, null_label=None, path_type="linear"):
    """noises_x / noises_c: sequences of num_steps-1 float64 tensors shaped like x_T / c_T.
    Returns dict with x, c (final, float64), traj_x/traj_c (num_steps+1 states), drift_x/drift_c, guided."""
    ts = sde_time_grid(num_steps)
    x = x_T.to(torch.float64)
    c = c_T.to(torch.float64) if c_T is not None else None
    tx, tc, dx, dc, gs = [x], [c], [], [], []
    for i in range(num_steps):
        last = i == num_steps - 1
        r = sde_step(model, x, c, y, ts[i], ts[i + 1],
                     None if last else noises_x[i], None if (last or c is None) else noises_c[i],
                     last=last, cfg_scale=cfg_scale, cls_cfg_scale=cls_cfg_scale, guidance_low=guidance_low,
                     guidance_high=guidance_high, null_label=null_label, path_type=path_type)
        x, c = r["x_next"], r["c_next"]
        tx.append(x); tc.append(c); dx.append(r["drift_x"]); dc.append(r["drift_c"]); gs.append(r["guided"])
    return dict(x=x, c=c, t_steps=ts, traj_x=tx, traj_c=tc, drift_x=dx, drift_c=dc, guided=gs)


@torch.no_grad()
def ode_velocity(model, x, c, y, t, guided, cfg_scale, cls_cfg_scale, null_label):
    _, _, v, vc = eval_model(model, x, c, y, t, guided, null_label)[:4]
    if guided:
        v = _guide(v, cfg_scale)
        vc = _guide_cls(vc, cls_cfg_scale) if vc is not None else None
    return v, vc


@torch.no_grad()
def ode_step(model, x, c, y, t_cur, t_next, heun=False, final=False, cfg_scale=1.0, cls_cfg_scale=0.0,
             guidance_low=0.0, guidance_high=1.0, null_label=None):
    """One Euler (or Heun, unless final) step of dx/dt = v."""
    null_label = model.num_classes if null_label is None else null_label
    g = is_guided(t_cur, cfg_scale, guidance_low, guidance_high)
    d, dc = ode_velocity(model, x, c, y, t_cur, g, cfg_scale, cls_cfg_scale, null_label)
    dt = t_next - t_cur
    xn = x + dt * d
    cn = c + dt * dc if c is not None else None
    out = dict(drift_x=d, drift_c=dc, guided=g, heun_applied=False)
    if heun and not final:
        d2, dc2 = ode_velocity(model, xn, cn, y, t_next, g, cfg_scale, cls_cfg_scale, null_label)
        xn = x + dt * (0.5 * d + 0.5 * d2)
        cn = c + dt * (0.5 * dc + 0.5 * dc2) if c is not None else None
        out.update(drift2_x=d2, drift2_c=dc2, heun_applied=True)
    out.update(x_next=xn, c_next=cn)
    return out


@torch.no_grad()
def ode_sample(model, x_T, c_T, y, num_steps, heun=False, cfg_scale=1.0, cls_cfg_scale=0.0,
               guidance_low=0.0, guidance_high=1.0, null_label=None):
    ts = ode_time_grid(num_steps)
    x = x_T.to(torch.float64)
    c = c_T.to(torch.float64) if c_T is not None else None
    tx, tc, dx, dc, d2x, d2c, gs = [x], [c], [], [], [], [], []
    for i in range(num_steps):
        r = ode_step(model, x, c, y, ts[i], ts[i + 1], heun=heun, final=(i == num_steps - 1),
                     cfg_scale=cfg_scale, cls_cfg_scale=cls_cfg_scale, guidance_low=guidance_low,
                     guidance_high=guidance_high, null_label=null_label)
        x, c = r["x_next"], r["c_next"]
        tx.append(x); tc.append(c); dx.append(r["drift_x"]); dc.append(r["drift_c"]); gs.append(r["guided"])
        if r["heun_applied"]:
            d2x.append(r["drift2_x"]); d2c.append(r["drift2_c"])
    return dict(x=x, c=c, t_steps=ts, traj_x=tx, traj_c=tc, drift_x=dx, drift_c=dc, drift2_x=d2x,
                drift2_c=d2c, guided=gs)
