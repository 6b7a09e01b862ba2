"""The sampling pipeline of the official generate.py, end to end in plain PyTorch, on tiny weights:

    official-format checkpoint (torch.save of {model, ema, args, steps}, as train.py writes it)
      → SDE sampling with CFG (reg-ts's per-image noise streams, reproduced here)
      → tiny AutoencoderKL (diffusers layout; test/reference/autoencoders/autoencoder_kl.py) decode(z / 0.18215)
      → clamp(255·(x + 1)/2, 0, 255) truncated to uint8 (NHWC)

Writes test/fixtures/pipeline/:

    official_tiny.pt                     {model, ema, args: argparse.Namespace, steps}; EMA ≠ model
    tiny-vae/config.json                 diffusers AutoencoderKL config (4 blocks: 8× upsampling)
    tiny-vae/diffusion_pytorch_model.safetensors
    expected.safetensors                 the run's noise, final latents, decoded pixels, uint8 images
        noise.x_T (B,C,H,W) f32, noise.c_T (B,Dz) f32, noise.xi_x (N−1,B,C,H,W) f64, noise.xi_c (N−1,B,Dz) f64
        latents (B,C,H,W) f64 (sampler output), decoded (B,3,8H,8W) f32, images (B,8H,8W,3) u8
        __metadata__: settings (the `reg sample` flags), config, vae_config, margin (the smallest distance
        of 255·(x+1)/2 from an integer among the unclamped pixels: how close a pixel is to flipping by 1)

    /usr/bin/python3 test/reference/pipeline/make_pipeline_fixtures.py

Noise: reg-ts gives image i of seed s two generators seeded fmix32(base(s, stream) ⊕ i) (src/diffusion/noise.ts);
x_T / c_T are their first float32 draws, then each SDE step draws float64 ξ from the same generators. torch's
CPU generator is libtorch's, so the draws here are those `reg sample` makes.
"""

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "autoencoders"))

import samplers as S  # noqa: E402
import sit_reg as R  # noqa: E402
from make_fixtures import SMALL, rand_init_  # noqa: E402
from make_official_pt import official_args  # noqa: E402
from st import save_file  # noqa: E402
from autoencoder_kl import AutoencoderKL  # noqa: E402

OUT = os.path.normpath(os.path.join(HERE, "..", "..", "fixtures", "pipeline"))

SETTINGS = dict(seed=5, labels=[3, 7], steps=6, cfg=2.3, cls_cfg=2.3, guidance_low=0.0, guidance_high=0.85, num_heads=2)
VAE_CONFIG = {
    "_class_name": "AutoencoderKL",
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [8, 8, 8, 8],
    "layers_per_block": 1,
    "act_fn": "silu",
    "latent_channels": 4,
    "norm_num_groups": 4,
    "sample_size": SMALL["input_size"] * 8,
    "scaling_factor": 0.18215,
}
M32 = 0xFFFFFFFF
STREAM_SALT = {"latent": 0x2545F491, "cls": 0x9E3779B9}


def fmix32(h):
    h &= M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def stream_seed(seed, index, stream):
    """noise.ts streamSeed: fmix32(fmix32(fmix32(lo ⊕ salt) ⊕ fmix32(hi + 0x5bd1e995)) ⊕ index)."""
    lo, hi = seed & M32, (seed >> 32) & M32
    base = fmix32(fmix32(lo ^ STREAM_SALT[stream]) ^ fmix32((hi + 0x5BD1E995) & M32))
    return fmix32(base ^ index)


def image_noise(seed, n, shape_x, shape_c, steps):
    """x_T, c_T (float32) and the N−1 SDE noises (float64) of images 0..n−1, stacked over the batch."""
    gx = [torch.Generator().manual_seed(stream_seed(seed, i, "latent")) for i in range(n)]
    gc = [torch.Generator().manual_seed(stream_seed(seed, i, "cls")) for i in range(n)]
    draw = lambda gens, shape, dt: torch.stack([torch.randn(shape, generator=g, dtype=dt) for g in gens])  # noqa: E731
    x_T, c_T = draw(gx, shape_x, torch.float32), draw(gc, shape_c, torch.float32)
    xi_x, xi_c = [], []
    for _ in range(steps - 1):
        xi_x.append(draw(gx, shape_x, torch.float64))
        xi_c.append(draw(gc, shape_c, torch.float64))
    return x_T, c_T, xi_x, xi_c


def tiny_model(seed):
    """The small fixture config (official init, then every tensor but pos_embed random), float32."""
    torch.manual_seed(0)
    m = R.SiT(**dict(SMALL, variant="reg")).double()
    m.reset_pos_embed()
    rand_init_(m, torch.Generator().manual_seed(seed))
    m = m.float()
    m.reset_pos_embed()
    return m.eval()


def tiny_vae():
    """Default PyTorch init (seed 0); conv_out scaled so decoded pixels spread over about [−1.5, 1.5]."""
    torch.manual_seed(0)
    vae = AutoencoderKL(VAE_CONFIG).eval()
    with torch.no_grad():
        vae.decoder.conv_out.weight.mul_(0.7)
    return vae


def main():
    torch.set_num_threads(1)
    os.makedirs(os.path.join(OUT, "tiny-vae"), exist_ok=True)
    s = SETTINGS
    model, ema = tiny_model(3000), tiny_model(3001)
    args = official_args()
    args.max_train_steps = args.checkpointing_steps = 400
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "args": args, "steps": 400},
               os.path.join(OUT, "official_tiny.pt"))

    vae = tiny_vae()
    save_file({k: v.contiguous() for k, v in vae.state_dict().items()},
              os.path.join(OUT, "tiny-vae", "diffusion_pytorch_model.safetensors"), {"format": "pt"})
    with open(os.path.join(OUT, "tiny-vae", "config.json"), "w") as f:
        json.dump(VAE_CONFIG, f, indent=2)
        f.write("\n")

    n, C, H, Dz = len(s["labels"]), SMALL["in_channels"], SMALL["input_size"], SMALL["z_dims"][0]
    x_T, c_T, xi_x, xi_c = image_noise(s["seed"], n, (C, H, H), (Dz,), s["steps"])
    y = torch.tensor(s["labels"], dtype=torch.int64)
    r = S.euler_maruyama(ema, x_T, c_T, y, s["steps"], xi_x, xi_c, cfg_scale=s["cfg"], cls_cfg_scale=s["cls_cfg"],
                         guidance_low=s["guidance_low"], guidance_high=s["guidance_high"])
    latents = r["x"]
    with torch.no_grad():
        decoded = vae.decode(latents.to(torch.float32) / VAE_CONFIG["scaling_factor"])
    scaled = 255.0 * ((decoded + 1) / 2)
    images = torch.clamp(scaled, 0, 255).permute(0, 2, 3, 1).to(dtype=torch.uint8)  # generate.py: truncation
    inside = scaled[(scaled > 0) & (scaled < 255)]
    margin = float((inside - inside.round()).abs().min())
    save_file(
        {"noise.x_T": x_T, "noise.c_T": c_T, "noise.xi_x": torch.stack(xi_x), "noise.xi_c": torch.stack(xi_c),
         "latents": latents, "decoded": decoded, "images": images.contiguous()},
        os.path.join(OUT, "expected.safetensors"),
        {"settings": json.dumps(s), "config": json.dumps(dict(SMALL, variant="reg"), sort_keys=True),
         "vae_config": json.dumps(VAE_CONFIG), "margin": repr(margin),
         "clamped": repr(int(((scaled <= 0) | (scaled >= 255)).sum())), "torch_version": torch.__version__},
    )
    print(f"decoded range [{float(decoded.min()):.3f}, {float(decoded.max()):.3f}], margin {margin:.3g}, "
          f"clamped {int(((scaled <= 0) | (scaled >= 255)).sum())} of {scaled.numel()}")
    for name in sorted(os.listdir(OUT)):
        p = os.path.join(OUT, name)
        if os.path.isfile(p):
            print(name, os.path.getsize(p))


if __name__ == "__main__":
    main()
