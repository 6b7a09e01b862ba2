"""Write test/fixtures/reference/official_small.pt: a checkpoint laid out exactly like the official
REG train.py writes it (torch.save of {'model', 'ema', 'opt', 'args', 'steps'}), for the small fixture
config after ONE training step, plus a sidecar with the expected values:

    official_small_expected.safetensors
        model.<name>, ema.<name>                 every state_dict entry (float32)
        opt.<index>.exp_avg / .exp_avg_sq / .step  optimizer state, index = position in model.parameters()
        __metadata__: config, args (vars(args) as JSON), steps, param_groups, param_names,
                      pickle_globals (every GLOBAL the pickle references), zip_entries, storage_locations

    /usr/bin/python3 test/reference/make_official_pt.py

Like a checkpoint written on a GPU by the official code, the tensor storages of model / ema /
exp_avg / exp_avg_sq carry the location tag 'cuda:0' while AdamW's `step` tensors are 'cpu' (torch keeps
them on the CPU). Load it in Python with torch.load(path, map_location='cpu').
"""

import argparse
import json
import os
import pickletools
import sys
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import loss as L  # noqa: E402
import optim as O  # noqa: E402
import sit_reg as R  # noqa: E402
from make_fixtures import SMALL, OUT, BATCH  # noqa: E402
from st import save_file  # noqa: E402


def official_args():
    """argparse.Namespace with the official train.py flags in their declaration order."""
    a = argparse.Namespace()
    fields = [
        ("output_dir", "exps"), ("exp_name", "reg-ts-fixture"), ("logging_dir", "logs"), ("report_to", "wandb"),
        ("sampling_steps", 10000), ("resume_step", 0),
        ("model", "SiT-tiny/2"), ("num_classes", SMALL["num_classes"]), ("encoder_depth", SMALL["encoder_depth"]),
        ("fused_attn", True), ("qk_norm", False), ("ops_head", 16),
        ("data_dir", "../data/imagenet256"), ("resolution", SMALL["input_size"] * 8), ("batch_size", BATCH),
        ("allow_tf32", False), ("mixed_precision", "fp16"),
        ("epochs", 1400), ("max_train_steps", 1), ("checkpointing_steps", 1), ("gradient_accumulation_steps", 1),
        ("learning_rate", 1e-4), ("adam_beta1", 0.9), ("adam_beta2", 0.999), ("adam_weight_decay", 0.0),
        ("adam_epsilon", 1e-08), ("max_grad_norm", 1.0),
        ("seed", 0), ("num_workers", 4),
        ("path_type", "linear"), ("prediction", "v"), ("cfg_prob", 0.1), ("enc_type", "dinov2-vit-b"),
        ("proj_coeff", 0.5), ("weighting", "uniform"), ("legacy", False), ("cls", 0.03),
    ]
    for k, v in fields:
        setattr(a, k, v)
    return a


def main():
    torch.set_num_threads(1)
    cfg = dict(SMALL, variant="reg")
    torch.manual_seed(0)
    model = R.SiT(**cfg)                       # official init
    ema = O.make_ema(model)                    # deepcopy, requires_grad False, update_ema(decay=0), eval
    opt = O.make_optimizer(model)              # AdamW over model.parameters()
    model.train()

    g = torch.Generator().manual_seed(99)
    B, C, H, Dz = BATCH, SMALL["in_channels"], SMALL["input_size"], SMALL["z_dims"][0]
    T = (H // SMALL["patch_size"]) ** 2 + 1
    x0 = torch.randn(B, C, H, H, generator=g)
    cls0 = torch.randn(B, Dz, generator=g)
    tz = torch.randn(B, T, Dz, generator=g)
    y = torch.tensor([0, 4, 9])
    t = torch.rand(B, generator=g)
    out = L.reg_loss(model, x0, y, t, torch.randn(B, C, H, H, generator=g), cls0, torch.randn(B, Dz, generator=g),
                     [tz], drop_mask=torch.tensor([False, False, True]))
    gn, _, _ = O.train_step(model, ema, opt, out["loss"])
    args = official_args()
    ckpt = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "args": args,
            "steps": 1}

    # tag model/ema/moment storages as cuda:0 (as a GPU run would), AdamW step tensors stay cpu
    cuda_ptrs = set()
    for sd in (ckpt["model"], ckpt["ema"]):
        for v in sd.values():
            cuda_ptrs.add(v.data_ptr())
    for st in opt.state.values():
        cuda_ptrs.add(st["exp_avg"].data_ptr())
        cuda_ptrs.add(st["exp_avg_sq"].data_ptr())
    locations = {}
    orig = torch.serialization.location_tag

    def fake_location(storage):
        loc = orig(storage)
        ptr = storage.data_ptr()
        if ptr in cuda_ptrs:
            loc = "cuda:0"
        locations[ptr] = loc
        return loc

    path = os.path.join(OUT, "official_small.pt")
    torch.serialization.location_tag = fake_location
    try:
        torch.save(ckpt, path)
    finally:
        torch.serialization.location_tag = orig

    # describe the archive
    with zipfile.ZipFile(path) as z:
        entries = z.namelist()
        pkl = z.read([n for n in entries if n.endswith("data.pkl")][0])
    globals_seen = []
    for op, arg, _ in pickletools.genops(pkl):
        if op.name in ("GLOBAL", "STACK_GLOBAL", "INST"):
            s = str(arg)
            if s not in globals_seen:
                globals_seen.append(s)
    loc_count = {}
    for v in locations.values():
        loc_count[v] = loc_count.get(v, 0) + 1

    # sanity: loads back (CPU) and matches
    back = torch.load(path, map_location="cpu")
    assert back["steps"] == 1 and vars(back["args"]) == vars(args)
    for k, v in ckpt["model"].items():
        assert torch.equal(back["model"][k], v)

    names = [n for n, _ in model.named_parameters()]
    side = {}
    for k, v in ckpt["model"].items():
        side["model." + k] = v
    for k, v in ckpt["ema"].items():
        side["ema." + k] = v
    for idx, st in ckpt["opt"]["state"].items():
        side[f"opt.{idx}.exp_avg"] = st["exp_avg"]
        side[f"opt.{idx}.exp_avg_sq"] = st["exp_avg_sq"]
        side[f"opt.{idx}.step"] = st["step"].reshape(())
    pg = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in grp.items()} for grp in ckpt["opt"]["param_groups"]]
    meta = {
        "config": json.dumps(cfg, sort_keys=True),
        "args": json.dumps(vars(args)),
        "steps": "1",
        "param_groups": json.dumps(pg),
        "param_names": json.dumps(names),
        "opt_state_indices": json.dumps(sorted(ckpt["opt"]["state"].keys())),
        "pickle_globals": json.dumps(globals_seen),
        "zip_entries": json.dumps(entries),
        "storage_locations": json.dumps(loc_count),
        "torch_version": torch.__version__,
        "grad_norm": repr(float(gn)),
        "notes": ("official init (torch.manual_seed(0)), one step of loss_z + 0.5 loss_proj + 0.03 loss_cls "
                  "with clip 1.0 + AdamW(1e-4) + EMA 0.9999. args mirror train.py's Namespace (declaration "
                  "order); args.model is a placeholder name, the real architecture is `config`. opt.state is "
                  "keyed by the index in model.parameters() (pos_embed = index 0 has no state: it never gets "
                  "a gradient). state_dicts are OrderedDicts carrying a `_metadata` attribute (BUILD opcode)."),
    }
    side_path = os.path.join(OUT, "official_small_expected.safetensors")
    save_file(side, side_path, meta)
    print(f"{path}: {os.path.getsize(path)} bytes, entries {len(entries)}, locations {loc_count}")
    print("globals:", globals_seen)
    print(f"{side_path}: {len(side)} tensors")


if __name__ == "__main__":
    main()
