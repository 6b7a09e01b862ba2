"""Plain-PyTorch AutoencoderKL (diffusers' architecture and parameter names), written from the diffusers
sources (`models/autoencoders/{autoencoder_kl,vae}.py`, `models/{resnet,downsampling,upsampling,
attention_processor}.py`, `models/unets/unet_2d_blocks.py`) without depending on diffusers.

    encode: x -> Encoder -> quant_conv -> mean, logvar = chunk(2, dim=1); logvar = clamp(logvar, -30, 20);
            std = exp(logvar / 2)
    decode: z -> post_quant_conv -> Decoder

Every GroupNorm has eps 1e-6; the resnets have no time embedding and dropout 0; the mid-block attention
is single-head with a residual and computes its softmax in float32 (or in the input dtype when wider).
"""
import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-6


def group_norm(groups, channels):
    return nn.GroupNorm(groups, channels, eps=EPS)


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, groups):
        super().__init__()
        self.norm1 = group_norm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = group_norm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Downsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0))


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Attention(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.group_norm = group_norm(groups, c)
        self.to_q = nn.Linear(c, c)
        self.to_k = nn.Linear(c, c)
        self.to_v = nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c), nn.Dropout(0.0)])

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).view(b, c, h * w).transpose(1, 2)
        q, k, v = self.to_q(t), self.to_k(t), self.to_v(t)
        up = torch.promote_types(x.dtype, torch.float32)
        scores = torch.bmm(q.to(up), k.to(up).transpose(1, 2)) / c ** 0.5
        out = torch.bmm(scores.softmax(-1), v.to(up)).to(x.dtype)
        out = self.to_out[1](self.to_out[0](out))
        return out.transpose(1, 2).reshape(b, c, h, w) + x


class MidBlock(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.attentions = nn.ModuleList([Attention(c, groups)])
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, groups), ResnetBlock2D(c, c, groups)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class Level(nn.Module):
    """DownEncoderBlock2D / UpDecoderBlock2D: resnets, then downsamplers.0 / upsamplers.0 when given."""

    def __init__(self, cin, cout, layers, groups, resample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, groups) for i in range(layers)])
        if resample == "down":
            self.downsamplers = nn.ModuleList([Downsample2D(cout)])
        elif resample == "up":
            self.upsamplers = nn.ModuleList([Upsample2D(cout)])
        self.resample = resample

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.resample == "down":
            x = self.downsamplers[0](x)
        elif self.resample == "up":
            x = self.upsamplers[0](x)
        return x


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w, g = cfg["block_out_channels"], cfg["norm_num_groups"]
        n = len(w)
        self.conv_in = nn.Conv2d(cfg["in_channels"], w[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            [Level(w[max(i - 1, 0)], w[i], cfg["layers_per_block"], g, "down" if i < n - 1 else None) for i in range(n)])
        self.mid_block = MidBlock(w[-1], g)
        self.conv_norm_out = group_norm(g, w[-1])
        self.conv_out = nn.Conv2d(w[-1], 2 * cfg["latent_channels"], 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for b in self.down_blocks:
            h = b(h)
        return self.conv_out(F.silu(self.conv_norm_out(self.mid_block(h))))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w, g = list(reversed(cfg["block_out_channels"])), cfg["norm_num_groups"]
        n = len(w)
        self.conv_in = nn.Conv2d(cfg["latent_channels"], w[0], 3, padding=1)
        self.up_blocks = nn.ModuleList(
            [Level(w[max(i - 1, 0)], w[i], cfg["layers_per_block"] + 1, g, "up" if i < n - 1 else None) for i in range(n)])
        self.mid_block = MidBlock(w[0], g)
        self.conv_norm_out = group_norm(g, w[-1])
        self.conv_out = nn.Conv2d(w[-1], cfg["out_channels"], 3, padding=1)

    def forward(self, z):
        h = self.mid_block(self.conv_in(z))
        for b in self.up_blocks:
            h = b(h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class AutoencoderKL(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        lat = cfg["latent_channels"]
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quant_conv = nn.Conv2d(2 * lat, 2 * lat, 1)
        self.post_quant_conv = nn.Conv2d(lat, lat, 1)

    def encode(self, x):
        mean, logvar = torch.chunk(self.quant_conv(self.encoder(x)), 2, dim=1)
        return mean, torch.exp(0.5 * torch.clamp(logvar, -30.0, 20.0))

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))


def to_legacy(sd):
    """diffusers names -> the 2022 attention names (query/key/value/proj_attn)."""
    names = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
    out = {}
    for k, v in sd.items():
        for new, old in names.items():
            k = k.replace(f".attentions.0.{new}.", f".attentions.0.{old}.")
        out[k] = v
    return out


def to_ldm(sd, levels):
    """diffusers names -> the single-file LDM names (inverse of diffusers' convert_ldm_vae_checkpoint);
    attention projections become 1x1 convolution weights (C, C, 1, 1)."""
    import re
    attn = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
    out = {}
    for k, v in sd.items():
        m = re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(weight|bias)$", k)
        if m:
            part, name, kind = m.groups()
            if kind == "weight" and name != "group_norm":
                v = v[:, :, None, None]
            out[f"{part}.mid.attn_1.{attn[name]}.{kind}"] = v
            continue
        k = re.sub(r"^(encoder|decoder)\.mid_block\.resnets\.(\d+)\.", lambda m: f"{m[1]}.mid.block_{int(m[2]) + 1}.", k)
        k = re.sub(r"^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.", r"encoder.down.\1.block.\2.", k)
        k = re.sub(r"^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.", r"encoder.down.\1.downsample.", k)
        k = re.sub(r"^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.", lambda m: f"decoder.up.{levels - 1 - int(m[1])}.block.{m[2]}.", k)
        k = re.sub(r"^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.", lambda m: f"decoder.up.{levels - 1 - int(m[1])}.upsample.", k)
        k = k.replace(".conv_shortcut.", ".nin_shortcut.")
        k = re.sub(r"^(encoder|decoder)\.conv_norm_out\.", r"\1.norm_out.", k)
        out[k] = v
    return out
