"""Tiny DINOv2 fixtures in the torch.hub layout (`dinov2_vitb14[_reg4]_pretrain.pth`), with a PyTorch
reference of REG's DINOv2 target pass.

The official REG code loads DINOv2 with `torch.hub.load('facebookresearch/dinov2', 'dinov2_vitb14')`, whose
weights are the torch.save'd state dicts `dinov2_vitb14_pretrain.pth` / `dinov2_vitb14_reg4_pretrain.pth`
(keys of facebookresearch/dinov2 `dinov2/models/vision_transformer.py`, `block_chunks=0`). Those files are
not reachable here, so src/models/encoders/dinov2-hub.ts is tested on tiny random weights with exactly
those key names (shapes scaled down: C = 32, 2 heads, 2 blocks, patch 14, a 4×4 position grid), one file
without and one with 4 register tokens, plus the register one converted to the Hugging Face layout the
way transformers' `convert_dinov2_to_hf.py` does (qkv rows [q; k; v] split into query/key/value), so the
two layouts can be compared on the same weights.

Writes test/fixtures/encoders/dinov2-hub-tiny/:
  dinov2_vitt14_pretrain.pth          torch.hub layout, no registers
  dinov2_vitt14_reg4_pretrain.pth     torch.hub layout, 4 registers
  hf-reg4/model.safetensors, hf-reg4/config.json   the reg4 weights in the Hugging Face layout
  reference.safetensors               per case: images (uint8 B,3,H,W), cls (B,C), patches (B,N,C), pos (1,1+N,C)

Reference (float64), as REG does it (Martinser/REG @021ea2e train.py `preprocess_raw_image`, utils.py
`load_encoders`; timm 1.0.12 `resample_abs_pos_embed`; dinov2 @b8931f7 `vision_transformer.py`):
  x   = interpolate(Normalize(ImageNet mean, std)(img / 255), inputSize, mode='bicubic')   # align_corners False, no antialias
  pos = cat(pos[:, :1], interpolate(pos[:, 1:] as M×M, grid, bicubic, antialias=True))    # once, at load (timm)
  t   = cat(cls, patch_embed(x)) + pos       # DINOv2's interpolate_pos_encoding is then a no-op (npatch == N, w == h)
  t   = cat(t[:, :1], register_tokens, t[:, 1:])
  per block: t += ls1.gamma * proj(attn(norm1(t)));  t += ls2.gamma * fc2(gelu(fc1(norm2(t))))
  attn: qkv(t).reshape(B, N, 3, H, C/H).permute(2, 0, 3, 1, 4) → softmax(q·kᵀ/√d)·v
  out = norm(t);  cls = out[:, 0] (x_norm_clstoken);  patches = out[:, 1 + R:] (x_norm_patchtokens)

Run: /usr/bin/python3 test/reference/encoders/make_dinov2_hub.py
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

OUT = os.path.join(HERE, "..", "..", "fixtures", "encoders", "dinov2-hub-tiny")
C, LAYERS, HEADS, MLP, PATCH, M, EPS = 32, 2, 2, 128, 14, 4, 1e-6
MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).view(1, 3, 1, 1)


def make_hub_weights(g, registers, C=C, LAYERS=LAYERS, MLP=MLP, M=M):
    """A state dict with the keys (and order) of DINOv2's DinoVisionTransformer, block_chunks=0: width C,
    LAYERS blocks, MLP hidden width, an M×M position grid (defaults: the tiny fixtures; ViT-B/14 is
    C=768, LAYERS=12, MLP=3072, M=37, used by bench/dinov2.ts)."""

    def n(*shape, std=1.0):
        return (torch.randn(*shape, generator=g) * std).float()

    w = {"cls_token": n(1, 1, C), "pos_embed": n(1, M * M + 1, C, std=0.5)}
    if registers:
        w["register_tokens"] = n(1, registers, C)
    w["mask_token"] = n(1, C, std=0.0)
    w["patch_embed.proj.weight"] = n(C, 3, PATCH, PATCH, std=1 / math.sqrt(3 * PATCH * PATCH))
    w["patch_embed.proj.bias"] = n(C, std=0.1)
    for i in range(LAYERS):
        p = f"blocks.{i}."
        w[p + "norm1.weight"] = 1 + n(C, std=0.1)
        w[p + "norm1.bias"] = n(C, std=0.1)
        w[p + "attn.qkv.weight"] = n(3 * C, C, std=1 / math.sqrt(C))
        w[p + "attn.qkv.bias"] = n(3 * C, std=0.1)
        w[p + "attn.proj.weight"] = n(C, C, std=1 / math.sqrt(C))
        w[p + "attn.proj.bias"] = n(C, std=0.1)
        w[p + "ls1.gamma"] = n(C, std=0.5)
        w[p + "norm2.weight"] = 1 + n(C, std=0.1)
        w[p + "norm2.bias"] = n(C, std=0.1)
        w[p + "mlp.fc1.weight"] = n(MLP, C, std=1 / math.sqrt(C))
        w[p + "mlp.fc1.bias"] = n(MLP, std=0.1)
        w[p + "mlp.fc2.weight"] = n(C, MLP, std=1 / math.sqrt(MLP))
        w[p + "mlp.fc2.bias"] = n(C, std=0.1)
        w[p + "ls2.gamma"] = n(C, std=0.5)
    w["norm.weight"] = 1 + n(C, std=0.1)
    w["norm.bias"] = n(C, std=0.1)
    return w


def hub_to_hf(w):
    """transformers convert_dinov2_to_hf.py's renaming (qkv rows [0:C] = q, [C:2C] = k, [2C:3C] = v)."""
    hf = {
        "embeddings.cls_token": w["cls_token"],
        "embeddings.mask_token": w["mask_token"],
        "embeddings.position_embeddings": w["pos_embed"],
        "embeddings.patch_embeddings.projection.weight": w["patch_embed.proj.weight"],
        "embeddings.patch_embeddings.projection.bias": w["patch_embed.proj.bias"],
        "layernorm.weight": w["norm.weight"],
        "layernorm.bias": w["norm.bias"],
    }
    if "register_tokens" in w:
        hf["embeddings.register_tokens"] = w["register_tokens"]
    for i in range(LAYERS):
        s, d = f"blocks.{i}.", f"encoder.layer.{i}."
        for part in ("weight", "bias"):
            qkv = w[s + "attn.qkv." + part]
            hf[d + "attention.attention.query." + part] = qkv[:C].clone()
            hf[d + "attention.attention.key." + part] = qkv[C : 2 * C].clone()
            hf[d + "attention.attention.value." + part] = qkv[-C:].clone()
            hf[d + "attention.output.dense." + part] = w[s + "attn.proj." + part]
            for k in ("norm1", "norm2", "mlp.fc1", "mlp.fc2"):
                hf[d + k + "." + part] = w[s + k + "." + part]
        hf[d + "layer_scale1.lambda1"] = w[s + "ls1.gamma"]
        hf[d + "layer_scale2.lambda1"] = w[s + "ls2.gamma"]
    return hf


def resample_abs_pos_embed(posemb, new_size):
    """timm 1.0.12 timm/layers/pos_embed.py with its defaults (num_prefix_tokens=1, bicubic, antialias=True)."""
    if posemb.shape[1] == new_size[0] * new_size[1] + 1 and new_size[0] == new_size[1]:
        return posemb
    hw = int(math.sqrt(posemb.shape[1] - 1))
    prefix, grid = posemb[:, :1], posemb[:, 1:]
    grid = grid.reshape(1, hw, hw, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new_size, mode="bicubic", antialias=True)
    return torch.cat([prefix, grid.permute(0, 2, 3, 1).reshape(1, -1, grid.shape[1])], 1)


def reference(w, images, input_size, heads=HEADS, dtype=torch.float64):
    """REG's target pass (file comment) in `dtype`: (cls, patches, pos) of uint8 images (B, 3, H, W)."""
    d = {k: v.to(dtype) for k, v in w.items()}
    C = d["cls_token"].shape[-1]
    LAYERS = sum(1 for k in d if k.endswith(".norm1.weight"))
    R = d["register_tokens"].shape[1] if "register_tokens" in d else 0
    x = (images.to(dtype) / 255 - MEAN.to(dtype)) / STD.to(dtype)
    x = F.interpolate(x, input_size, mode="bicubic")
    B, h = x.shape[0], input_size // PATCH
    pos = resample_abs_pos_embed(d["pos_embed"], [h, h])
    t = F.conv2d(x, d["patch_embed.proj.weight"], d["patch_embed.proj.bias"], stride=PATCH).flatten(2).transpose(1, 2)
    t = torch.cat([d["cls_token"].expand(B, -1, -1), t], 1) + pos
    if R:
        t = torch.cat([t[:, :1], d["register_tokens"].expand(B, -1, -1), t[:, 1:]], 1)
    N, hd = t.shape[1], C // heads
    for i in range(LAYERS):
        p = f"blocks.{i}."
        lin = lambda z, k: F.linear(z, d[p + k + ".weight"], d[p + k + ".bias"])  # noqa: E731
        a = F.layer_norm(t, [C], d[p + "norm1.weight"], d[p + "norm1.bias"], EPS)
        qkv = lin(a, "attn.qkv").reshape(B, N, 3, heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * hd**-0.5, qkv[1], qkv[2]
        att = (q @ k.transpose(-2, -1)).softmax(-1) @ v
        t = t + d[p + "ls1.gamma"] * lin(att.transpose(1, 2).reshape(B, N, C), "attn.proj")
        m = F.layer_norm(t, [C], d[p + "norm2.weight"], d[p + "norm2.bias"], EPS)
        t = t + d[p + "ls2.gamma"] * lin(F.gelu(lin(m, "mlp.fc1")), "mlp.fc2")
    out = F.layer_norm(t, [C], d["norm.weight"], d["norm.bias"], EPS)
    return out[:, 0], out[:, 1 + R :], pos


def main():
    g = torch.Generator().manual_seed(10)
    os.makedirs(os.path.join(OUT, "hf-reg4"), exist_ok=True)
    ref, cases = {}, []
    # (file, registers, [(inputSize, image side)]): position grid 4 → 2 and 4 → 3 (antialiased
    # downsampling, as 37 → 16 in REG), and 4 → 4 (kept as stored); images resized down and up.
    plan = (
        ("dinov2_vitt14_pretrain.pth", 0, ((28, 64), (42, 40))),
        ("dinov2_vitt14_reg4_pretrain.pth", 4, ((42, 48), (56, 50))),
    )
    for file, registers, sizes in plan:
        w = make_hub_weights(g, registers)
        torch.save(w, os.path.join(OUT, file))
        if registers:
            st.save_file(hub_to_hf(w), os.path.join(OUT, "hf-reg4", "model.safetensors"), {"format": "pt", "note": f"{file} in the Hugging Face Dinov2Model layout (test fixture)"})
            config = {"model_type": "dinov2", "hidden_size": C, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
                      "mlp_ratio": MLP // C, "patch_size": PATCH, "image_size": PATCH * M, "layer_norm_eps": EPS,
                      "num_register_tokens": registers, "layerscale_value": 1.0, "hidden_act": "gelu", "use_swiglu_ffn": False}
            with open(os.path.join(OUT, "hf-reg4", "config.json"), "w") as f:
                json.dump(config, f, indent=1)
        for input_size, side in sizes:
            name = f"{file.split('_pretrain')[0]}.{input_size}"
            images = torch.randint(0, 256, (2, 3, side, side), generator=g, dtype=torch.uint8)
            cls, patches, pos = reference(w, images, input_size)
            ref[f"{name}.images"] = images
            ref[f"{name}.cls"] = cls.float()
            ref[f"{name}.patches"] = patches.float()
            ref[f"{name}.pos"] = pos.float()
            cases.append({"name": name, "file": file, "inputSize": input_size, "registers": registers})
    meta = {"cases": json.dumps(cases), "heads": str(HEADS), "torch": torch.__version__, "precision": "float64 reference, stored as float32"}
    st.save_file(ref, os.path.join(OUT, "reference.safetensors"), meta)
    print("wrote", len(cases), "cases to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
