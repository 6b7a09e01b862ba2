"""PyTorch side of `npm run bench -- allreduce`: one rank of torch.distributed (Gloo) timing in-place SUM
all-reduces of float32 tensors; rank 0 prints one JSON line per size. Started by bench/allreduce.ts with
RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, as torchrun would.

Usage: allreduce.py <bytes,bytes,...> <reps>
"""
import json
import sys
import time
from datetime import timedelta

import torch
import torch.distributed as dist

sizes = [int(s) for s in sys.argv[1].split(",")]
reps = int(sys.argv[2])
dist.init_process_group("gloo", timeout=timedelta(seconds=120))
for nbytes in sizes:
    t = torch.ones(nbytes // 4)
    for _ in range(2):
        dist.all_reduce(t)
    times = []
    for _ in range(reps):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(t)
        times.append(time.perf_counter() - t0)
    if dist.get_rank() == 0:
        print(json.dumps({"bytes": nbytes, "times": times}), flush=True)
dist.destroy_process_group()
