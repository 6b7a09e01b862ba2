"""Generate the reference fixtures under test/fixtures/reference/ (deterministic; CPU; ~1 min).

    /usr/bin/python3 test/reference/make_fixtures.py

See test/reference/README.md for the content of every file.
"""

import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import loss as L  # noqa: E402
import optim as O  # noqa: E402
import samplers as S  # noqa: E402
import sit_reg as R  # noqa: E402
from st import save_file  # noqa: E402

OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "reference"))

# small config shared by all model fixtures
# dims chosen pairwise distinct where possible (T=9, p*p*C=16, D=12, Dz=8, P=20, 4D=48, head_dim=6, B=3)
SMALL = dict(input_size=6, patch_size=2, in_channels=4, hidden_size=12, depth=2, num_heads=2, mlp_ratio=4.0,
             num_classes=10, class_dropout_prob=0.1, encoder_depth=1, projector_dim=20, z_dims=[8], freq_dim=256)
BATCH = 3
DTYPES = {"f64": torch.float64, "f32": torch.float32}

FIXTURE_INIT_NOTE = (
    "NOT the official init: official init (torch.manual_seed(0)) then EVERY tensor except pos_embed redrawn "
    "in float64 from torch.Generator seed 1000+variant_index, in state_dict order: 2-D/4-D weights "
    "N(0, 1/fan_in) (fan_in = in_features, or C*p*p for the patch conv), embedding table N(0, 0.5^2), "
    "biases N(0, 0.1^2), wg_norm.weight 1 + N(0, 0.1^2); so adaLN gates, final linear and linear_cls are "
    "non-zero. pos_embed = official 2-D sin-cos (float64 table, rounded for f32). The f32 file holds the "
    "f64 values rounded to float32.")


def meta_json(obj):
    return json.dumps(obj, sort_keys=True)


def rand_init_(model, gen):
    sd = model.state_dict()
    new = {}
    for name, p in sd.items():
        if name == "pos_embed":
            new[name] = p.clone()
            continue
        shape = tuple(p.shape)
        if name == "wg_norm.weight":
            v = 1 + 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
        elif name.endswith("embedding_table.weight"):
            v = 0.5 * torch.randn(shape, generator=gen, dtype=torch.float64)
        elif name.endswith(".bias") or p.dim() == 1:
            v = 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
        else:
            fan_in = int(torch.tensor(shape[1:]).prod())
            v = torch.randn(shape, generator=gen, dtype=torch.float64) / math.sqrt(fan_in)
        new[name] = v
    model.load_state_dict(new)


def build_model(variant, dtype, seed_offset):
    torch.manual_seed(0)
    m = R.SiT(**dict(SMALL, variant=variant))
    m = m.double()
    m.reset_pos_embed()
    rand_init_(m, torch.Generator().manual_seed(1000 + seed_offset))
    base = {k: v.clone() for k, v in m.state_dict().items()}  # float64 master values
    m = m.to(dtype)
    m.reset_pos_embed()  # f32: round the f64 table once (same as official .float())
    return m, base


def make_inputs(variant):
    """float64 inputs (shared by both dtypes; the f32 file stores them rounded)."""
    g = torch.Generator().manual_seed(7)
    B, C, H = BATCH, SMALL["in_channels"], SMALL["input_size"]
    Dz = SMALL["z_dims"][0]
    T = (H // SMALL["patch_size"]) ** 2 + int(R.variant_has_token(variant))
    inp = {
        "x0": torch.randn(B, C, H, H, generator=g, dtype=torch.float64),
        "noise": torch.randn(B, C, H, H, generator=g, dtype=torch.float64),
        "cls0": torch.randn(B, Dz, generator=g, dtype=torch.float64),
        "noise_cls": torch.randn(B, Dz, generator=g, dtype=torch.float64),
        "target_z": torch.randn(B, T, Dz, generator=g, dtype=torch.float64),
        "time_u": torch.tensor([0.15, 0.5, 0.9], dtype=torch.float64),  # weighting=uniform: t = u
        "time_n": torch.tensor([-1.2, 0.3, 1.7], dtype=torch.float64),  # weighting=lognormal input N(0,1)
        "y": torch.tensor([3, 7, 1], dtype=torch.int64),
        "drop_mask": torch.tensor([False, True, False]),
    }
    return inp


def model_fixture(variant, vi):
    files = {}
    for tag, dtype in DTYPES.items():
        model, base = build_model(variant, dtype, vi)
        model.train()
        inp64 = make_inputs(variant)
        inp = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in inp64.items()}
        t = L.time_from_uniform(inp["time_u"])
        tens = {}
        for k, v in model.state_dict().items():
            tens[k] = v.clone()
        for k, v in inp.items():
            tens["input." + k] = v
        tens["input.t"] = t
        tens["time.lognormal_linear"] = L.time_from_normal(inp["time_n"], "linear")
        tens["time.lognormal_cosine"] = L.time_from_normal(inp["time_n"], "cosine")
        has_tok, has_al = model.has_token, model.has_align
        kw = dict(cls0=inp["cls0"] if has_tok else None, noise_cls=inp["noise_cls"] if has_tok else None,
                  target_zs=[inp["target_z"]] if has_al else None, drop_mask=inp["drop_mask"])

        # extra forward-only loss values: cosine path, and lognormal times (linear path)
        with torch.no_grad():
            oc = L.reg_loss(model, inp["x0"], inp["y"], t, inp["noise"], path_type="cosine", **kw)
            ol = L.reg_loss(model, inp["x0"], inp["y"], tens["time.lognormal_linear"], inp["noise"], **kw)
        for name, o in (("loss_cosine", oc), ("loss_lognormal", ol)):
            for k in ("loss", "loss_z", "loss_proj", "loss_cls"):
                if k in o:
                    tens[f"{name}.{k}"] = o[k].detach()

        # main: linear path, uniform t, with gradients, then clip + AdamW + EMA
        ema = O.make_ema(model)
        opt = O.make_optimizer(model)
        out = L.reg_loss(model, inp["x0"], inp["y"], t, inp["noise"], **kw)
        tens["fwd.x_t"] = out["x_t"].detach()
        tens["fwd.v_target"] = out["v_target"].detach()
        tens["fwd.v_img"] = out["v_img"].detach()
        if has_tok:
            tens["fwd.cls_t"] = out["cls_t"].detach()
            tens["fwd.v_cls_target"] = out["v_cls_target"].detach()
            tens["fwd.v_cls"] = out["v_cls"].detach()
        if has_al:
            tens["fwd.zs.0"] = out["zs"][0].detach()
        # intermediates (same call, no dropout randomness because drop_mask is given)
        with torch.no_grad():
            _, _, _, hidden, cvec = model(out["x_t"], t, inp["y"], cls_token=out.get("cls_t"),
                                          drop_mask=inp["drop_mask"], return_hidden=True)
            tens["fwd.c"] = cvec
            tens["fwd.t_emb"] = model.t_embedder(t)
            for i, h in enumerate(hidden):
                tens[f"fwd.hidden.{i}"] = h
        for k in ("loss", "loss_z", "loss_proj", "loss_cls"):
            if k in out:
                tens[k] = out[k].detach()
        gn, grads, clipped = O.train_step(model, ema, opt, out["loss"])
        tens["grad_norm"] = gn.detach().reshape(())
        tens["clip_coef"] = torch.clamp(1.0 / (gn + 1e-6), max=1.0).detach().to(dtype).reshape(())
        for k, v in grads.items():
            tens["grad." + k] = v
        for k, v in model.state_dict().items():
            tens["adamw." + k] = v.clone()
        for k, v in ema.state_dict().items():
            tens["ema." + k] = v.clone()
        cfg = dict(SMALL, variant=variant)
        meta = {
            "config": meta_json(cfg),
            "dtype": tag,
            "batch": str(BATCH),
            "init": FIXTURE_INIT_NOTE,
            "param_order": meta_json(list(base.keys())),
            "loss": meta_json(dict(path_type="linear", weighting="uniform (t = input.time_u)", proj_coeff=0.5,
                                   cls_coeff=0.03, loss="loss_z + 0.5*loss_proj + 0.03*loss_cls (terms the "
                                   "variant has)")),
            "optim": meta_json(dict(optimizer="torch.optim.AdamW", lr=1e-4, betas=[0.9, 0.999], eps=1e-8,
                                    weight_decay=0.0, max_grad_norm=1.0, ema_decay=0.9999,
                                    order="backward; clip_grad_norm_(all params, 1.0); AdamW.step; "
                                          "EMA over all named params incl. pos_embed")),
            "train_mode": "model.train(); label dropout driven by input.drop_mask (True -> label 10 = null)",
            "notes": ("grad.* = raw gradients of `loss` (before clipping); pos_embed is frozen (no grad.*); "
                      "grad_norm = total 2-norm before clipping; clip_coef = min(1, 1/(grad_norm+1e-6)); "
                      "fwd.hidden.i = tokens after block i; fwd.zs.0 = projector output of block "
                      "encoder_depth; fwd.c = t_emb + label emb (after dropout); loss_cosine.* and "
                      "loss_lognormal.* are forward-only values with the same inputs (cosine path / t = "
                      "time.lognormal_linear)."),
        }
        fn = os.path.join(OUT, f"sit_{variant}_{tag}.safetensors")
        save_file(tens, fn, meta)
        files[tag] = (fn, tens)
        print(f"{fn}: {len(tens)} tensors, grad_norm {float(gn):.6g}, loss {float(out['loss']):.6g}")
    return files


# ----------------------------------------------------------------------------------------------
# samplers
# ----------------------------------------------------------------------------------------------

SAMPLER_CASES = {
    "sde": [
        dict(name="nocfg", num_steps=4, cfg_scale=1.0, cls_cfg_scale=1.0, guidance_low=0.0, guidance_high=1.0),
        dict(name="cfg", num_steps=4, cfg_scale=2.5, cls_cfg_scale=1.5, guidance_low=0.0, guidance_high=0.5),
        dict(name="cfg_band_clscond", num_steps=5, cfg_scale=2.0, cls_cfg_scale=0.0, guidance_low=0.3,
             guidance_high=0.8),
    ],
    "euler": [
        dict(name="nocfg", num_steps=4, cfg_scale=1.0, cls_cfg_scale=1.0, guidance_low=0.0, guidance_high=1.0),
        dict(name="cfg", num_steps=4, cfg_scale=2.5, cls_cfg_scale=1.5, guidance_low=0.0, guidance_high=0.6),
        dict(name="cfg_band_clscond", num_steps=5, cfg_scale=2.0, cls_cfg_scale=0.0, guidance_low=0.3,
             guidance_high=0.7),
    ],
}
SAMPLER_CASES["heun"] = SAMPLER_CASES["euler"]
SAMPLER_B = 2


def stack(xs):
    return torch.stack(xs, 0)


def sampler_conventions(sname, tag):
    common = ("state float64; network called in " + tag + " (state/time cast down, outputs cast up); CFG batch "
              "[cond; uncond], null label = num_classes = 10; guided iff cfg_scale>1 and low<=t_cur<=high; cls "
              "guided with cls_cfg_scale if >0 else conditional drift. ")
    if sname == "sde":
        spec = ("SDE: t_steps=linspace(1,0.04,N)++[0]; w=2t; drift=v-0.5*w*score, score=(-(1-t)v-x)/t (general "
                "form (r v - x)/(s^2 - r ds s), r=a/da); x+=drift*dt+sqrt(w)*(noise*sqrt(|dt|)) for steps 0..N-2 "
                "(noise_x[i], noise_c[i]); last step x+=dt*drift, no noise; .v/.v_cls = raw network outputs "
                "(float64, 2B rows [cond;uncond] when guided). ")
    else:
        spec = "ODE: t_steps=linspace(1,0,N+1); drift=v (guided); Euler x+=dt*drift. "
        if sname == "heun":
            spec += ("Heun: x'=x+dt*d1, d2=drift(x',t_next) using the guidance flag of t_cur, x=x+dt*(0.5*d1+0.5*d2), "
                     "except the final step (to t=0), which is plain Euler; drift2_* = d2 per corrected step. ")
    return common + spec + ("traj_* hold the N+1 states (traj[0] = x_T cast to float64); drift_* the N combined "
                            "(guided) first-stage drifts; guided the per-step flags.")


def sampler_fixtures():
    for tag, dtype in DTYPES.items():
        model, _ = build_model("reg", dtype, 0)
        model.eval()
        for sname in ("sde", "euler", "heun"):
            g = torch.Generator().manual_seed({"sde": 11, "euler": 12, "heun": 13}[sname])
            tens = {}
            cases_meta = {}
            B, C, H, Dz = SAMPLER_B, SMALL["in_channels"], SMALL["input_size"], SMALL["z_dims"][0]
            for case in SAMPLER_CASES[sname]:
                p = dict(case)
                name = p.pop("name")
                N = p["num_steps"]
                x_T = torch.randn(B, C, H, H, generator=g, dtype=torch.float64).to(dtype)
                c_T = torch.randn(B, Dz, generator=g, dtype=torch.float64).to(dtype)
                y = torch.randint(0, SMALL["num_classes"], (B,), generator=g)
                tens[f"{name}.x_T"], tens[f"{name}.c_T"], tens[f"{name}.y"] = x_T, c_T, y
                sk = {k: p[k] for k in ("cfg_scale", "cls_cfg_scale", "guidance_low", "guidance_high")}
                if sname == "sde":
                    nx = torch.randn(N - 1, B, C, H, H, generator=g, dtype=torch.float64)
                    nc = torch.randn(N - 1, B, Dz, generator=g, dtype=torch.float64)
                    tens[f"{name}.noise_x"], tens[f"{name}.noise_c"] = nx, nc
                    r = S.euler_maruyama(model, x_T, c_T, y, N, list(nx), list(nc), **sk)
                else:
                    r = S.ode_sample(model, x_T, c_T, y, N, heun=(sname == "heun"), **sk)
                    if sname == "heun":
                        tens[f"{name}.drift2_x"] = stack(r["drift2_x"])
                        tens[f"{name}.drift2_c"] = stack(r["drift2_c"])
                tens[f"{name}.t_steps"] = r["t_steps"]
                tens[f"{name}.traj_x"] = stack(r["traj_x"])
                tens[f"{name}.traj_c"] = stack(r["traj_c"])
                tens[f"{name}.drift_x"] = stack(r["drift_x"])
                tens[f"{name}.drift_c"] = stack(r["drift_c"])
                tens[f"{name}.guided"] = torch.tensor(r["guided"])
                tens[f"{name}.x"] = r["x"]
                tens[f"{name}.c"] = r["c"]
                cases_meta[name] = dict(p, null_label=SMALL["num_classes"], path_type="linear")
            # single steps from an arbitrary float64 state
            steps = [dict(name="step", t_cur=0.5, t_next=0.45, cfg_scale=2.5, cls_cfg_scale=1.5, guidance_low=0.0,
                          guidance_high=1.0, final=False)]
            if sname == "sde":
                steps.append(dict(name="step_last", t_cur=0.04, t_next=0.0, cfg_scale=2.5, cls_cfg_scale=1.5,
                                  guidance_low=0.0, guidance_high=0.5, final=True))
                steps.append(dict(name="step_unguided", t_cur=0.9, t_next=0.8, cfg_scale=2.5, cls_cfg_scale=1.5,
                                  guidance_low=0.0, guidance_high=0.85, final=False))
            else:
                steps.append(dict(name="step_final", t_cur=0.25, t_next=0.0, cfg_scale=2.5, cls_cfg_scale=1.5,
                                  guidance_low=0.0, guidance_high=1.0, final=True))
            for st in steps:
                p = dict(st)
                name = p.pop("name")
                x = torch.randn(B, C, H, H, generator=g, dtype=torch.float64)
                c = torch.randn(B, Dz, generator=g, dtype=torch.float64)
                y = torch.randint(0, SMALL["num_classes"], (B,), generator=g)
                tc = torch.tensor(p["t_cur"], dtype=torch.float64)
                tn = torch.tensor(p["t_next"], dtype=torch.float64)
                sk = {k: p[k] for k in ("cfg_scale", "cls_cfg_scale", "guidance_low", "guidance_high")}
                tens.update({f"{name}.x": x, f"{name}.c": c, f"{name}.y": y, f"{name}.t_cur": tc,
                             f"{name}.t_next": tn})
                if sname == "sde":
                    if p["final"]:
                        r = S.sde_step(model, x, c, y, tc, tn, last=True, **sk)
                    else:
                        nx = torch.randn(B, C, H, H, generator=g, dtype=torch.float64)
                        nc = torch.randn(B, Dz, generator=g, dtype=torch.float64)
                        tens[f"{name}.noise_x"], tens[f"{name}.noise_c"] = nx, nc
                        r = S.sde_step(model, x, c, y, tc, tn, nx, nc, **sk)
                else:
                    r = S.ode_step(model, x, c, y, tc, tn, heun=(sname == "heun"), final=p["final"], **sk)
                    if r["heun_applied"]:
                        tens[f"{name}.drift2_x"], tens[f"{name}.drift2_c"] = r["drift2_x"], r["drift2_c"]
                if sname == "sde":
                    tens[f"{name}.v"], tens[f"{name}.v_cls"] = r["v"], r["v_cls"]
                tens[f"{name}.drift_x"], tens[f"{name}.drift_c"] = r["drift_x"], r["drift_c"]
                tens[f"{name}.x_next"], tens[f"{name}.c_next"] = r["x_next"], r["c_next"]
                tens[f"{name}.guided"] = torch.tensor(r["guided"])
                cases_meta[name] = dict(p, null_label=SMALL["num_classes"], path_type="linear")
            meta = {
                "sampler": sname,
                "dtype": tag,
                "config": meta_json(dict(SMALL, variant="reg")),
                "weights": f"sit_reg_{tag}.safetensors (the un-prefixed parameter keys = weights before the AdamW "
                           f"step); model in eval mode",
                "cases": meta_json(cases_meta),
                "conventions": sampler_conventions(sname, tag),
            }
            fn = os.path.join(OUT, f"sampler_{sname}_{tag}.safetensors")
            save_file(tens, fn, meta)
            print(f"{fn}: {len(tens)} tensors")


# ----------------------------------------------------------------------------------------------
# official init / deterministic embeddings
# ----------------------------------------------------------------------------------------------

def init_fixture():
    tens = {}
    torch.manual_seed(0)
    m = R.SiT(**dict(SMALL, variant="reg"))
    m.eval()
    for k, v in m.state_dict().items():
        tens[k] = v.clone()
    zero = [k for k, v in m.state_dict().items() if torch.count_nonzero(v) == 0]
    ones = [k for k, v in m.state_dict().items() if torch.all(v == 1)]
    xavier = {}
    for name, mod in m.named_modules():
        if isinstance(mod, torch.nn.Linear) and torch.count_nonzero(mod.weight) > 0 and \
                not name.startswith("t_embedder"):
            fo, fi = mod.weight.shape
            xavier[name + ".weight"] = math.sqrt(6.0 / (fi + fo))
    w = m.x_embedder.proj.weight
    xavier["x_embedder.proj.weight"] = math.sqrt(6.0 / (w.shape[0] + w[0].numel()))
    # forward of the freshly initialised model: v and v_cls are exactly zero
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, SMALL["in_channels"], SMALL["input_size"], SMALL["input_size"], generator=g)
    c = torch.randn(2, SMALL["z_dims"][0], generator=g)
    t = torch.tensor([0.3, 0.8])
    y = torch.tensor([2, 10])
    v, zs, vc = m(x, t, y, cls_token=c)
    tens.update({"input.x": x, "input.cls": c, "input.t": t, "input.y": y, "fwd.v_img": v.detach(),
                 "fwd.zs.0": zs[0].detach(), "fwd.v_cls": vc.detach()})
    # deterministic tables
    for (grid, D, extra) in ((3, 12, 1), (3, 12, 0), (4, 16, 1), (8, 32, 1)):
        pe = torch.from_numpy(R.pos_embed_2d(D, grid, extra))
        tens[f"pos_embed.g{grid}_d{D}_x{extra}.f64"] = pe
        tens[f"pos_embed.g{grid}_d{D}_x{extra}.f32"] = pe.float()
    tt = torch.tensor([0.0, 1e-3, 0.04, 0.25, 0.5, 0.7777, 0.999, 1.0], dtype=torch.float64)
    tens["tfeat.t"] = tt
    tens["tfeat.f64"] = R.timestep_features(tt, 256)
    tens["tfeat.f32"] = R.timestep_features(tt.float(), 256)
    tens["tfeat.official_from_f64"] = R.timestep_features_official(tt, 256)
    tens["tfeat.d7.f64"] = R.timestep_features(tt, 7)  # odd dim: zero column appended
    meta = {
        "config": meta_json(dict(SMALL, variant="reg")),
        "init": "OFFICIAL init, torch.manual_seed(0) then SiT(**config) (bit-identical to the official class "
                "built with timm layers under the same seed), float32",
        "zero_tensors": meta_json(zero),
        "ones_tensors": meta_json(ones),
        "xavier_uniform_bounds": meta_json(xavier),
        "normal_std_0.02": meta_json(["y_embedder.embedding_table.weight", "t_embedder.mlp.0.weight",
                                      "t_embedder.mlp.2.weight"]),
        "notes": ("pos_embed.g{G}_d{D}_x{E}: 2-D sin-cos table (E zero rows first, then G*G row-major tokens; "
                  "channels [0,D/4) sin(col*w), [D/4,D/2) cos(col*w), [D/2,3D/4) sin(row*w), [3D/4,D) cos(row*w), "
                  "w_k = 10000^(-k/(D/4))); f32 = f64 rounded. tfeat.*: timestep features [cos(t f), sin(t f)], "
                  "f_k = exp(-ln(10000) k/128) computed in f64 / f32; official_from_f64 = the official code with "
                  "a float64 t (float32 math then cast to float64). fwd.*: freshly initialised model (eval) on "
                  "input.* -> v_img and v_cls are exactly 0; input.y[1] = 10 is the null label."),
    }
    fn = os.path.join(OUT, "sit_init_f32.safetensors")
    save_file(tens, fn, meta)
    print(f"{fn}: {len(tens)} tensors; zero: {zero}")


# ----------------------------------------------------------------------------------------------
# AdamW / clip / EMA over several steps (small tensors)
# ----------------------------------------------------------------------------------------------

def optim_fixture():
    for tag, dtype in DTYPES.items():
        g = torch.Generator().manual_seed(21)
        shapes = {"a": (4, 3), "b": (5,), "c": (2, 2, 2)}
        init = {k: torch.randn(s, generator=g, dtype=torch.float64) for k, s in shapes.items()}
        frozen0 = torch.randn(3, generator=g, dtype=torch.float64)
        grad_scales = [3.0, 0.05, 1.5, 0.0]  # clip active, inactive, active, all-zero grads
        grads = [{k: s * torch.randn(shapes[k], generator=g, dtype=torch.float64) for k in shapes}
                 for s in grad_scales]
        tens = {"frozen.init": frozen0.to(dtype)}
        cases = {
            "official": dict(lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, max_grad_norm=1.0,
                             ema_decay=0.9999),
            "wd": dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, max_grad_norm=0.5, ema_decay=0.9),
        }
        for k, v in init.items():
            tens[f"init.{k}"] = v.to(dtype)
        for si, gr in enumerate(grads):
            for k, v in gr.items():
                tens[f"grad.{si}.{k}"] = v.to(dtype)
        for cname, hp in cases.items():
            params = torch.nn.ParameterDict({k: torch.nn.Parameter(v.to(dtype).clone()) for k, v in init.items()})
            frozen = torch.nn.Parameter(frozen0.to(dtype).clone(), requires_grad=False)
            plist = [params["a"], params["b"], frozen, params["c"]]
            ema = [p.detach().clone() for p in plist]
            opt = torch.optim.AdamW(plist, lr=hp["lr"], betas=hp["betas"], eps=hp["eps"],
                                    weight_decay=hp["weight_decay"])
            for si, gr in enumerate(grads):
                for k in shapes:
                    params[k].grad = gr[k].to(dtype).clone()
                gn = torch.nn.utils.clip_grad_norm_(plist, hp["max_grad_norm"])
                opt.step()
                opt.zero_grad(set_to_none=True)
                with torch.no_grad():
                    for e, p in zip(ema, plist):
                        e.mul_(hp["ema_decay"]).add_(p, alpha=1 - hp["ema_decay"])
                tens[f"{cname}.{si}.grad_norm"] = gn.detach().reshape(())
                for k in shapes:
                    p = params[k]
                    st = opt.state[p]
                    tens[f"{cname}.{si}.param.{k}"] = p.detach().clone()
                    tens[f"{cname}.{si}.exp_avg.{k}"] = st["exp_avg"].clone()
                    tens[f"{cname}.{si}.exp_avg_sq.{k}"] = st["exp_avg_sq"].clone()
                for name, e in zip(["a", "b", "frozen", "c"], ema):
                    tens[f"{cname}.{si}.ema.{name}"] = e.clone()
        meta = {
            "dtype": tag,
            "cases": meta_json({k: dict(v, betas=list(v["betas"])) for k, v in cases.items()}),
            "notes": ("Parameters [a, b, frozen, c] (frozen: requires_grad False, never a grad) go to "
                      "torch.optim.AdamW in that order. For step s = 0..3: grads grad.s.* are set, "
                      "clip_grad_norm_(all, max_grad_norm) (frozen skipped), AdamW.step(), then EMA "
                      "e = e*decay + p*(1-decay) on all four (EMA starts = init). Step 1 has grad norm < "
                      "max (no clipping); step 3 has all-zero grads (AdamW still steps with the moments). "
                      "<case>.<s>.param/exp_avg/exp_avg_sq/ema hold values after step s."),
        }
        fn = os.path.join(OUT, f"optim_{tag}.safetensors")
        save_file(tens, fn, meta)
        print(f"{fn}: {len(tens)} tensors")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)  # deterministic reductions
    for vi, variant in enumerate(R.VARIANTS):
        model_fixture(variant, vi)
    sampler_fixtures()
    init_fixture()
    optim_fixture()


if __name__ == "__main__":
    main()
