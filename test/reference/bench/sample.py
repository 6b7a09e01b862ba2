"""PyTorch side of `npm run bench -- sample`: the official Euler-Maruyama SDE sampler (Martinser/REG
samplers.py, extended to the class token as in REG) on the PyTorch reference SiT+REG
(test/reference/sit_reg.py), with weights, initial states, labels and step noises read from the
safetensors file the TypeScript side wrote, so both sides compute the same trajectory.

The loop below is the official sampler's (float64 state, network in the weights' dtype, CFG batch
[cond; uncond] with null label = num_classes, drift guided on all channels, class token guided with
its own scale, guidance iff cfg > 1 and low <= t <= high, last step deterministic), made
device-aware and with the noise supplied instead of drawn.

`{"op": "time", "lean": true}` times the lean reference instead: the same loop with the projector MLPs
skipped (they only feed the training loss; the velocities, and so the trajectory, are unchanged), which
is what reg-ts's sampler does. The float64 state stays: it is measured free (scripts/sampler-overhead.mjs).
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # test/reference

import sit_reg as R  # noqa: E402
from st import load_file  # noqa: E402
from common import serve, time_reps  # noqa: E402

state = {}


def score(v, x, t):
    # linear path: alpha = 1 - t, sigma = t, d_alpha = -1, d_sigma = 1
    r = (1 - t) / -1.0
    var = t * t - r * 1.0 * t
    return (r * v - x) / var


@torch.no_grad()
def sample(model, x_T, c_T, y, num_steps, noise_x, noise_c, cfg, cls_cfg, low, high, null_label):
    device = x_T.device
    dt_model = next(model.parameters()).dtype
    ts = torch.cat([torch.linspace(1.0, 0.04, num_steps, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)])
    ts_list = ts.tolist()
    x = x_T.to(torch.float64)
    c = c_T.to(torch.float64)
    y_null = torch.full_like(y, null_label)
    for i in range(num_steps):
        t_cur, t_next = ts_list[i], ts_list[i + 1]
        guided = cfg > 1.0 and low <= t_cur <= high
        if guided:
            xin, cin, yin = torch.cat([x, x]), torch.cat([c, c]), torch.cat([y, y_null])
        else:
            xin, cin, yin = x, c, y
        tin = torch.full((xin.shape[0],), t_cur, dtype=dt_model, device=device)
        v, _, vc = model(xin.to(dt_model), tin, yin, cls_token=cin.to(dt_model))
        v, vc = v.to(torch.float64), vc.to(torch.float64)
        w = 2 * t_cur
        d = v - 0.5 * w * score(v, xin, t_cur)
        dc = vc - 0.5 * w * score(vc, cin, t_cur)
        if guided:
            dcnd, dunc = d.chunk(2)
            d = dunc + cfg * (dcnd - dunc)
            ccnd, cunc = dc.chunk(2)
            dc = cunc + cls_cfg * (ccnd - cunc) if cls_cfg > 0 else ccnd
        dt = t_next - t_cur
        if i < num_steps - 1:
            s = (w ** 0.5) * abs(dt) ** 0.5
            x = x + d * dt + noise_x[i] * s
            c = c + dc * dt + noise_c[i] * s
        else:
            x = x + dt * d
            c = c + dt * dc
    return x, c


def setup(req):
    tensors, meta = load_file(req["file"])
    device = torch.device(req.get("device", "cpu"))
    cfg = json.loads(meta["config"])
    cfg.pop("fused_attn", None)
    model = R.SiT(**cfg)
    own = model.state_dict()
    model.load_state_dict({k: tensors[k] for k in own})
    model = model.to(device).eval()
    s = json.loads(meta["sampler"])
    state.update(
        model=model,
        x_T=tensors["input.x_T"].to(device),
        c_T=tensors["input.c_T"].to(device),
        y=tensors["input.y"].to(device),
        noise_x=tensors["input.noise_x"].to(device),
        noise_c=tensors["input.noise_c"].to(device),
        s=s,
        device=device,
    )
    x, c = run_once()
    return {"x": x.flatten().cpu().tolist(), "c": c.flatten().cpu().tolist()}


def run_once():
    st, s = state, state["s"]
    x, c = sample(st["model"], st["x_T"], st["c_T"], st["y"], s["steps"], st["noise_x"], st["noise_c"], s["cfg"],
                  s["cls_cfg"], s["low"], s["high"], s["null_label"])
    if st["device"].type == "cuda":
        torch.cuda.synchronize()
    return x, c


def run(req):
    model = state["model"]
    official = model.has_align
    model.has_align = official and not req.get("lean", False)
    try:
        return {"times": time_reps(run_once, req["reps"])}
    finally:
        model.has_align = official


if __name__ == "__main__":
    serve({"setup": setup, "time": run})
