"""Fixture for src/torch/io/pt-legacy.test.ts: a state dict in the legacy (pre-1.6, non-zip)
torch.save format, the format of pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`.
Run: /usr/bin/python3 test/reference/io/make_legacy_pt.py"""
import collections
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "io")
base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
state = collections.OrderedDict(
    [
        ("conv.weight", torch.linspace(-1, 1, 2 * 3 * 3 * 3).reshape(2, 3, 3, 3)),
        ("bn.running_var", torch.tensor([0.5, 2.0], dtype=torch.float64)),
        ("bn.num_batches_tracked", torch.tensor(7, dtype=torch.int64)),
        ("base", base),
        ("base_t", base.t()),  # a transposed view of the same storage
        ("half", torch.tensor([1.5, -2.0, 0.25], dtype=torch.float16)),
    ]
)
path = os.path.join(OUT, "legacy_state.pt")
torch.save(state, path, _use_new_zipfile_serialization=False)
expected = {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "values": v.double().flatten().tolist()} for k, v in state.items()}
with open(os.path.join(OUT, "legacy_state.expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
print("wrote", path, os.path.getsize(path))
