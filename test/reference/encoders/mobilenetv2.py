"""PyTorch twin of reg-ts's MobileNetV2 encoder (src/models/encoders/mobilenetv2*.ts), same weights.

Reads a weight file written by reg-ts (`saveMobileNetV2`: Keras layer names, PyTorch layouts, e.g.
`block_3_expand.weight` (out, in, 1, 1), `block_3_expand_BN.running_mean`; config in the metadata)
and runs the same network with torch.nn.functional:

    stem   pad ((0,1),(0,1)) -> conv 3x3/2 -> BN -> ReLU6
    block  [expand 1x1 -> BN -> ReLU6] -> [pad if stride 2] depthwise 3x3 -> BN -> ReLU6
           -> project 1x1 -> BN [+ input]
    encode x/255 -> (grey -> RGB) -> bilinear(align_corners=True) to S -> [2x-1] -> net
           -> tokens (B, h*w, C) row-major, cls = mean

Used by bench/encoder.ts (images/s against reg-ts in the same run, JSON-lines worker protocol of
test/reference/bench/common.py) and runnable alone as a numeric cross-check:

    /usr/bin/python3 test/reference/encoders/mobilenetv2.py --check <weights.safetensors>
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import st  # noqa: E402

# (id, expansion, filters, stride), Keras MobileNetV2 alpha = 1.0
BLOCKS = [(0, 1, 16, 1), (1, 6, 24, 2), (2, 6, 24, 1), (3, 6, 32, 2), (4, 6, 32, 1), (5, 6, 32, 1),
          (6, 6, 64, 2), (7, 6, 64, 1), (8, 6, 64, 1), (9, 6, 64, 1), (10, 6, 96, 1), (11, 6, 96, 1),
          (12, 6, 96, 1), (13, 6, 160, 2), (14, 6, 160, 1), (15, 6, 160, 1), (16, 6, 320, 1)]


class MobileNetV2Twin(torch.nn.Module):
    def __init__(self, path):
        super().__init__()
        tensors, meta = load(path)
        cfg = json.loads(meta["config"])
        self.eps = cfg["bnEps"]
        (t, b), (l, r) = cfg["stridePadding"]
        self.pad = [l, r, t, b]
        self.last = cfg["lastBlock"]
        self.w = tensors

    def conv(self, x, name, stride=1, groups=1):
        w = self.w[f"{name}.weight"]
        k = w.shape[-1]
        # TF 'same' with stride 1 and an odd kernel is symmetric; stride-2 convs here are 'valid'
        return F.conv2d(x, w, None, stride, (k // 2) if stride == 1 else 0, 1, groups)

    def bn(self, x, name):
        g = self.w
        return F.batch_norm(x, g[f"{name}.running_mean"], g[f"{name}.running_var"], g[f"{name}.weight"], g[f"{name}.bias"], False, 0.0, self.eps)

    def forward(self, x):
        # eager PyTorch as torchvision writes MobileNetV2: Conv -> BN -> ReLU6(inplace=True), x + block(x)
        x = F.relu6(self.bn(self.conv(F.pad(x, self.pad), "Conv1", 2), "bn_Conv1"), inplace=True)
        cin = 32
        for i, t, c, s in BLOCKS[: self.last + 1]:
            p = "expanded_conv_" if i == 0 else f"block_{i}_"
            h = x
            if i > 0:
                h = F.relu6(self.bn(self.conv(h, p + "expand"), p + "expand_BN"), inplace=True)
            if s == 2:
                h = F.pad(h, self.pad)
            h = F.relu6(self.bn(self.conv(h, p + "depthwise", s, groups=h.shape[1]), p + "depthwise_BN"), inplace=True)
            h = self.bn(self.conv(h, p + "project"), p + "project_BN")
            x = x + h if (s == 1 and cin == c) else h
            cin = c
        return x


def load(path):
    """(tensors, metadata) of a safetensors file."""
    return st.load_file(path)


def encode(net, images, size, imagenet=False):
    """images: uint8 (B, 1|3, H, W) -> (cls (B, C), patches (B, h*w, C))."""
    x = images.float().div(255)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1).contiguous()
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=True)
    if imagenet:
        x = x.mul(2).sub(1)
    m = net(x)
    patches = m.flatten(2).transpose(1, 2).contiguous()
    return patches.mean(1), patches


def pattern(b, c, h, w):
    """The deterministic uint8 test images bench/encoder.ts builds too: (7i + 13y + 3x + 50c) mod 256."""
    i = torch.arange(b).view(b, 1, 1, 1)
    ch = torch.arange(c).view(1, c, 1, 1)
    y = torch.arange(h).view(1, 1, h, 1)
    x = torch.arange(w).view(1, 1, 1, w)
    return ((7 * i + 13 * y + 3 * x + 50 * ch) % 256).to(torch.uint8)


state = {}


def setup(req):
    state["net"] = MobileNetV2Twin(req["weights"])
    state["images"] = pattern(*req["shape"])
    state["size"] = req["size"]
    with torch.no_grad():
        cls, patches = encode(state["net"], state["images"], state["size"])
    return {"checksums": [patches.sum().item(), patches.abs().sum().item(), cls.sum().item()]}


def run(req):
    from common import time_reps

    def once():
        with torch.no_grad():
            encode(state["net"], state["images"], state["size"])

    return {"times": time_reps(once, req["reps"])}


if __name__ == "__main__":
    if "--check" in sys.argv:
        net = MobileNetV2Twin(sys.argv[sys.argv.index("--check") + 1])
        with torch.no_grad():
            cls, patches = encode(net, pattern(2, 1, 28, 28), 64)
        print("patches", tuple(patches.shape), "sum", patches.sum().item(), "cls[0,:4]", cls[0, :4].tolist())
    else:
        from common import serve

        serve({"setup": setup, "time": run})
