#!/usr/bin/env python3
"""Converts the official LPIPS weights into the safetensors file the reward verifier loads.

The reward library (libs/reward/lpips.h) never downloads anything and never falls back to a random
network: the user supplies the weights once, converted by this script on any machine that has
PyTorch. Nothing here runs in CI.

Inputs (both are the files the `lpips` and `torchvision` packages use):
  --lpips     the LPIPS v0.1 linear-layer weights, e.g. lpips/weights/v0.1/vgg.pth or alex.pth from
              https://github.com/richzhang/PerceptualSimilarity (keys "lin0.model.1.weight" ...).
              A full `lpips.LPIPS(...).state_dict()` saved with torch.save also works; it contains
              the backbone too ("net.slice1.0.weight" ...), and then --backbone is optional.
  --backbone  torchvision ImageNet weights: vgg16-397923af.pth or alexnet-owt-7be5be79.pth
              (keys "features.0.weight" ...; the classifier is ignored). If you have torchvision,
              `torchvision.models.vgg16(weights="IMAGENET1K_V1").state_dict()` saved with
              torch.save is the same thing.

Output: float32 safetensors with exactly these tensors (what LoadLpipsNetwork requires):
  VGG16:   net.features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.{weight,bias}
  AlexNet: net.features.{0,3,6,8,10}.{weight,bias}
  both:    lin{0..4}.weight, shape [1, C, 1, 1], non-negative
and metadata {"format": "vlarft-lpips", "lpips_version": "0.1", "backbone": "vgg16"|"alexnet"}.

Example:
  python3 tools/convert_lpips_weights.py --net vgg \\
      --lpips ~/PerceptualSimilarity/lpips/weights/v0.1/vgg.pth \\
      --backbone ~/.cache/torch/hub/checkpoints/vgg16-397923af.pth \\
      --out checkpoints/lpips_vgg.safetensors
then set `reward.scoring.perceptual: lpips-vgg` and `reward.scoring.lpips_weights: checkpoints/lpips_vgg.safetensors`
(with `vlarft study reward`: `--distances [lpips-vgg] --lpips_weights ...`).
"""

import argparse
import json
import os
import re
import struct
import sys

# (torchvision features index, in channels, out channels, kernel) of every conv up to the last tap.
CONVS = {
    "vgg": [(0, 3, 64, 3), (2, 64, 64, 3), (5, 64, 128, 3), (7, 128, 128, 3), (10, 128, 256, 3),
            (12, 256, 256, 3), (14, 256, 256, 3), (17, 256, 512, 3), (19, 512, 512, 3),
            (21, 512, 512, 3), (24, 512, 512, 3), (26, 512, 512, 3), (28, 512, 512, 3)],
    "alex": [(0, 3, 64, 11), (3, 64, 192, 5), (6, 192, 384, 3), (8, 384, 256, 3),
             (10, 256, 256, 3)],
}
TAP_CHANNELS = {"vgg": [64, 128, 256, 512, 512], "alex": [64, 192, 384, 256, 256]}
BACKBONE_NAME = {"vgg": "vgg16", "alex": "alexnet"}


def load_state_dict(path):
    import torch  # only needed here, so --help works without PyTorch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # PyTorch < 1.13 has no weights_only
        obj = torch.load(path, map_location="cpu")
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        sys.exit(f"{path}: expected a state dict, got {type(obj).__name__}")
    # Strip DataParallel prefixes.
    return {re.sub(r"^module\.", "", k): v for k, v in obj.items()}


def expected_shapes(net):
    shapes = {}
    for index, cin, cout, k in CONVS[net]:
        shapes[f"net.features.{index}.weight"] = (cout, cin, k, k)
        shapes[f"net.features.{index}.bias"] = (cout,)
    for i, c in enumerate(TAP_CHANNELS[net]):
        shapes[f"lin{i}.weight"] = (1, c, 1, 1)
    return shapes


def collect(net, lpips_sd, backbone_sd):
    """Maps the source keys to ours; returns {name: tensor}."""
    wanted = expected_shapes(net)
    out = {}
    for key, value in lpips_sd.items():
        m = re.fullmatch(r"lin(\d)\.model\.1\.weight", key) or re.fullmatch(r"lin(\d)\.weight", key)
        if m:
            out[f"lin{m.group(1)}.weight"] = value
            continue
        # A full LPIPS state dict keeps torchvision's indices inside its slices.
        m = re.fullmatch(r"net\.slice\d\.(\d+)\.(weight|bias)", key)
        if m:
            out[f"net.features.{m.group(1)}.{m.group(2)}"] = value
    if backbone_sd is not None:
        for key, value in backbone_sd.items():
            m = re.fullmatch(r"features\.(\d+)\.(weight|bias)", key)
            if m:
                name = f"net.features.{m.group(1)}.{m.group(2)}"
                if name in wanted:  # only the layers up to the last LPIPS tap
                    out[name] = value
    missing = sorted(set(wanted) - set(out))
    if missing:
        hint = "" if backbone_sd is not None else " (pass --backbone with the torchvision weights)"
        sys.exit(f"missing tensors{hint}: {', '.join(missing)}")
    result = {}
    for name, shape in wanted.items():
        tensor = out[name].detach().to("cpu").float().contiguous()
        if tuple(tensor.shape) != shape:
            sys.exit(f"{name}: shape {tuple(tensor.shape)}, expected {shape} "
                     f"(is --net {net} the right backbone for these files?)")
        if not bool(tensor.isfinite().all()):
            sys.exit(f"{name}: contains NaN or Inf")
        if name.startswith("lin") and float(tensor.min()) < 0:
            sys.exit(f"{name}: negative entries; LPIPS linear weights are non-negative "
                     "(is this the LPIPS v0.1 linear-layer file?)")
        result[name] = tensor
    return result


def tensor_bytes(tensor):
    try:
        return tensor.numpy().astype("<f4", copy=False).tobytes()
    except (ImportError, RuntimeError):  # PyTorch without NumPy
        values = tensor.reshape(-1).tolist()
        return struct.pack(f"<{len(values)}f", *values)


def write_safetensors(path, tensors, metadata):
    """tensors: {name: (shape tuple, little-endian float32 bytes)}. Atomic: temp file + rename."""
    header = {"__metadata__": metadata}
    offset = 0
    names = sorted(tensors)
    for name in names:
        shape, data = tensors[name]
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)  # the data section starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for name in names:
            f.write(tensors[name][1])
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--net", choices=["vgg", "alex"], required=True, help="LPIPS backbone")
    parser.add_argument("--lpips", required=True, help="LPIPS v0.1 linear weights (.pth), or a full LPIPS state dict")
    parser.add_argument("--backbone", help="torchvision vgg16/alexnet ImageNet weights (.pth)")
    parser.add_argument("--out", required=True, help="output .safetensors path")
    args = parser.parse_args(argv)

    lpips_sd = load_state_dict(args.lpips)
    backbone_sd = load_state_dict(args.backbone) if args.backbone else None
    tensors = collect(args.net, lpips_sd, backbone_sd)
    metadata = {
        "format": "vlarft-lpips",
        "lpips_version": "0.1",
        "backbone": BACKBONE_NAME[args.net],
        "source_lpips": os.path.basename(args.lpips),
        "source_backbone": os.path.basename(args.backbone) if args.backbone else "",
    }
    write_safetensors(args.out, {n: (tuple(t.shape), tensor_bytes(t)) for n, t in tensors.items()}, metadata)
    total = sum(t.numel() for t in tensors.values())
    print(f"wrote {args.out}: {len(tensors)} tensors, {total} parameters, backbone {BACKBONE_NAME[args.net]}")


if __name__ == "__main__":
    main()
