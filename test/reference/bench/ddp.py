"""PyTorch side of `npm run bench -- ddp`: one rank of the SiT-S/2 + REG training step of
test/reference/train/train_step.py (same model, inputs, AdamW, clipping, EMA), data-parallel with
torch.nn.parallel.DistributedDataParallel(find_unused_parameters=True) over Gloo as REG trains, each of W
ranks taking its slice (rank::W) of the global batch of 16 (make_inputs(0, 16)). Alone (WORLD_SIZE unset or 1) it runs the
plain step. Rank 0 prints {"times": [seconds per step]}.

Usage: ddp.py <steps>
"""
import json
import os
import sys
import time
from datetime import timedelta

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
sys.path.insert(0, os.path.join(HERE, ".."))

import loss as L  # noqa: E402
import optim as O  # noqa: E402
import train_step as T  # noqa: E402

steps = int(sys.argv[1])
world = int(os.environ.get("WORLD_SIZE", "1"))
rank = int(os.environ.get("RANK", "0"))
model, ema, opt = T.build(0)
net = model
if world > 1:
    import torch.distributed as dist

    dist.init_process_group("gloo", timeout=timedelta(seconds=300))
    net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    net.has_token, net.has_align = model.has_token, model.has_align  # what reg_loss asks of the model
inp = {k: v[rank::world] for k, v in T.make_inputs(0, 16).items()}

times = []
for _ in range(steps):
    t0 = time.perf_counter()
    out = L.reg_loss(net, inp["x0"], inp["y"], inp["t"], inp["noise"], cls0=inp["cls0"], noise_cls=inp["noise_cls"],
                     target_zs=[inp["target"]], drop_mask=inp["drop_mask"])
    out["loss"].backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    O.update_ema(ema, model, decay=0.9999)
    times.append(time.perf_counter() - t0)
if rank == 0:
    print(json.dumps({"times": times}), flush=True)
