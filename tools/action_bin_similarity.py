#!/usr/bin/env python3
"""How much a world model's action input knows that neighbouring action bins are near.

docs/world_model.md, "Action values": each action token enters the world model as its bin's row of
the embedding table, plus (with `action_features` > 0) a learned projection of Fourier features of
the bin centre (`action_values_only`: the projection alone). This prints the mean cosine similarity between the input embeddings of bins k apart,
for k = 1 ... 128: a model that learned the action as a quantity has neighbours far more alike than
distant bins; one that learned 256 unrelated symbols has the same similarity at every distance.

Usage: tools/action_bin_similarity.py STEM   (reads STEM.safetensors and STEM.yaml; stdlib only)
"""
import math
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from migrate_policy_checkpoint import read_safetensors, scalar  # noqa: E402  (the tools' shared readers)

FORMATS = {"F32": ("f", 4), "F16": ("e", 2)}


def matrix(header, data, path, name):
    """Rows of a 2-D F32/F16 tensor, or None if the file has no such tensor."""
    if name not in header:
        return None
    entry = header[name]
    if entry["dtype"] not in FORMATS:
        sys.exit(f"{path}: {name} is {entry['dtype']}; only F32 and F16 are read here")
    code, size = FORMATS[entry["dtype"]]
    start, end = entry["data_offsets"]
    values = struct.unpack(f"<{(end - start) // size}{code}", data[start:end])
    rows, cols = entry["shape"]
    return [values[r * cols:(r + 1) * cols] for r in range(rows)]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    stem = sys.argv[1]
    with open(stem + ".yaml") as f:
        sidecar = f.read().splitlines()
    codebook, bins = int(scalar(sidecar, "codebook_size")), int(scalar(sidecar, "action_bins"))
    octaves = int(scalar(sidecar, "action_features") or 0)
    values_only = scalar(sidecar, "action_values_only") == "true"
    header, data = read_safetensors(stem + ".safetensors")
    table = matrix(header, data, stem, "embed_tokens.weight")
    rows = [list(table[2 * codebook + b]) for b in range(bins)]
    projection = matrix(header, data, stem, "action_values.weight") if octaves else None
    if projection is not None:  # [dim, 1 + 2K]
        for b in range(bins):
            c = (b + 0.5) / bins * 2 - 1
            features = [c]
            for j in range(octaves):
                features += [math.sin(math.pi * 2**j * c), math.cos(math.pi * 2**j * c)]
            base = [0.0] * len(rows[b]) if values_only else rows[b]
            rows[b] = [x + sum(w * v for w, v in zip(weights, features)) for x, weights in zip(base, projection)]
    units = []
    for row in rows:
        norm = math.sqrt(sum(x * x for x in row))
        units.append([x / norm for x in row])
    print(f"{stem}: {bins} action bins, action_features {octaves}{', values only' if values_only else ''}")
    print("bins apart  mean cosine of their input embeddings")
    for lag in (1, 2, 4, 8, 16, 32, 64, 128):
        pairs = [sum(a * b for a, b in zip(units[i], units[i + lag])) for i in range(bins - lag)]
        print(f"{lag:10d}  {sum(pairs) / len(pairs):+.3f}")


if __name__ == "__main__":
    main()
