"""Independent PyTorch reference of SiT + REG (Representation Entanglement for Generation).

Written from the method as docs/method.md#model describes it (facts checked against the official Martinser/REG
models/sit.py @ 021ea2e). Only used to produce test fixtures for the TypeScript implementation.

Parameter names, shapes and registration order are those of the official `state_dict`:

    pos_embed                                   (1, T[+1], D)   frozen 2-D sin-cos, (+ zero cls row)
    x_embedder.proj.weight / .bias              (D, C, p, p) / (D,)
    t_embedder.mlp.0.weight / .bias             (D, 256) / (D,)
    t_embedder.mlp.2.weight / .bias             (D, D) / (D,)
    y_embedder.embedding_table.weight           (num_classes + 1, D)     row num_classes = null label
    blocks.{i}.attn.qkv.weight / .bias          (3D, D) / (3D,)
    blocks.{i}.attn.proj.weight / .bias         (D, D) / (D,)
    blocks.{i}.mlp.fc1.weight / .bias           (4D, D) / (4D,)
    blocks.{i}.mlp.fc2.weight / .bias           (D, 4D) / (D,)
    blocks.{i}.adaLN_modulation.1.weight / .bias (6D, D) / (6D,)
    projectors.{k}.{0,2,4}.weight / .bias       D -> P -> P -> z_dims[k]      (alignment variants)
    final_layer.linear.weight / .bias           (p*p*C, D) / (p*p*C,)
    final_layer.linear_cls.weight / .bias       (z_dims[0], D) / (z_dims[0],)  (token variants)
    final_layer.adaLN_modulation.1.weight / .bias (2D, D) / (2D,)
    cls_projectors2.weight / .bias              (D, z_dims[0]) / (D,)          (token variants)
    wg_norm.weight / .bias                      (D,) / (D,)                    (token variants)

(block LayerNorms and the final LayerNorm have no affine parameters, so no keys.)
Registration order = official order: module's own parameter `pos_embed` first, then x_embedder,
t_embedder, y_embedder, blocks, projectors, final_layer (linear, linear_cls, adaLN_modulation),
cls_projectors2, wg_norm. This is also the index order of optimizer.state_dict()['state'].

Variants:
    "reg"      : class token prepended + REPA alignment projector (the method; official code)
    "repa"     : no class token, alignment projector (official sihyun-yu/REPA layout: pos_embed (1,T,D),
                 no linear_cls / cls_projectors2 / wg_norm)
    "sit"      : plain SiT (no token, no projector)
    "entangle" : class token, no projector (paper Table 6 ablation: entanglement only)

Differences from the official class, on purpose:
    * the final layer is built with width = hidden size for every config (the official SiT-S configs
      pass decoder_hidden_size=768 while the trunk is 384 -> shape error);
    * label dropout can be driven by a caller-supplied boolean `drop_mask` (official: force_drop_ids);
    * the sinusoidal timestep features are computed in the dtype of `t` (official: always float32, then
      cast to t's dtype; identical for float32 models);
    * attention is always the explicit softmax formula (timm non-fused path):
          q = q * head_dim**-0.5 ; a = softmax(q @ k^T, -1) ; out = a @ v
      which is mathematically identical to F.scaled_dot_product_attention (timm fused path, default in
      official training); they differ only by float rounding (~1e-7 relative in fp32).
"""

import math
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VARIANTS = ("reg", "repa", "sit", "entangle")


def variant_has_token(variant):
    return variant in ("reg", "entangle")


def variant_has_align(variant):
    return variant in ("reg", "repa")


# ----------------------------------------------------------------------------------------------
# Config
# ----------------------------------------------------------------------------------------------

DEFAULT_CONFIG = dict(
    input_size=32,          # latent H = W
    patch_size=2,
    in_channels=4,
    hidden_size=1152,
    depth=28,
    num_heads=16,
    mlp_ratio=4.0,
    num_classes=1000,
    class_dropout_prob=0.1,
    encoder_depth=8,        # 1-based block index whose output is projected
    projector_dim=2048,
    z_dims=[768],           # encoder feature dims; z_dims[0] is also the class-token dim
    variant="reg",
    freq_dim=256,           # sinusoidal timestep feature size (fixed 256 in official code)
)

# standard sizes (docs/method.md#sizes); final layer width = hidden size for all (fixes SiT-S)
SIT_SIZES = {
    "S": dict(depth=12, hidden_size=384, num_heads=6),
    "B": dict(depth=12, hidden_size=768, num_heads=12),
    "L": dict(depth=24, hidden_size=1024, num_heads=16),
    "XL": dict(depth=28, hidden_size=1152, num_heads=16),
}


def named_config(name, **overrides):
    """'SiT-XL/2' -> config dict."""
    size, p = name.replace("SiT-", "").split("/")
    cfg = dict(DEFAULT_CONFIG)
    cfg.update(SIT_SIZES[size])
    cfg["patch_size"] = int(p)
    cfg.update(overrides)
    return cfg


def make_config(**overrides):
    cfg = dict(DEFAULT_CONFIG)
    cfg.update(overrides)
    cfg["z_dims"] = list(cfg["z_dims"])
    assert cfg["variant"] in VARIANTS, cfg["variant"]
    return cfg


# ----------------------------------------------------------------------------------------------
# Fixed embeddings
# ----------------------------------------------------------------------------------------------

def sincos_1d(dim, pos):
    """pos: float64 array (M,) -> (M, dim) = [sin(pos*w_k) (dim/2 cols), cos(pos*w_k) (dim/2 cols)],
    w_k = 10000^(-k/(dim/2)), k = 0..dim/2-1. Computed in float64."""
    assert dim % 2 == 0
    k = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
    w = 1.0 / (10000.0 ** k)
    ang = np.outer(pos.astype(np.float64), w)
    return np.concatenate([np.sin(ang), np.cos(ang)], axis=1)


def pos_embed_2d(dim, grid, extra_tokens=0):
    """MAE-style 2-D sin-cos table, float64 numpy, shape (extra_tokens + grid*grid, dim).

    Token order is row-major (token = row*grid + col). Channels [0, dim/2) encode the COLUMN index,
    channels [dim/2, dim) encode the ROW index (the official code builds meshgrid(w, h) and encodes
    grid[0] = column first). `extra_tokens` all-zero rows are prepended (REG: 1 cls row).
    """
    assert dim % 4 == 0
    rows, cols = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
    col_emb = sincos_1d(dim // 2, cols.reshape(-1))
    row_emb = sincos_1d(dim // 2, rows.reshape(-1))
    emb = np.concatenate([col_emb, row_emb], axis=1)
    if extra_tokens > 0:
        emb = np.concatenate([np.zeros((extra_tokens, dim)), emb], axis=0)
    return emb


def timestep_features(t, dim=256, max_period=10000.0):
    """Sinusoidal features of continuous t (no x1000 scaling), in t's dtype.
    freqs_k = exp(-ln(max_period) * k / (dim/2)), k = 0..dim/2-1 ; out = [cos(t*f), sin(t*f)] (cos first).
    Op order: exp((-ln(max_period) * arange(half)) / half) -- same as the official code."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=t.dtype, device=t.device) / half)
    args = t[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def timestep_features_official(t, dim=256, max_period=10000.0):
    """Exactly the official computation: float32 math whatever t's dtype, then cast to t.dtype."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1).to(t.dtype)


# ----------------------------------------------------------------------------------------------
# Layers (module/attribute names chosen to reproduce the official state_dict keys)
# ----------------------------------------------------------------------------------------------

def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class PatchEmbed(nn.Module):
    """Conv2d(k = s = p) then flatten row-major to (N, T, D). Key: x_embedder.proj.*"""

    def __init__(self, input_size, patch_size, in_channels, hidden_size):
        super().__init__()
        self.patch_size = patch_size
        self.grid = input_size // patch_size
        self.num_patches = self.grid * self.grid
        self.proj = nn.Conv2d(in_channels, hidden_size, kernel_size=patch_size, stride=patch_size, bias=True)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class TimestepEmbedder(nn.Module):
    def __init__(self, hidden_size, freq_dim=256):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(freq_dim, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size))
        self.freq_dim = freq_dim
        self.official_fp32_features = False

    def forward(self, t):
        f = timestep_features_official if self.official_fp32_features else timestep_features
        return self.mlp(f(t, self.freq_dim))


class LabelEmbedder(nn.Module):
    """Table of num_classes + 1 rows; index num_classes is the null (unconditional) label."""

    def __init__(self, num_classes, hidden_size, dropout_prob):
        super().__init__()
        self.embedding_table = nn.Embedding(num_classes + int(dropout_prob > 0), hidden_size)
        self.num_classes = num_classes
        self.dropout_prob = dropout_prob

    def forward(self, labels, train, drop_mask=None):
        if drop_mask is not None:
            labels = torch.where(drop_mask.bool(), torch.full_like(labels, self.num_classes), labels)
        elif train and self.dropout_prob > 0:
            drop = torch.rand(labels.shape[0], device=labels.device) < self.dropout_prob
            labels = torch.where(drop, torch.full_like(labels, self.num_classes), labels)
        return self.embedding_table(labels)


class Attention(nn.Module):
    """Multi-head self attention, qkv with bias, no qk-norm. Keys: attn.qkv.*, attn.proj.*"""

    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        # qkv feature layout: [q | k | v], each split into heads of head_dim contiguous channels
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(out)


class Mlp(nn.Module):
    """fc1 -> GELU(tanh approximation) -> fc2. Keys: mlp.fc1.*, mlp.fc2.*"""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class SiTBlock(nn.Module):
    """adaLN-Zero block. c -> SiLU -> Linear(D, 6D) -> (shift_msa, scale_msa, gate_msa, shift_mlp,
    scale_mlp, gate_mlp); x += gate_msa * Attn(mod(LN(x))); x += gate_mlp * MLP(mod(LN(x)))."""

    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x, c):
        sh1, sc1, g1, sh2, sc2, g2 = self.adaLN_modulation(c).chunk(6, dim=-1)
        x = x + g1.unsqueeze(1) * self.attn(modulate(self.norm1(x), sh1, sc1))
        x = x + g2.unsqueeze(1) * self.mlp(modulate(self.norm2(x), sh2, sc2))
        return x


class FinalLayer(nn.Module):
    def __init__(self, dim, patch_size, out_channels, cls_dim=None):
        super().__init__()
        self.norm_final = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(dim, patch_size * patch_size * out_channels)
        if cls_dim is not None:
            self.linear_cls = nn.Linear(dim, cls_dim)
        else:
            self.linear_cls = None
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, x, c, has_token):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        h = modulate(self.norm_final(x), shift, scale)
        if has_token:
            return self.linear(h[:, 1:]), self.linear_cls(h[:, 0])
        return self.linear(h), None


def build_projector(dim, proj_dim, z_dim):
    """Token-wise MLP: Linear(D,P) SiLU Linear(P,P) SiLU Linear(P,z). Keys projectors.k.{0,2,4}.*"""
    return nn.Sequential(nn.Linear(dim, proj_dim), nn.SiLU(), nn.Linear(proj_dim, proj_dim), nn.SiLU(),
                         nn.Linear(proj_dim, z_dim))


# ----------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------

class SiT(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        cfg = make_config(**kw)
        self.cfg = cfg
        D = cfg["hidden_size"]
        self.variant = cfg["variant"]
        self.has_token = variant_has_token(self.variant)
        self.has_align = variant_has_align(self.variant)
        self.in_channels = self.out_channels = cfg["in_channels"]
        self.patch_size = cfg["patch_size"]
        self.num_classes = cfg["num_classes"]
        self.encoder_depth = cfg["encoder_depth"]
        self.cls_dim = cfg["z_dims"][0] if self.has_token else None

        # same construction order as the official class (keeps names and parameter order identical)
        self.x_embedder = PatchEmbed(cfg["input_size"], cfg["patch_size"], cfg["in_channels"], D)
        self.t_embedder = TimestepEmbedder(D, cfg["freq_dim"])
        self.y_embedder = LabelEmbedder(cfg["num_classes"], D, cfg["class_dropout_prob"])
        T = self.x_embedder.num_patches
        self.pos_embed = nn.Parameter(torch.zeros(1, T + int(self.has_token), D), requires_grad=False)
        self.blocks = nn.ModuleList([SiTBlock(D, cfg["num_heads"], cfg["mlp_ratio"]) for _ in range(cfg["depth"])])
        if self.has_align:
            self.projectors = nn.ModuleList([build_projector(D, cfg["projector_dim"], z) for z in cfg["z_dims"]])
        else:
            self.projectors = None
        self.final_layer = FinalLayer(D, cfg["patch_size"], self.out_channels, self.cls_dim)
        if self.has_token:
            self.cls_projectors2 = nn.Linear(self.cls_dim, D)
            self.wg_norm = nn.LayerNorm(D, elementwise_affine=True, eps=1e-6)
        self.initialize_weights()

    # -- official initialisation (docs/method.md#initialisation) --
    def initialize_weights(self):
        def basic(m):
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.apply(basic)
        g = self.x_embedder.grid
        pe = pos_embed_2d(self.pos_embed.shape[-1], g, extra_tokens=int(self.has_token))
        self.pos_embed.data.copy_(torch.from_numpy(pe).to(self.pos_embed.dtype).unsqueeze(0))
        w = self.x_embedder.proj.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.proj.bias)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for blk in self.blocks:
            nn.init.zeros_(blk.adaLN_modulation[-1].weight)
            nn.init.zeros_(blk.adaLN_modulation[-1].bias)
        fl = self.final_layer
        for lin in (fl.adaLN_modulation[-1], fl.linear, fl.linear_cls):
            if lin is not None:
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)

    def reset_pos_embed(self):
        """Recompute pos_embed in the current dtype from the float64 table (used after .double())."""
        pe = pos_embed_2d(self.pos_embed.shape[-1], self.x_embedder.grid, extra_tokens=int(self.has_token))
        self.pos_embed.data.copy_(torch.from_numpy(pe).to(self.pos_embed.dtype).unsqueeze(0))

    def unpatchify(self, x):
        """(N, T, p*p*C) -> (N, C, H, W); per-token feature layout is (p_row, p_col, C)."""
        c, p = self.out_channels, self.patch_size
        h = w = int(round(x.shape[1] ** 0.5))
        assert h * w == x.shape[1]
        x = x.reshape(x.shape[0], h, w, p, p, c)
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(x.shape[0], c, h * p, w * p)

    def forward(self, x, t, y, cls_token=None, drop_mask=None, return_hidden=False):
        """x: (N,C,H,W); t: (N,) continuous in [0,1] (1 = noise); y: (N,) int64; cls_token: (N, z_dims[0])
        for token variants; drop_mask: optional (N,) bool -> label replaced by num_classes (null).
        Label dropout is random only when training and drop_mask is None.
        Returns (v (N,C,H,W), zs: list of (N, T[+1], z_dims[k]) (empty for non-alignment variants),
                 v_cls (N, z_dims[0]) or None)."""
        h = self.x_embedder(x)
        if self.has_token:
            assert cls_token is not None, "token variants need cls_token"
            ct = self.wg_norm(self.cls_projectors2(cls_token)).unsqueeze(1)
            h = torch.cat([ct, h], dim=1)
        h = h + self.pos_embed
        N, T, D = h.shape
        c = self.t_embedder(t) + self.y_embedder(y, self.training, drop_mask)
        zs = []
        hidden = []
        for i, blk in enumerate(self.blocks):
            h = blk(h, c)
            hidden.append(h)
            if self.has_align and (i + 1) == self.encoder_depth:
                zs = [proj(h.reshape(-1, D)).reshape(N, T, -1) for proj in self.projectors]
        out, v_cls = self.final_layer(h, c, self.has_token)
        v = self.unpatchify(out)
        if return_hidden:
            return v, zs, v_cls, hidden, c
        return v, zs, v_cls


def param_shapes(cfg):
    """Analytic name -> shape map (official order) without building the model."""
    cfg = make_config(**cfg)
    D, C, p = cfg["hidden_size"], cfg["in_channels"], cfg["patch_size"]
    G = cfg["input_size"] // p
    tok = variant_has_token(cfg["variant"])
    H = int(D * cfg["mlp_ratio"])
    s = OrderedDict()
    s["pos_embed"] = [1, G * G + int(tok), D]
    s["x_embedder.proj.weight"] = [D, C, p, p]
    s["x_embedder.proj.bias"] = [D]
    s["t_embedder.mlp.0.weight"] = [D, cfg["freq_dim"]]
    s["t_embedder.mlp.0.bias"] = [D]
    s["t_embedder.mlp.2.weight"] = [D, D]
    s["t_embedder.mlp.2.bias"] = [D]
    s["y_embedder.embedding_table.weight"] = [cfg["num_classes"] + int(cfg["class_dropout_prob"] > 0), D]
    for i in range(cfg["depth"]):
        b = f"blocks.{i}."
        s[b + "attn.qkv.weight"] = [3 * D, D]
        s[b + "attn.qkv.bias"] = [3 * D]
        s[b + "attn.proj.weight"] = [D, D]
        s[b + "attn.proj.bias"] = [D]
        s[b + "mlp.fc1.weight"] = [H, D]
        s[b + "mlp.fc1.bias"] = [H]
        s[b + "mlp.fc2.weight"] = [D, H]
        s[b + "mlp.fc2.bias"] = [D]
        s[b + "adaLN_modulation.1.weight"] = [6 * D, D]
        s[b + "adaLN_modulation.1.bias"] = [6 * D]
    if variant_has_align(cfg["variant"]):
        P = cfg["projector_dim"]
        for k, z in enumerate(cfg["z_dims"]):
            for j, (o, i_) in zip((0, 2, 4), ((P, D), (P, P), (z, P))):
                s[f"projectors.{k}.{j}.weight"] = [o, i_]
                s[f"projectors.{k}.{j}.bias"] = [o]
    s["final_layer.linear.weight"] = [p * p * C, D]
    s["final_layer.linear.bias"] = [p * p * C]
    if tok:
        z0 = cfg["z_dims"][0]
        s["final_layer.linear_cls.weight"] = [z0, D]
        s["final_layer.linear_cls.bias"] = [z0]
    s["final_layer.adaLN_modulation.1.weight"] = [2 * D, D]
    s["final_layer.adaLN_modulation.1.bias"] = [2 * D]
    if tok:
        z0 = cfg["z_dims"][0]
        s["cls_projectors2.weight"] = [D, z0]
        s["cls_projectors2.bias"] = [D]
        s["wg_norm.weight"] = [D]
        s["wg_norm.bias"] = [D]
    return s


def count_params(cfg, include_projector=True, include_pos_embed=True):
    n = 0
    for k, shp in param_shapes(cfg).items():
        if not include_projector and k.startswith("projectors."):
            continue
        if not include_pos_embed and k == "pos_embed":
            continue
        n += int(np.prod(shp))
    return n
