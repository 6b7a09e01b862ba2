#!/usr/bin/python3
"""Make the .pt / safetensors fixtures for src/torch/io tests.

Run with Debian's PyTorch (python3-torch 1.13):

    /usr/bin/python3 test/reference/io/make_pt_fixtures.py

Writes into test/fixtures/io/:

- ckpt_p{2,3,4,5}.pt   a training checkpoint {'model', 'ema', 'opt', 'args', 'steps', 'extra'}
                        saved by torch.save with pickle_protocol 2 (torch's default), 3, 4, 5
- ckpt_cuda.pt          the same checkpoint (protocol 2) with every storage location tagged 'cuda:0'
- ckpt.expected.json    the expected value tree (same for all of the above), see `encode` below
- tensors.safetensors   every safetensors dtype, written by the hand-rolled writer below
- tensors.expected.json the expected contents of tensors.safetensors
- tiny.pt               {'w': arange(6).reshape(2, 3) float32, 'p': nn.Parameter(ones(2)), 'dev': torch.device('cuda', 1),
                        'size': torch.Size([2, 3])}: the TypeScript tests repack it (deflate, ZIP64, big-endian, …)
- legacy.pt             the same tensor saved in the legacy non-zip format, which the reader rejects with a clear error

The legacy (pre-1.6, non-zip) torch.save format is not produced and not supported by the reader.

Encoding of the expected tree (mirrored by the TypeScript tests):
    tensor            -> {"tensor": {"dtype": "float32", "shape": [..], "hex": "<contiguous LE bytes>"}}
    dict/OrderedDict  -> {"dict": [[key, value], ...]}   (insertion order)
    list/tuple        -> {"list": [...]}
    set/frozenset     -> {"set": [...]}                    (sorted by repr)
    bytes             -> {"bytes": "<hex>"}
    int               -> number, or {"bigint": "<decimal>"} when |x| >= 2**53
    float             -> number, or {"float": "inf" | "-inf" | "nan"}
    str, bool, None   -> themselves
    other objects     -> {"object": "module.QualName", "attrs": <encoded vars(obj)>}
"""
import argparse
import collections
import copy
import json
import math
import os
import struct
import sys

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "io")

DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.float64: "float64",
    torch.int64: "int64",
    torch.int32: "int32",
    torch.int16: "int16",
    torch.int8: "int8",
    torch.uint8: "uint8",
    torch.bool: "bool",
}


def tensor_bytes(t):
    """Contiguous little-endian bytes of a CPU tensor (bfloat16 via an int16 view)."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()


def encode(x):
    if isinstance(x, torch.Tensor):
        return {"tensor": {"dtype": DTYPE_NAMES[x.dtype], "shape": list(x.shape), "hex": tensor_bytes(x).hex()}}
    if isinstance(x, dict):
        return {"dict": [[encode(k), encode(v)] for k, v in x.items()]}
    if isinstance(x, (list, tuple)):
        return {"list": [encode(v) for v in x]}
    if isinstance(x, (set, frozenset)):
        return {"set": [encode(v) for v in sorted(x, key=repr)]}
    if isinstance(x, (bytes, bytearray)):
        return {"bytes": bytes(x).hex()}
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return x if abs(x) < 2**53 else {"bigint": str(x)}
    if isinstance(x, float):
        if math.isnan(x):
            return {"float": "nan"}
        if math.isinf(x):
            return {"float": "inf" if x > 0 else "-inf"}
        return x
    cls = type(x)
    return {"object": f"{cls.__module__}.{cls.__qualname__}", "attrs": encode(dict(vars(x)))}


class Tiny(torch.nn.Module):
    """A few SiT-like parameter names plus buffers of every dtype and odd layouts."""

    def __init__(self):
        super().__init__()
        self.x_embedder = torch.nn.Linear(4, 3)
        self.blocks = torch.nn.ModuleList([torch.nn.Linear(3, 3), torch.nn.Linear(3, 3, bias=False)])
        self.final_layer = torch.nn.LayerNorm(3)
        g = torch.Generator().manual_seed(1)
        self.register_buffer("buf_f16", torch.randn(2, 3, generator=g).half())
        self.register_buffer("buf_bf16", torch.randn(3, 2, generator=g).bfloat16())
        self.register_buffer("buf_f64", torch.randn(5, generator=g).double())
        self.register_buffer("buf_i64", torch.tensor([[-(2**40), -1, 0], [1, 7, 2**40]], dtype=torch.int64))
        self.register_buffer("buf_i32", torch.tensor([-5, 0, 2**31 - 1], dtype=torch.int32))
        self.register_buffer("buf_i16", torch.tensor([-32768, 12, 32767], dtype=torch.int16))
        self.register_buffer("buf_i8", torch.tensor([-128, 3, 127], dtype=torch.int8))
        self.register_buffer("buf_u8", torch.tensor([0, 128, 255], dtype=torch.uint8))
        self.register_buffer("buf_bool", torch.tensor([[True, False], [False, True]]))
        self.register_buffer("scalar", torch.tensor(3.5))
        self.register_buffer("empty", torch.zeros(0, 4))
        base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
        # a transposed (non-contiguous) tensor; shares storage with base
        self.register_buffer("transposed", base.t())
        # a view with a storage offset and a non-trivial stride, sharing the same storage
        self.register_buffer("offset_view", base[1:3, 2:5])
        # a strided view of a half tensor
        h = torch.arange(10, dtype=torch.float16)
        self.register_buffer("step_view", h[1::3])
        self.register_buffer("base", base)


class GpuTag:
    """Tag every storage with location 'cuda:0' (as a GPU checkpoint would be) without needing a GPU."""

    on = False


def _cuda_tagger(obj):
    return "cuda:0" if GpuTag.on else None


torch.serialization.register_package(1, _cuda_tagger, lambda obj, location: None)


def make_checkpoint():
    torch.manual_seed(0)
    model = Tiny()
    ema = copy.deepcopy(model)
    opt = torch.optim.AdamW([p for p in model.parameters()], lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01)
    x = torch.randn(5, 4)
    h = model.x_embedder(x)
    for b in model.blocks:
        h = b(h)
    loss = model.final_layer(h).pow(2).mean()
    loss.backward()
    opt.step()
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.mul_(0.9).add_(pm, alpha=0.1)
    args = argparse.Namespace(
        model="SiT-B/2",
        lr=1e-4,
        batch_size=256,
        mixed_precision="bf16",
        use_cfg=True,
        resume=None,
        betas=(0.9, 0.999),
        enc_type=["dinov2-vit-b"],
        proj_coeff=0.5,
    )
    extra = {
        1: "int key",
        (1, 2): "tuple key",
        "big": 2**70,
        "neg_big": -(2**64) - 5,
        "neg": -123456,
        "floats": [0.1, -2.5e-300, float("inf"), float("-inf"), float("nan")],
        "unicode": "héllo ✓ 🚀",
        "bytes": b"\x00\x01\xfe\xff",
        "empty_bytes": b"",
        "set": {3, 1, 2},
        "frozenset": frozenset({"a"}),
        "nested": [[], (), {}, [[1]], (None, True, False)],
        "shared": [None, None],
    }
    shared = [1, 2]
    extra["shared"] = [shared, shared]
    return {
        "model": model.state_dict(),
        "ema": ema.state_dict(),
        "opt": opt.state_dict(),
        "args": args,
        "steps": 1234,
        "extra": extra,
    }


# ---------------------------------------------------------------- hand-rolled safetensors writer

ST_DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def write_safetensors(path, tensors, metadata):
    """Safetensors per the spec: u64 LE header size, JSON header padded with spaces to 8 bytes, data."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    # like the official writer: largest alignment first, then by name
    for name, t in sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0])):
        b = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_safetensors():
    g = torch.Generator().manual_seed(2)
    tensors = {
        "f64": torch.randn(2, 3, generator=g).double(),
        "f32": torch.randn(4, generator=g),
        "f16": torch.randn(3, 1, generator=g).half(),
        "bf16": torch.randn(2, 2, generator=g).bfloat16(),
        "i64": torch.tensor([-(2**62), 0, 2**62 + 1]),
        "i32": torch.tensor([[-(2**31), 2**31 - 1]], dtype=torch.int32),
        "i16": torch.tensor([-1, 1], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(1.25),
        "empty": torch.zeros(2, 0),
        "blocks.0.attn.qkv.weight": torch.randn(3, 2, generator=g),
    }
    metadata = {"format": "pt", "note": "héllo"}
    write_safetensors(os.path.join(OUT, "tensors.safetensors"), tensors, metadata)
    with open(os.path.join(OUT, "tensors.expected.json"), "w") as f:
        json.dump({"metadata": metadata, "tensors": encode(tensors)}, f, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    ckpt = make_checkpoint()
    for proto in (2, 3, 4, 5):
        torch.save(ckpt, os.path.join(OUT, f"ckpt_p{proto}.pt"), pickle_protocol=proto)
    GpuTag.on = True
    try:
        torch.save(ckpt, os.path.join(OUT, "ckpt_cuda.pt"))
    finally:
        GpuTag.on = False
    # check that every file loads back to the same tree in PyTorch itself
    want = encode(ckpt)
    for name in ("ckpt_p2.pt", "ckpt_p3.pt", "ckpt_p4.pt", "ckpt_p5.pt", "ckpt_cuda.pt"):
        got = encode(torch.load(os.path.join(OUT, name), map_location="cpu"))
        assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True), name
    with open(os.path.join(OUT, "ckpt.expected.json"), "w") as f:
        json.dump(want, f, indent=1, allow_nan=False)
    make_safetensors()
    tiny = {
        "w": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "p": torch.nn.Parameter(torch.ones(2)),
        "dev": torch.device("cuda", 1),
        "size": torch.Size([2, 3]),
    }
    torch.save(tiny, os.path.join(OUT, "tiny.pt"))
    torch.save({"w": tiny["w"]}, os.path.join(OUT, "legacy.pt"), _use_new_zipfile_serialization=False)
    print("torch", torch.__version__, "wrote fixtures to", os.path.normpath(OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
