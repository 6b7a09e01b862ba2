"""PyTorch side of `npm run bench -- vae`: the plain-PyTorch AutoencoderKL of
test/reference/autoencoders/autoencoder_kl.py on the weights reg-ts wrote (diffusers layout), timing
encode (posterior mean and std of images in [-1, 1]) or decode (pixels of unscaled latents).

Requests (JSON lines, protocol of common.py):
  {"op": "setup", "dir": <diffusers folder>, "case": "encode"|"decode", "shape": [B, C, H, W]}
      -> {"checksums": [sum, sum|.|, ...]} of the output for a fixed input
  {"op": "time", "reps": n} -> {"times": [...]}
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "autoencoders"))
import st  # noqa: E402
from autoencoder_kl import AutoencoderKL  # noqa: E402
from common import no_grad_timer, serve  # noqa: E402

state = {}


def fixed_input(shape):
    """sin(0.37·i) over the flat index, scaled to about [-1, 1]: the same values on the reg-ts side."""
    n = 1
    for s in shape:
        n *= s
    return torch.sin(torch.arange(n, dtype=torch.float64) * 0.37).to(torch.float32).reshape(shape)


def setup(req):
    with open(os.path.join(req["dir"], "config.json")) as f:
        cfg = json.load(f)
    tensors, _ = st.load_file(os.path.join(req["dir"], "diffusion_pytorch_model.safetensors"))
    net = AutoencoderKL(cfg)
    net.load_state_dict(tensors)
    net.eval()
    x = fixed_input(req["shape"])
    if req["case"] == "encode":
        def fn():
            mean, std = net.encode(x)
            return [mean, std]
    else:
        def fn():
            return [net.decode(x)]
    state["fn"] = fn
    with torch.no_grad():
        outs = fn()
    return {"checksums": [v for o in outs for v in (o.sum().item(), o.abs().sum().item())]}


if __name__ == "__main__":
    serve({"setup": setup, "time": no_grad_timer(lambda: state["fn"])})
