"""Tiny AutoencoderKL fixtures in the three on-disk layouts, with float64 reference outputs.

SD-VAE weights are not reachable here, so the loader and the forward of src/models/autoencoders/ are
tested on tiny random weights (autoencoder_kl.py, diffusers' architecture and names) written as:

  tiny-diffusers/            config.json + diffusion_pytorch_model.safetensors   (to_q/to_k/to_v/to_out.0)
  tiny-diffusers-legacy/     config.json + diffusion_pytorch_model.safetensors   (query/key/value/proj_attn)
  tiny-diffusers-bin/        config.json + diffusion_pytorch_model.bin            (torch.save of the state dict)
  tiny-ldm.safetensors       single-file LDM names, no config (norm_num_groups is not in the file)
  tiny-ldm-sd.ckpt           torch.save({"state_dict": first_stage_model.<LDM names> + a UNet tensor, "global_step"})
  autoencoder_tiny_ref.safetensors
      input.x (B,3,H,W) float32 in [-1, 1]; input.z (B,4,H/4,W/4) float32
      expected.mean, expected.std (posterior of input.x), expected.decode (decode of input.z): float64,
      computed in float64 on the float32 weights; __metadata__.config = the config (diffusers fields)

Weights: PyTorch's default init from seed 0, then every GroupNorm gamma = 1 + N(0, 0.1^2), beta = N(0, 0.1^2)
(so the affine part is exercised). The config's sizes are pairwise distinct where they can be (widths
4, 6, 8; latent 4 only equals the first width; H != W), so swapped axes fail.

Run: /usr/bin/python3 test/reference/autoencoders/make_autoencoder_fixtures.py
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import st  # noqa: E402
from autoencoder_kl import AutoencoderKL, to_ldm, to_legacy  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "fixtures", "autoencoders")
CONFIG = {
    "_class_name": "AutoencoderKL",
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 3,
    "up_block_types": ["UpDecoderBlock2D"] * 3,
    "block_out_channels": [4, 6, 8],
    "layers_per_block": 1,
    "act_fn": "silu",
    "latent_channels": 4,
    "norm_num_groups": 2,
    "sample_size": 16,
    "scaling_factor": 0.5,
}
B, H, W = 2, 16, 24


def write_dir(name, sd, weights_file, config):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    path = os.path.join(d, weights_file)
    if weights_file.endswith(".safetensors"):
        st.save_file(sd, path, {"format": "pt"})
    else:
        torch.save(sd, path)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = AutoencoderKL(CONFIG)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.GroupNorm):
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    levels = len(CONFIG["block_out_channels"])

    x = (torch.rand(B, 3, H, W, generator=g) * 2 - 1).float()
    z = torch.randn(B, CONFIG["latent_channels"], H // 4, W // 4, generator=g).float()
    ref = AutoencoderKL(CONFIG).double()
    ref.load_state_dict({k: v.double() for k, v in sd.items()})
    with torch.no_grad():
        mean, std = ref.encode(x.double())
        dec = ref.decode(z.double())

    os.makedirs(OUT, exist_ok=True)
    write_dir("tiny-diffusers", sd, "diffusion_pytorch_model.safetensors", CONFIG)
    write_dir("tiny-diffusers-legacy", to_legacy(sd), "diffusion_pytorch_model.safetensors", CONFIG)
    write_dir("tiny-diffusers-bin", sd, "diffusion_pytorch_model.bin", CONFIG)
    ldm = to_ldm(sd, levels)
    st.save_file(ldm, os.path.join(OUT, "tiny-ldm.safetensors"))
    whole = {f"first_stage_model.{k}": v for k, v in ldm.items()}
    whole["model.diffusion_model.input_blocks.0.0.weight"] = torch.zeros(2, 2)
    torch.save({"state_dict": whole, "global_step": 0}, os.path.join(OUT, "tiny-ldm-sd.ckpt"))
    st.save_file(
        {"input.x": x, "input.z": z, "expected.mean": mean, "expected.std": std, "expected.decode": dec},
        os.path.join(OUT, "autoencoder_tiny_ref.safetensors"),
        {"config": json.dumps(CONFIG), "parameters": str(sum(v.numel() for v in sd.values())), "tensors": str(len(sd))},
    )
    print(f"{len(sd)} tensors, {sum(v.numel() for v in sd.values())} parameters; mean {tuple(mean.shape)}, decode {tuple(dec.shape)}")


if __name__ == "__main__":
    main()
