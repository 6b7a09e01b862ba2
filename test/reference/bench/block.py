"""PyTorch side of `npm run bench -- block`: one SiT block (adaLN-Zero, B16, T257, D384, 6 heads,
MLP x4, GELU-tanh) forward + backward, mirroring bench/block.ts operator for operator.

Inputs and parameters are drawn in the same order from a generator with the same seed as the
TypeScript side, so `setup` returns checksums the Node side compares against its own.

Run alone with `--profile` for libtorch's per-operator breakdown of one step (torch.profiler).
"""
import math
import sys

import torch
import torch.nn.functional as F

from common import serve, time_reps

B, N, D, H, MLP_RATIO = 16, 257, 384, 6, 4
state = {}


def make_inputs(seed):
    g = torch.Generator().manual_seed(seed)

    def leaf(shape, std):
        t = torch.randn(shape, generator=g)
        t.mul_(std)
        return t.requires_grad_(True)

    x = leaf([B, N, D], 1)
    c = leaf([B, D], 1)
    p = dict(
        adaW=leaf([6 * D, D], 0.02), adaB=leaf([6 * D], 0.02),
        qkvW=leaf([3 * D, D], 0.02), qkvB=leaf([3 * D], 0.02),
        projW=leaf([D, D], 0.02), projB=leaf([D], 0.02),
        fc1W=leaf([MLP_RATIO * D, D], 0.02), fc1B=leaf([MLP_RATIO * D], 0.02),
        fc2W=leaf([D, MLP_RATIO * D], 0.02), fc2B=leaf([D], 0.02),
    )
    g_out = torch.randn([B, N, D], generator=g)
    return x, c, p, g_out


def modulate(x, shift, scale):
    return x.mul(scale.add(1)).add(shift)


def sdpa(q, k, v):
    # libtorch 1.13 has no fused kernel; the same explicit formula as reg-ts's fallback
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v)
    scores = q.matmul(k.transpose(-2, -1))
    scores.mul_(1 / math.sqrt(q.shape[-1]))
    return F.softmax(scores, -1).matmul(v)


def attention(x, p):
    qkv = F.linear(x, p["qkvW"], p["qkvB"]).reshape(B, N, 3, H, D // H).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)
    o = sdpa(q, k, v)
    return F.linear(o.transpose(1, 2).reshape(B, N, D), p["projW"], p["projB"])


def block_forward(x, c, p):
    mod = F.linear(F.silu(c), p["adaW"], p["adaB"]).unsqueeze(1)
    shift1, scale1, gate1, shift2, scale2, gate2 = mod.chunk(6, -1)
    h1 = attention(modulate(F.layer_norm(x, [D], None, None, 1e-6), shift1, scale1), p)
    x1 = x.add(gate1.mul(h1))
    m = F.linear(F.gelu(F.linear(modulate(F.layer_norm(x1, [D], None, None, 1e-6), shift2, scale2), p["fc1W"], p["fc1B"]), approximate="tanh"), p["fc2W"], p["fc2B"])
    return x1.add(gate2.mul(m))


def step():
    x, c, p, g_out, leaves = state["x"], state["c"], state["p"], state["g_out"], state["leaves"]
    for t in leaves:
        t.grad = None
    out = block_forward(x, c, p)
    out.backward(g_out)


def setup(req):
    x, c, p, g_out = make_inputs(req.get("seed", 0))
    leaves = [x, c, *p.values()]
    state.update(x=x, c=c, p=p, g_out=g_out, leaves=leaves)
    out = block_forward(x, c, p)
    sums = [out.mul(g_out).sum().item()]
    out.backward(g_out)
    sums += [t.grad.abs().sum().item() for t in leaves]
    return {"checksums": sums}


def forward():
    block_forward(state["x"], state["c"], state["p"])  # graph recorded, then dropped


def run(req):
    return {"times": time_reps(forward if req.get("forward") else step, req["reps"])}


def profile(threads):
    torch.set_num_threads(threads)
    setup({})
    for _ in range(3):
        step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            step()
    print(f"torch {torch.__version__}, intra-op threads {torch.get_num_threads()}, 3 steps")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))


if __name__ == "__main__":
    if "--profile" in sys.argv:
        profile(int(sys.argv[sys.argv.index("--profile") + 1]) if len(sys.argv) > sys.argv.index("--profile") + 1 else 1)
    else:
        serve({"setup": setup, "time": run})
