"""Fixtures for src/eval/inception.test.ts (run: /usr/bin/python3 test/reference/eval/make_inception_fixtures.py)

- inception_w16.safetensors: the FID Inception at width 1/16 (full topology) with the hash weights of
  fid_inception.hash_weights, fed two uint8 images (NHWC, 64x48) through both resizes; its pool3,
  spatial and unbiased logits; plus the TF1 legacy resize of a float image to 91 and to 17 pixels.
- inception_state.json: the full-width state dict's names and shapes (pytorch-fid's file layout,
  num_batches_tracked included as torchvision writes it).
"""
import json
import os
import sys

import torch

here = os.path.dirname(__file__)
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, ".."))
import fid_inception as fi  # noqa: E402
from st import save_file  # noqa: E402

torch.manual_seed(0)
torch.set_num_threads(1)
OUT = os.path.join(here, "..", "..", "fixtures", "eval")

net = fi.hash_weights(fi.FIDInceptionV3(div=16)).eval()
images = torch.randint(0, 256, (2, 64, 48, 3), dtype=torch.uint8)  # NHWC, H=64, W=48
arrays = {"images": images}
with torch.no_grad():
    for mode in ["tf1-legacy", "pytorch"]:
        pool3, spatial, logits = net(fi.preprocess(images.permute(0, 3, 1, 2), mode))
        key = mode.replace("-", "_")
        arrays[f"{key}.pool3"] = pool3
        arrays[f"{key}.spatial"] = spatial
        arrays[f"{key}.logits"] = logits
    small = torch.rand(1, 3, 30, 40) * 255
    arrays["resize.input"] = small
    arrays["resize.up91"] = fi.resize_tf1_legacy(small, 91)
    arrays["resize.down17"] = fi.resize_tf1_legacy(small, 17)
save_file({k: v.contiguous() for k, v in arrays.items()}, os.path.join(OUT, "inception_w16.safetensors"))

full = fi.FIDInceptionV3(div=1)
with open(os.path.join(OUT, "inception_state.json"), "w") as f:
    json.dump({k: list(v.shape) for k, v in full.state_dict().items()}, f, indent=0)
print("pool3", arrays["tf1_legacy.pool3"][0, :4], "logits", arrays["tf1_legacy.logits"][0, :4])
