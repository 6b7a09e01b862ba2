"""PyTorch side of `npm run bench -- dinov2`: REG's DINOv2 target pass (ViT-B/14 at 224 px, random
weights in the torch.hub layout) with the reference of test/reference/encoders/make_dinov2_hub.py in
float32.

Requests (JSON lines, protocol of common.py):
  {"op": "setup", "file": <path>, "batch": B, "side": S} -> writes random ViT-B/14 weights to `file`
      (torch.save, the layout of dinov2_vitb14_pretrain.pth) for reg-ts to load, and returns
      {"checksums": [sum cls, sum |cls|, sum patches, sum |patches|]} for the fixed images
  {"op": "time", "reps": n} -> {"times": [...]}
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "encoders"))
from common import no_grad_timer, pattern_images, serve  # noqa: E402
from make_dinov2_hub import make_hub_weights, reference  # noqa: E402

VIT_B = {"C": 768, "LAYERS": 12, "MLP": 3072, "M": 37}
HEADS = 12
state = {}


def setup(req):
    w = make_hub_weights(torch.Generator().manual_seed(0), 0, **VIT_B)
    torch.save(w, req["file"])
    img = pattern_images(req["batch"], req["side"])
    state["fn"] = lambda: reference(w, img, 224, heads=HEADS, dtype=torch.float32)
    with torch.no_grad():
        cls, patches, _ = state["fn"]()
    return {"checksums": [cls.sum().item(), cls.abs().sum().item(), patches.sum().item(), patches.abs().sum().item()]}


if __name__ == "__main__":
    serve({"setup": setup, "time": no_grad_timer(lambda: state["fn"])})
