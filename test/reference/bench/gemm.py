"""PyTorch side of `npm run bench -- gemm`: torch.mm of float32 (M, K) x (K, N) matrices."""
import torch

from common import serve, time_reps

cases = {}


def setup(req):
    m, k, n = req["m"], req["k"], req["n"]
    g = torch.Generator().manual_seed(0)
    cases[(m, k, n)] = (torch.randn(m, k, generator=g), torch.randn(k, n, generator=g))
    return {}


def run(req):
    a, b = cases[(req["m"], req["k"], req["n"])]
    return {"times": time_reps(lambda: torch.mm(a, b), req["reps"])}


if __name__ == "__main__":
    serve({"setup": setup, "time": run})
