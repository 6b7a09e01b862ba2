"""Fixture for src/eval/linear-probe.test.ts and src/nn/batch-norm-1d.test.ts: PyTorch's BatchNorm1d
(training and eval mode, running statistics, gradients) and MAE's linear-probe head
Sequential(BatchNorm1d(affine=False, eps=1e-6), Linear) on fixed inputs, float64.
Run: /usr/bin/python3 test/reference/eval/make_linear_probe.py"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from st import save_file  # noqa: E402

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
out = {}
x1 = torch.randn(7, 5) * 2 + 1
x2 = torch.randn(6, 5) * 0.5 - 1
g = torch.randn(7, 3)
out.update({"x1": x1, "x2": x2, "g": g})

# MAE's head: BatchNorm1d(affine=False, eps=1e-6) -> Linear
head = torch.nn.Sequential(torch.nn.BatchNorm1d(5, affine=False, eps=1e-6), torch.nn.Linear(5, 3))
with torch.no_grad():
    head[1].weight.copy_(torch.randn(3, 5))
    head[1].bias.copy_(torch.randn(3))
out["probe.linear.weight"] = head[1].weight.detach().clone()
out["probe.linear.bias"] = head[1].bias.detach().clone()
head.train()
xa = x1.clone().requires_grad_(True)
y1 = head(xa)
(y1 * g).sum().backward()
out["probe.train_out"] = y1.detach()
out["probe.grad_x"] = xa.grad
out["probe.grad_weight"] = head[1].weight.grad
out["probe.grad_bias"] = head[1].bias.grad
head(x2)
out["probe.running_mean"] = head[0].running_mean.clone()
out["probe.running_var"] = head[0].running_var.clone()
head.eval()
out["probe.eval_out"] = head(x2).detach()

# plain affine BatchNorm1d with non-trivial gamma and beta
bn = torch.nn.BatchNorm1d(5)
with torch.no_grad():
    bn.weight.copy_(1 + 0.3 * torch.randn(5))
    bn.bias.copy_(0.2 * torch.randn(5))
out["bn.weight"] = bn.weight.detach().clone()
out["bn.bias"] = bn.bias.detach().clone()
bn.train()
xb = x1.clone().requires_grad_(True)
yb = bn(xb)
(yb * g[:, :1]).sum().backward()
out["bn.train_out"] = yb.detach()
out["bn.grad_x"] = xb.grad
out["bn.grad_weight"] = bn.weight.grad
out["bn.grad_bias"] = bn.bias.grad
out["bn.running_mean"] = bn.running_mean.clone()
out["bn.running_var"] = bn.running_var.clone()
out["bn.num_batches_tracked"] = bn.num_batches_tracked.clone().reshape(1)
bn.eval()
out["bn.eval_out"] = bn(x2).detach()

dest = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "eval", "linear_probe.safetensors")
save_file({k: v.contiguous() for k, v in out.items()}, dest)
print("wrote", dest)
