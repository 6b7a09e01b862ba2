"""Fixture for src/torch/io/pt-legacy.test.ts: a state dict in the legacy (pre-1.6, non-zip)
torch.save format, the format of pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`.
Run: /usr/bin/python3 test/reference/io/make_legacy_pt.py"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "io")
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3, bias=False), torch.nn.BatchNorm2d(2, eps=1e-3))
with torch.no_grad():
    net[0].weight.copy_(torch.linspace(-1, 1, 2 * 3 * 3 * 3).reshape(2, 3, 3, 3))
    net[1].running_var.copy_(torch.tensor([0.5, 2.0]))
    net[1].num_batches_tracked.fill_(7)
# a module's state_dict(): an OrderedDict carrying `_metadata` (set through the pickle's BUILD), with
# the BatchNorm's int64 num_batches_tracked, as in pytorch-fid's file; then a few more layouts
state = net.state_dict()
base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
state["bn64.running_var"] = torch.tensor([0.5, 2.0], dtype=torch.float64)
state["base"] = base
state["base_t"] = base.t()  # a transposed view of the same storage
state["half"] = torch.tensor([1.5, -2.0, 0.25], dtype=torch.float16)
path = os.path.join(OUT, "legacy_state.pt")
torch.save(state, path, _use_new_zipfile_serialization=False)
expected = {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "values": v.double().flatten().tolist()} for k, v in state.items()}
with open(os.path.join(OUT, "legacy_state.expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
print("wrote", path, os.path.getsize(path))
