"""JSON-lines worker loop shared by the PyTorch side of reg-ts's benchmarks (bench/*.ts).

Run with Debian's /usr/bin/python3 (python3-torch). bench/harness.ts starts one worker per
benchmark and alternates with it: one JSON request per line on stdin, one JSON reply per line on
stdout. Every worker understands

  {"op": "threads", "n": 2}            -> torch.set_num_threads(n); replies {"threads": n}
  {"op": "info"}                       -> torch version, thread counts, parallel info

and the benchmark's own ops (usually "setup" and "time", whose reply is {"times": [seconds, ...]}).
"""
import json
import os
import sys
import time

import torch


def info(_req):
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "GOMP_"))},
    }


def threads(req):
    torch.set_num_threads(int(req["n"]))
    return {"threads": torch.get_num_threads()}


def time_reps(fn, reps):
    """Durations in seconds of `reps` calls of fn."""
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def no_grad_timer(get_fn):
    """A "time" op: {"reps": n} -> {"times": [...]} of get_fn()() under torch.no_grad()."""

    def time(req):
        fn = get_fn()

        def once():
            with torch.no_grad():
                fn()

        return {"times": time_reps(once, req["reps"])}

    return time


def pattern_images(batch, side):
    """uint8 (batch, 3, side, side) images (7i + 13y + 3x + 50c) mod 256: the pattern of bench/encoder.ts."""
    i = torch.arange(batch).view(-1, 1, 1, 1)
    c = torch.arange(3).view(1, -1, 1, 1)
    y = torch.arange(side).view(1, 1, -1, 1)
    x = torch.arange(side).view(1, 1, 1, -1)
    return ((7 * i + 13 * y + 3 * x + 50 * c) % 256).to(torch.uint8)


def serve(handlers):
    ops = {"info": info, "threads": threads, **handlers}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            reply = {"ok": True, **ops[req["op"]](req)}
        except Exception as e:  # reported to the Node side, which raises it
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
