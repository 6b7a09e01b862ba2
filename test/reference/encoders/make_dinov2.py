"""Tiny DINOv2 fixtures in the Hugging Face `Dinov2Model` layout, with a PyTorch reference forward.

DINOv2 weights are not reachable here, so the loader and the ViT forward of
src/models/encoders/dinov2.ts are tested on tiny random weights made in exactly the layout of
facebook/dinov2-base's model.safetensors (same key names and shapes up to size), plus config.json.

Writes test/fixtures/encoders/:
  dinov2-tiny/model.safetensors, dinov2-tiny/config.json        no registers
  dinov2-tiny-reg/model.safetensors, dinov2-tiny-reg/config.json 2 register tokens (…-with-registers)
  dinov2_tiny_ref.safetensors   per case: images (uint8 B,3,H,W), cls (B,C), patches (B,N,C), pos (1,1+N,C)

Reference (float64; REG's pipeline, docs/method.md#encoder-features):
  x = interpolate(normalize(img/255, ImageNet mean/std), inputSize, bicubic, align_corners=False)
  pos = cat(pos[:, :1], resample(pos[:, 1:], grid, bicubic, antialias=True))   # timm resample_abs_pos_embed
  t = cat(cls, conv14(x).flatten(2).T) + pos; [insert registers after cls]
  per layer: t += ls1 * attn(LN1(t)); t += ls2 * mlp(LN2(t));   out = LN(t)
  cls = out[:, 0], patches = out[:, 1 + R:]

Run: /usr/bin/python3 test/reference/encoders/make_dinov2.py
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import st  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "fixtures", "encoders")
C, LAYERS, HEADS, MLP, PATCH, M, EPS = 24, 2, 3, 96, 4, 5, 1e-6
MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).view(1, 3, 1, 1)


def make_weights(g, registers):
    def n(*shape, std=1.0):
        return (torch.randn(*shape, generator=g) * std).float()

    w = {
        "embeddings.cls_token": n(1, 1, C),
        "embeddings.mask_token": n(1, C, std=0.0),
        "embeddings.position_embeddings": n(1, M * M + 1, C, std=0.5),
        "embeddings.patch_embeddings.projection.weight": n(C, 3, PATCH, PATCH, std=1 / math.sqrt(3 * PATCH * PATCH)),
        "embeddings.patch_embeddings.projection.bias": n(C, std=0.1),
        "layernorm.weight": 1 + n(C, std=0.1),
        "layernorm.bias": n(C, std=0.1),
    }
    if registers:
        w["embeddings.register_tokens"] = n(1, registers, C)
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            w[p + f"attention.attention.{name}.weight"] = n(C, C, std=1 / math.sqrt(C))
            w[p + f"attention.attention.{name}.bias"] = n(C, std=0.1)
        w[p + "attention.output.dense.weight"] = n(C, C, std=1 / math.sqrt(C))
        w[p + "attention.output.dense.bias"] = n(C, std=0.1)
        w[p + "layer_scale1.lambda1"] = n(C, std=0.5)
        w[p + "layer_scale2.lambda1"] = n(C, std=0.5)
        for k in ("norm1", "norm2"):
            w[p + k + ".weight"] = 1 + n(C, std=0.1)
            w[p + k + ".bias"] = n(C, std=0.1)
        w[p + "mlp.fc1.weight"] = n(MLP, C, std=1 / math.sqrt(C))
        w[p + "mlp.fc1.bias"] = n(MLP, std=0.1)
        w[p + "mlp.fc2.weight"] = n(C, MLP, std=1 / math.sqrt(MLP))
        w[p + "mlp.fc2.bias"] = n(C, std=0.1)
    return w


def reference(w, images, input_size, registers):
    d = {k: v.double() for k, v in w.items()}
    x = images.double() / 255
    x = (x - MEAN) / STD
    if x.shape[-1] != input_size or x.shape[-2] != input_size:
        x = F.interpolate(x, size=(input_size, input_size), mode="bicubic", align_corners=False)
    B = x.shape[0]
    h = w_ = input_size // PATCH
    pos = d["embeddings.position_embeddings"]
    grid = pos[:, 1:].reshape(1, M, M, C).permute(0, 3, 1, 2)
    if (h, w_) != (M, M):
        grid = F.interpolate(grid, size=(h, w_), mode="bicubic", antialias=True, align_corners=False)
    pos = torch.cat([pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, h * w_, C)], 1)
    t = F.conv2d(x, d["embeddings.patch_embeddings.projection.weight"], d["embeddings.patch_embeddings.projection.bias"], stride=PATCH)
    t = torch.cat([d["embeddings.cls_token"].expand(B, 1, C), t.flatten(2).transpose(1, 2)], 1) + pos
    if registers:
        t = torch.cat([t[:, :1], d["embeddings.register_tokens"].expand(B, registers, C), t[:, 1:]], 1)
    N = t.shape[1]
    hd = C // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        lin = lambda z, k: F.linear(z, d[p + k + ".weight"], d[p + k + ".bias"])  # noqa: E731
        a = F.layer_norm(t, [C], d[p + "norm1.weight"], d[p + "norm1.bias"], EPS)
        q, k, v = (lin(a, f"attention.attention.{n}").view(B, N, HEADS, hd).transpose(1, 2) for n in ("query", "key", "value"))
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(hd), -1) @ v
        t = t + d[p + "layer_scale1.lambda1"] * lin(att.transpose(1, 2).reshape(B, N, C), "attention.output.dense")
        m = F.layer_norm(t, [C], d[p + "norm2.weight"], d[p + "norm2.bias"], EPS)
        t = t + d[p + "layer_scale2.lambda1"] * lin(F.gelu(lin(m, "mlp.fc1")), "mlp.fc2")
    out = F.layer_norm(t, [C], d["layernorm.weight"], d["layernorm.bias"], EPS)
    return out[:, 0], out[:, 1 + registers:], pos


def main():
    g = torch.Generator().manual_seed(0)
    ref = {}
    cases = []
    for folder, registers in (("dinov2-tiny", 0), ("dinov2-tiny-reg", 2)):
        w = make_weights(g, registers)
        os.makedirs(os.path.join(OUT, folder), exist_ok=True)
        st.save_file(w, os.path.join(OUT, folder, "model.safetensors"), {"format": "pt", "note": "tiny random DINOv2 in the Hugging Face Dinov2Model layout (test fixture)"})
        config = {"model_type": "dinov2", "hidden_size": C, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
                  "mlp_ratio": MLP // C, "patch_size": PATCH, "image_size": PATCH * M, "layer_norm_eps": EPS,
                  "num_register_tokens": registers, "layerscale_value": 1.0, "hidden_act": "gelu", "use_swiglu_ffn": False}
        with open(os.path.join(OUT, folder, "config.json"), "w") as f:
            json.dump(config, f, indent=1)
        # upsampled grid (5 -> 7) from 32 px images resized to 28; downsampled grid (5 -> 3, antialias) at 12
        for input_size, src in ((28, 32), (12, 12)):
            name = f"{folder}.{input_size}"
            images = torch.randint(0, 256, (2, 3, src, src), generator=g, dtype=torch.uint8)
            cls, patches, pos = reference(w, images, input_size, registers)
            ref[f"{name}.images"] = images
            ref[f"{name}.cls"] = cls.float()
            ref[f"{name}.patches"] = patches.float()
            ref[f"{name}.pos"] = pos.float()
            cases.append({"name": name, "weights": folder, "inputSize": input_size, "registers": registers})
    st.save_file(ref, os.path.join(OUT, "dinov2_tiny_ref.safetensors"), {"cases": json.dumps(cases), "torch": torch.__version__, "precision": "float64 reference, stored as float32"})
    print("wrote", len(cases), "cases to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
