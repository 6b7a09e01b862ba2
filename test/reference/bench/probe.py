"""Where does a SiT block's time go in libtorch 1.13? Standalone probes behind BENCHMARKS.md.

  /usr/bin/python3 test/reference/bench/probe.py [threads]

Times (medians of 7 after warm-up) the pieces of the attention (bmm vs an equal-FLOP mm, softmax
forward/backward, attention variants) and the block step's page faults. Same libtorch as reg-ts.
"""
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
B, N, D, H = 16, 257, 384, 6
hd = D // H


def med(fn, reps=7, warm=2):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[reps // 2]


def report(label, sec, flop=None):
    extra = f"  {flop / sec / 1e9:7.1f} GFLOP/s" if flop else ""
    print(f"{label:58s} {sec * 1e3:8.2f} ms{extra}")


print(f"torch {torch.__version__}, intra-op threads {torch.get_num_threads()}")
q = torch.randn(B * H, N, hd)
k = torch.randn(B * H, N, hd)
v = torch.randn(B * H, N, hd)
s = torch.randn(B * H, N, N)
f_qk = 2 * B * H * N * N * hd
report("bmm QK^T (96 x 257x64x257)", med(lambda: torch.bmm(q, k.transpose(1, 2))), f_qk)
report("bmm AV   (96 x 257x257x64)", med(lambda: torch.bmm(s, v)), f_qk)
big_a = torch.randn(B * H * N, hd)
big_b = torch.randn(hd, N)
report("mm with the same FLOPs (24672x64x257)", med(lambda: torch.mm(big_a, big_b)), f_qk)
w = torch.randn(N, hd)
report("mm equal work, one matrix (Q rows x K^T of one head, 96x)", med(lambda: [torch.mm(q[i], k[i].t()) for i in range(B * H)]), f_qk)
report("softmax forward (96x257x257)", med(lambda: torch.softmax(s, -1)))
y = torch.softmax(s, -1)
g = torch.randn_like(y)
report("softmax backward (_softmax_backward_data)", med(lambda: torch._softmax_backward_data(g, y, -1, torch.float32)))
report("scores.mul_(scale)", med(lambda: s.mul_(1.0)))
x = torch.randn(B, N, D)
sc = torch.randn(B, 1, D)
report("x * scale (B,N,D)*(B,1,D)", med(lambda: x * sc))
h4 = torch.randn(B, N, 4 * D)
report("gelu tanh (B,N,4D)", med(lambda: F.gelu(h4, approximate="tanh")))
qkv5 = torch.randn(B, N, 3, H, hd).permute(2, 0, 3, 1, 4)
report("q of the qkv layout to contiguous (B*H,N,hd)", med(lambda: qkv5[0].reshape(B * H, N, hd)))

# Attention variants, forward + backward
def attn_explicit(q, k, v):
    a = q.matmul(k.transpose(-2, -1))
    a.mul_(1 / math.sqrt(hd))
    return a.softmax(-1).matmul(v)


def attn_prescaled(q, k, v):
    return (q * (1 / math.sqrt(hd))).matmul(k.transpose(-2, -1)).softmax(-1).matmul(v)


def attn_baddbmm(q, k, v):
    q3, k3, v3 = q.reshape(B * H, N, hd), k.reshape(B * H, N, hd), v.reshape(B * H, N, hd)
    a = torch.baddbmm(torch.empty(B * H, N, N), q3, k3.transpose(1, 2), beta=0, alpha=1 / math.sqrt(hd))
    return torch.bmm(a.softmax(-1), v3).view(B, H, N, hd)


def attn_sdpa113(q, k, v):
    return torch._C._nn._scaled_dot_product_attention(q, k, v)[0]


qq = torch.randn(B, H, N, hd, requires_grad=True)
kk = torch.randn(B, H, N, hd, requires_grad=True)
vv = torch.randn(B, H, N, hd, requires_grad=True)
go = torch.randn(B, H, N, hd)
ref = attn_explicit(qq, kk, vv)
for name, fn in [("explicit (reg-ts fallback)", attn_explicit), ("q prescaled (timm)", attn_prescaled),
                 ("baddbmm alpha", attn_baddbmm), ("aten::_scaled_dot_product_attention (1.13)", attn_sdpa113)]:
    assert torch.allclose(fn(qq, kk, vv), ref, atol=1e-5), name

    def step():
        for t in (qq, kk, vv):
            t.grad = None
        fn(qq, kk, vv).backward(go)

    report(f"attention fwd+bwd: {name}", med(step), 3 * 2 * f_qk)

# Page faults of a block step with the default allocator settings
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import block  # noqa: E402

block.setup({})
for _ in range(2):
    block.step()
r0 = resource.getrusage(resource.RUSAGE_SELF)
t = med(block.step, reps=5, warm=0)
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(f"block step {t * 1e3:.1f} ms; per step: minor page faults {(r1.ru_minflt - r0.ru_minflt) / 5:.0f}, "
      f"user {(r1.ru_utime - r0.ru_utime) / 5:.3f} s, system {(r1.ru_stime - r0.ru_stime) / 5:.3f} s")
