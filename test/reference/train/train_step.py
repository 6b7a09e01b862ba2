"""PyTorch side of `npm run bench -- train-step`: one full REG training step, as the official train.py
does it (docs/method.md#training-objective and #training-setup), on the independent reference model test/reference/sit_reg.py:

    loss = REG objective (test/reference/loss.py: denoise + 0.5 proj + 0.03 cls) -> backward
    clip_grad_norm_(model.parameters(), 1.0) -> torch.optim.AdamW(lr 1e-4).step() -> zero_grad
    EMA 0.9999 over every named parameter (test/reference/optim.py)

Model: SiT-S/2 + REG (or `model` of the setup request), batch 16 (or `batch`), 32x32x4 latents (256
patches + the class token), 1000 classes, encoder width 768, projector 2048, alignment after block 4,
fp32, on `device` (cpu or cuda). Inputs (fixed for every step) are drawn from a
torch.Generator seeded like the TypeScript side, in the same order, so `setup` returns the first
step's loss and gradient norm for the Node side to compare.

Run with Debian's /usr/bin/python3 (python3-torch). Standalone: `--profile [threads]` prints
libtorch's per-operator breakdown of one step.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))

import loss as L  # noqa: E402
import optim as O  # noqa: E402
import sit_reg as R  # noqa: E402
from common import serve, time_reps  # noqa: E402

C, S, DZ = 4, 32, 768
state = {}


def make_inputs(seed, B):
    """Same draws, same order as bench/train-step.ts::makeInputs."""
    g = torch.Generator().manual_seed(seed)
    T = (S // 2) ** 2 + 1
    x0 = torch.randn([B, C, S, S], generator=g)
    y = torch.randint(0, 1000, [B], generator=g)
    cls0 = torch.randn([B, DZ], generator=g)
    target = torch.randn([B, T, DZ], generator=g)
    t = torch.rand([B], generator=g)
    noise = torch.randn([B, C, S, S], generator=g)
    noise_cls = torch.randn([B, DZ], generator=g)
    drop_mask = torch.rand([B], generator=g) < 0.1
    return dict(x0=x0, y=y, cls0=cls0, target=target, t=t, noise=noise, noise_cls=noise_cls, drop_mask=drop_mask)


def build(seed, name="SiT-S/2", device=torch.device("cpu")):
    torch.manual_seed(seed)
    cfg = R.named_config(name, input_size=S, in_channels=C, num_classes=1000, encoder_depth=4,
                         projector_dim=2048, z_dims=[DZ], variant="reg")
    model = R.SiT(**cfg).to(device)  # initialised on the CPU (same draws as the Node side), then moved
    model.train()
    ema = O.make_ema(model)
    opt = O.make_optimizer(model)
    return model, ema, opt


def step():
    model, ema, opt, inp = state["model"], state["ema"], state["opt"], state["inp"]
    out = L.reg_loss(model, inp["x0"], inp["y"], inp["t"], inp["noise"], cls0=inp["cls0"], noise_cls=inp["noise_cls"],
                     target_zs=[inp["target"]], drop_mask=inp["drop_mask"])
    out["loss"].backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    O.update_ema(ema, model, decay=0.9999)
    if state["device"].type == "cuda":
        torch.cuda.synchronize()
    return out["loss"], norm


def setup(req):
    seed = req.get("seed", 0)
    device = torch.device(req.get("device", "cpu"))
    model, ema, opt = build(seed, req.get("model", "SiT-S/2"), device)
    inp = {k: v.to(device) for k, v in make_inputs(seed, req.get("batch", 16)).items()}
    state.update(model=model, ema=ema, opt=opt, inp=inp, device=device)
    loss, norm = step()
    return {"loss": loss.item(), "gradNorm": norm.item(),
            "params": sum(p.numel() for p in model.parameters())}


def run(req):
    return {"times": time_reps(step, req["reps"])}


def profile(threads):
    torch.set_num_threads(threads)
    setup({})
    step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step()
    print(f"torch {torch.__version__}, intra-op threads {torch.get_num_threads()}, 1 step")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))


if __name__ == "__main__":
    if "--profile" in sys.argv:
        i = sys.argv.index("--profile")
        profile(int(sys.argv[i + 1]) if len(sys.argv) > i + 1 else 1)
    else:
        serve({"setup": setup, "time": run})
