"""Plain-PyTorch FID Inception (pytorch-fid's port of the TF 2015-12-05 graph), written from the facts
in docs/evaluation.md, as the reference for src/eval/inception/.

torchvision InceptionV3 (1008 classes, no aux head), BasicConv2d = conv (no bias) -> BN(eps 1e-3)
-> ReLU; Mixed_5b-d, 6b-e and 7b take their branch_pool average over the window without the padded
zeros (count_include_pad=False); Mixed_7c takes a 3x3 stride-1 max pool there instead.

`div` divides every channel count (same topology, 1/div of the width) so that tests can run the full
network on small weights; div=1 is the real network, whose state-dict names and shapes are those of
pt_inception-2015-12-05-6726825d.pth.

Weights: `hash_weights(model)` fills every tensor from an integer hash of (tensor index, element
index), the same formula as test/inception-weights.ts, so both sides get bit-identical weights
without storing them.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def avg3(x):
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin, pool, d):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64 // d, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48 // d, 1)
        self.branch5x5_2 = BasicConv2d(48 // d, 64 // d, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64 // d, 1)
        self.branch3x3dbl_2 = BasicConv2d(64 // d, 96 // d, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96 // d, 96 // d, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool, 1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([b1, b5, b3, self.branch_pool(avg3(x))], 1)


class InceptionB(nn.Module):
    def __init__(self, cin, d):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384 // d, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64 // d, 1)
        self.branch3x3dbl_2 = BasicConv2d(64 // d, 96 // d, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96 // d, 96 // d, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([b3, bd, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin, c7, d):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192 // d, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192 // d, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192 // d, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192 // d, 1)
        self.last_branch1x1 = None

    def forward(self, x):
        b1 = self.branch1x1(x)
        self.last_branch1x1 = b1
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for i in range(1, 6):
            bd = getattr(self, f"branch7x7dbl_{i}")(bd)
        return torch.cat([b1, b7, bd, self.branch_pool(avg3(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, cin, d):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192 // d, 1)
        self.branch3x3_2 = BasicConv2d(192 // d, 320 // d, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192 // d, 1)
        self.branch7x7x3_2 = BasicConv2d(192 // d, 192 // d, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192 // d, 192 // d, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192 // d, 192 // d, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, cin, d, max_pool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, 320 // d, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384 // d, 1)
        self.branch3x3_2a = BasicConv2d(384 // d, 384 // d, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384 // d, 384 // d, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448 // d, 1)
        self.branch3x3dbl_2 = BasicConv2d(448 // d, 384 // d, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384 // d, 384 // d, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384 // d, 384 // d, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192 // d, 1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else avg3(x)
        return torch.cat([b1, b3, bd, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    def __init__(self, div=1, num_classes=1008):
        super().__init__()
        d = div
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32 // d, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32 // d, 32 // d, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32 // d, 64 // d, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64 // d, 80 // d, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80 // d, 192 // d, 3)
        self.Mixed_5b = InceptionA(192 // d, 32 // d, d)
        self.Mixed_5c = InceptionA(256 // d, 64 // d, d)
        self.Mixed_5d = InceptionA(288 // d, 64 // d, d)
        self.Mixed_6a = InceptionB(288 // d, d)
        self.Mixed_6b = InceptionC(768 // d, 128 // d, d)
        self.Mixed_6c = InceptionC(768 // d, 160 // d, d)
        self.Mixed_6d = InceptionC(768 // d, 160 // d, d)
        self.Mixed_6e = InceptionC(768 // d, 192 // d, d)
        self.Mixed_7a = InceptionD(768 // d, d)
        self.Mixed_7b = InceptionE(1280 // d, d, max_pool=False)
        self.Mixed_7c = InceptionE(2048 // d, d, max_pool=True)
        self.fc = nn.Linear(2048 // d, num_classes)

    def forward(self, x):
        """x: the network input (N, 3, 299, 299) in [-1, 1]. Returns pool3, spatial, unbiased logits."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"]:
            x = getattr(self, name)(x)
        pool3 = F.adaptive_avg_pool2d(x, 1).flatten(1)
        b1 = self.Mixed_6d.last_branch1x1
        spatial = b1.permute(0, 2, 3, 1)[..., :7].reshape(b1.shape[0], -1)
        return pool3, spatial, pool3 @ self.fc.weight.t()


def resize_tf1_legacy(x, size=299):
    """TF1 ResizeBilinear (align_corners=False, half_pixel_centers=False) of float (N, C, H, W):
    src = dst * in / out in float32, lo = floor(src), hi = min(lo + 1, in - 1), lerp = src - lo;
    top = tl + (tr - tl) * xl, bottom = bl + (br - bl) * xl, out = top + (bottom - top) * yl."""

    def axis(n_in):
        scale = torch.tensor(n_in / size, dtype=torch.float32)
        src = torch.arange(size, dtype=torch.float32) * scale
        lo = torch.floor(src)
        return lo.long(), torch.clamp(lo.long() + 1, max=n_in - 1), src - lo

    y0, y1, yl = axis(x.shape[2])
    x0, x1, xl = axis(x.shape[3])
    xl = xl.view(1, 1, 1, -1)
    yl = yl.view(1, 1, -1, 1)
    top_rows, bottom_rows = x[:, :, y0], x[:, :, y1]
    top = top_rows[..., x0] + (top_rows[..., x1] - top_rows[..., x0]) * xl
    bottom = bottom_rows[..., x0] + (bottom_rows[..., x1] - bottom_rows[..., x0]) * xl
    return top + (bottom - top) * yl


def preprocess(images_u8_nchw, mode="tf1-legacy", size=299):
    """uint8 (N, 3, H, W) -> network input. tf1-legacy: resize on 0..255, then (x - 128) / 128
    (the TF graph); pytorch: x / 255, F.interpolate bilinear (align_corners=False), then 2x - 1."""
    x = images_u8_nchw.float()
    if mode == "tf1-legacy":
        return (resize_tf1_legacy(x, size) - 128) / 128
    x = F.interpolate(x / 255, size=(size, size), mode="bilinear", align_corners=False)
    return 2 * x - 1


def weight_keys(model):
    """State-dict names that hash_weights fills (num_batches_tracked excluded), in order."""
    return [k for k in model.state_dict().keys() if not k.endswith("num_batches_tracked")]


def hash_uniform(k, n):
    """u in [0, 1) for elements 0..n-1 of tensor number k (an integer hash, exact in float64)."""
    i = np.arange(n, dtype=np.uint64)
    m = np.uint64(0xFFFFFFFF)
    h = (i * np.uint64(0x9E3779B1) + np.uint64((k + 1) * 0x85EBCA77)) & m
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x2C1B3C6D)) & m
    h ^= h >> np.uint64(12)
    return h.astype(np.float64) / 4294967296.0


def hash_value(name, shape, u):
    """The weight formula by tensor kind, in float64 (rounded to float32 by the caller)."""
    if name.endswith("conv.weight") or name == "fc.weight":
        fan_in = int(np.prod(shape[1:]))
        return (u - 0.5) * math.sqrt(6.0 / fan_in) * (1.0 if name == "fc.weight" else 2.0)
    if name.endswith("bn.weight"):
        return 0.8 + 0.4 * u
    if name.endswith("running_var"):
        return 0.5 + u
    return 0.2 * (u - 0.5)  # bn.bias, running_mean, fc.bias


def hash_weights(model):
    sd = model.state_dict()
    for k, name in enumerate(weight_keys(model)):
        t = sd[name]
        v = hash_value(name, list(t.shape), hash_uniform(k, t.numel()))
        t.copy_(torch.from_numpy(v.astype(np.float32)).view(t.shape))
    return model
