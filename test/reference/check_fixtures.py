"""Re-load the committed fixtures, recompute them from their stored inputs/weights, and report
(1) the self-consistency error (must be 0 or ~1e-16) and (2) the float32-vs-float64 error per key, i.e. how
far an exact float32 computation lands from the float64 truth (this is what the TS tolerances are based on).

    /usr/bin/python3 test/reference/check_fixtures.py
"""

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import loss as L  # noqa: E402
import optim as O  # noqa: E402
import samplers as S  # noqa: E402
import sit_reg as R  # noqa: E402
from st import load_file  # noqa: E402

FIX = os.path.normpath(os.path.join(HERE, "..", "fixtures", "reference"))


def rel(a, b):
    """max |a - b| / max |b| (norm-wise relative error; 0 if both are 0)."""
    a, b = a.double(), b.double()
    den = b.abs().max().item()
    num = (a - b).abs().max().item()
    return num / den if den > 0 else num


def load_model(tens, cfg, dtype):
    m = R.SiT(**cfg).to(dtype)
    m.load_state_dict({k: tens[k] for k in m.state_dict()})
    return m


def check_model(variant):
    worst = {}
    res = {}
    for tag, dtype in (("f64", torch.float64), ("f32", torch.float32)):
        tens, meta = load_file(os.path.join(FIX, f"sit_{variant}_{tag}.safetensors"))
        cfg = json.loads(meta["config"])
        m = load_model(tens, cfg, dtype)
        m.train()
        i = {k[6:]: v for k, v in tens.items() if k.startswith("input.")}
        kw = dict(cls0=i["cls0"] if m.has_token else None, noise_cls=i["noise_cls"] if m.has_token else None,
                  target_zs=[i["target_z"]] if m.has_align else None, drop_mask=i["drop_mask"])
        ema = O.make_ema(m)
        opt = O.make_optimizer(m)
        out = L.reg_loss(m, i["x0"], i["y"], i["t"], i["noise"], **kw)
        e = max(rel(out["v_img"], tens["fwd.v_img"]), rel(out["loss"], tens["loss"]))
        _, grads, _ = O.train_step(m, ema, opt, out["loss"])
        e = max([e] + [rel(v, tens["grad." + k]) for k, v in grads.items()])
        e = max([e] + [rel(v, tens["adamw." + k]) for k, v in m.state_dict().items()])
        e = max([e] + [rel(v, tens["ema." + k]) for k, v in ema.state_dict().items()])
        worst[tag] = e
        res[tag] = tens
    # float32 vs float64 per key group
    groups = {}
    for k, v in res["f64"].items():
        if not v.is_floating_point() or k.startswith("input.") or k == "pos_embed":
            continue
        grp = k.split(".")[0] if k.split(".")[0] in ("grad", "adamw", "ema", "fwd") else "loss/params"
        if grp == "adamw" or grp == "ema":
            # compare the update, not the parameter value
            base = k.split(".", 1)[1]
            d32 = res["f32"][k].double() - res["f32"][base].double()
            d64 = v - res["f64"][base]
            r = rel(d32, d64)
        else:
            r = rel(res["f32"][k], v)
        groups[grp] = max(groups.get(grp, 0.0), r)
    return worst, groups


def check_samplers():
    out = {}
    for sname in ("sde", "euler", "heun"):
        for tag, dtype in (("f64", torch.float64), ("f32", torch.float32)):
            tens, meta = load_file(os.path.join(FIX, f"sampler_{sname}_{tag}.safetensors"))
            wts, wmeta = load_file(os.path.join(FIX, f"sit_reg_{tag}.safetensors"))
            m = load_model(wts, json.loads(wmeta["config"]), dtype).eval()
            cases = json.loads(meta["cases"])
            e = 0.0
            for name, p in cases.items():
                sk = {k: p[k] for k in ("cfg_scale", "cls_cfg_scale", "guidance_low", "guidance_high")}
                if "num_steps" in p:
                    N = p["num_steps"]
                    if sname == "sde":
                        r = S.euler_maruyama(m, tens[f"{name}.x_T"], tens[f"{name}.c_T"], tens[f"{name}.y"], N,
                                             list(tens[f"{name}.noise_x"]), list(tens[f"{name}.noise_c"]), **sk)
                    else:
                        r = S.ode_sample(m, tens[f"{name}.x_T"], tens[f"{name}.c_T"], tens[f"{name}.y"], N,
                                         heun=sname == "heun", **sk)
                    e = max(e, rel(r["x"], tens[f"{name}.traj_x"][-1]), rel(r["c"], tens[f"{name}.traj_c"][-1]))
                    out.setdefault((sname, name), {})[tag] = tens[f"{name}.traj_x"][-1]
            out.setdefault(("self", sname), {})[tag] = e
    return out


def main():
    torch.set_num_threads(1)
    print("model fixtures: self-consistency (max rel err) and f32-vs-f64 max rel err per group")
    for v in R.VARIANTS:
        worst, groups = check_model(v)
        print(f"  {v:9s} self f64 {worst['f64']:.1e} f32 {worst['f32']:.1e} | f32 vs f64: " +
              ", ".join(f"{k} {g:.1e}" for k, g in sorted(groups.items())))
    out = check_samplers()
    print("samplers:")
    for (a, b), d in out.items():
        if a == "self":
            print(f"  {b}: self-consistency f64 {d['f64']:.1e} f32 {d['f32']:.1e}")
        else:
            print(f"  {a}.{b}: final x f32 vs f64 {rel(d['f32'], d['f64']):.1e}")


if __name__ == "__main__":
    main()
