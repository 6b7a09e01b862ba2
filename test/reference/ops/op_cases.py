"""The case recorder of the operator fixture generators (make_ops.py, make_ops_extra.py).

A case `NAME` stores its inputs as `NAME.in.KEY` and its output(s) as `NAME.out` (one tensor) or
`NAME.out.0`, `NAME.out.1`, ... (several); the case list goes into the file's metadata. That layout is
what test/op-fixture.ts reads.
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # test/reference: st.py
import st  # noqa: E402


class OpCases:
    """Cases drawn from one seeded generator, written to one safetensors file."""

    def __init__(self, seed):
        torch.set_num_threads(1)
        self.generator = torch.Generator().manual_seed(seed)
        self.tensors = {}
        self.names = []

    def randn(self, *shape, dtype=torch.float32):
        """Standard normal draws made in float64, rounded to `dtype`."""
        return torch.randn(*shape, generator=self.generator, dtype=torch.float64).to(dtype)

    def uniform(self, lo, hi, *shape, dtype=torch.float32):
        """Uniform draws in [lo, hi) made in float64, rounded to `dtype`."""
        return (lo + (hi - lo) * torch.rand(*shape, generator=self.generator, dtype=torch.float64)).to(dtype)

    def case(self, name, out, **inputs):
        """Record one case: keyword inputs (tensors) and an output tensor or a list/tuple of them."""
        assert name not in self.names, name
        self.names.append(name)
        for key, t in inputs.items():
            self.tensors[f"{name}.in.{key}"] = t.detach().contiguous()
        if isinstance(out, (list, tuple)):
            for i, t in enumerate(out):
                self.tensors[f"{name}.out.{i}"] = t.detach().contiguous()
        else:
            self.tensors[f"{name}.out"] = out.detach().contiguous()

    def save(self, out, generator_script):
        """Write every case to `out`, naming the script that made them."""
        os.makedirs(os.path.dirname(out), exist_ok=True)
        st.save_file(self.tensors, out, metadata={
            "generator": generator_script,
            "torch": torch.__version__,
            "cases": json.dumps(self.names),
        })
        print(f"wrote {len(self.names)} cases, {len(self.tensors)} tensors to {os.path.relpath(out)}")
