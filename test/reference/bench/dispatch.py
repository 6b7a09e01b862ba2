"""PyTorch side of `npm run bench -- dispatch`: per-operator overhead of torch.add on two
1-element tensors, measured over batches of `calls` calls (seconds per batch)."""
import time

import torch

from common import serve

a = torch.ones(1)
b = torch.ones(1)


def run(req):
    calls, reps, variant = req["calls"], req["reps"], req["variant"]
    rng = range(calls)
    out = []
    for _ in range(reps):
        if variant == "torch.add":
            t0 = time.perf_counter()
            for _ in rng:
                torch.add(a, b)
            out.append(time.perf_counter() - t0)
        elif variant == "a + b":
            t0 = time.perf_counter()
            for _ in rng:
                a + b
            out.append(time.perf_counter() - t0)
        elif variant == "empty loop":
            t0 = time.perf_counter()
            for _ in rng:
                pass
            out.append(time.perf_counter() - t0)
        else:
            raise ValueError(f"unknown variant {variant}")
    return {"times": out}


if __name__ == "__main__":
    serve({"time": run})
