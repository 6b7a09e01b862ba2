"""PyTorch side of `npm run bench -- inception`: the FID Inception feature pass (resize 256 -> 299 the
TF1-legacy way, (x - 128)/128, the full-width network, pool3 + spatial + unbiased logits) with the
reference of test/reference/eval/fid_inception.py in float32, on its hash weights.

Requests (JSON lines, protocol of common.py):
  {"op": "setup", "file": <path>, "batch": B, "side": S} -> writes the hash weights to `file` (legacy
      torch.save, the format of pytorch-fid's pt_inception-2015-12-05-6726825d.pth) for reg-ts to load,
      and returns {"checksums": [sum pool3, sum |pool3|, sum spatial, sum |logits|]} for the fixed images
  {"op": "time", "reps": n} -> {"times": [...]}
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "eval"))
from common import no_grad_timer, pattern_images, serve  # noqa: E402
from fid_inception import FIDInceptionV3, hash_weights, preprocess  # noqa: E402

state = {}


def setup(req):
    net = hash_weights(FIDInceptionV3(div=1)).eval()
    torch.save(net.state_dict(), req["file"], _use_new_zipfile_serialization=False)
    img = pattern_images(req["batch"], req["side"])
    state["fn"] = lambda: net(preprocess(img, "tf1-legacy"))
    with torch.no_grad():
        pool3, spatial, logits = state["fn"]()
    return {"checksums": [pool3.sum().item(), pool3.abs().sum().item(), spatial.sum().item(), logits.abs().sum().item()]}


if __name__ == "__main__":
    serve({"setup": setup, "time": no_grad_timer(lambda: state["fn"])})
