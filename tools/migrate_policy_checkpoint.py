#!/usr/bin/env python3
"""Rewrites a policy checkpoint from before the composed-module layout (2026-12-06) into the current one.

What changed (docs/architecture.md, "Models"): the encoder's vision stem became one module
(models::VisionStem, config `policy.encoder.stem: {channels, film, keypoints}`) and the subgoal head
became the heat-map localiser alone (`policy.subgoal_localiser: {channels, scene_channels}`); the
variants that lost (stem residual blocks, CoordConv stem, keypoint stage, linear and keypoint-MLP
subgoal heads, a head without conditioning) are gone. Weights are unchanged: only tensor names and
the sidecar's config move.

  <stem>.safetensors  encoder.patch_embed.*   -> encoder.stem.patch_embed.*
                      encoder.stem_convs.*    -> encoder.stem.convs.*
                      encoder.stem_film.*     -> encoder.stem.film.*
                      encoder.keypoint_maps.* -> encoder.stem.keypoint_maps.*
                      encoder.keypoint_proj.* -> encoder.stem.keypoint_proj.*
  <stem>.yaml         encoder.stem_channels / stem_film / stem_keypoints -> encoder.stem.{...}
                      subgoal_head + subgoal_conditioning + subgoal_heatmap (+ _scene)
                        -> subgoal_localiser.{channels, scene_channels}

A checkpoint that uses a removed variant is refused with the reason. Standard library only.

  python3 tools/migrate_policy_checkpoint.py checkpoints/tiny/policy_heatmap_15w [more stems...]
  python3 tools/migrate_policy_checkpoint.py --renamed-only OLD.safetensors NEW.safetensors
"""
import json
import os
import re
import struct
import sys

RENAMES = [
    ("encoder.patch_embed.", "encoder.stem.patch_embed."),
    ("encoder.stem_convs.", "encoder.stem.convs."),
    ("encoder.stem_film.", "encoder.stem.film."),
    ("encoder.keypoint_maps.", "encoder.stem.keypoint_maps."),
    ("encoder.keypoint_proj.", "encoder.stem.keypoint_proj."),
]


def new_name(name):
    for old, new in RENAMES:
        if name.startswith(old):
            return new + name[len(old):]
    return name


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    return header, blob[8 + header_len:]


def write_safetensors(path, header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    os.replace(path + ".tmp", path)


def migrate_weights(path):
    header, data = read_safetensors(path)
    renamed = {(k if k == "__metadata__" else new_name(k)): v for k, v in header.items()}
    if renamed == header:
        return False
    write_safetensors(path, renamed, data)
    return True


def scalar(lines, key):
    for line in lines:
        m = re.match(r"\s+" + re.escape(key) + r":\s*(\S+)\s*$", line)
        if m:
            return m.group(1)
    return None


def migrate_sidecar(path):
    with open(path) as f:
        lines = f.read().split("\n")
    if scalar(lines, "stem_channels") is None and scalar(lines, "subgoal_head") is None:
        return False
    def get(key, default):
        value = scalar(lines, key)
        return default if value is None else value
    refusals = []
    if int(get("stem_res_blocks", "0")) != 0:
        refusals.append("encoder.stem_res_blocks > 0")
    if get("stem_coords", "false") == "true":
        refusals.append("encoder.stem_coords")
    if int(get("stem_keypoint_stage", "-1")) != -1:
        refusals.append("encoder.stem_keypoint_stage != -1")
    head = get("subgoal_head", "false") == "true"
    conditioning = get("subgoal_conditioning", "false") == "true"
    heatmap = int(get("subgoal_heatmap", "0"))
    if int(get("subgoal_hidden", "0")) != 0:
        refusals.append("subgoal_hidden > 0 (keypoint-MLP subgoal head)")
    if head and heatmap == 0:
        refusals.append("a linear subgoal head (subgoal_head without subgoal_heatmap)")
    if head and not conditioning:
        refusals.append("a subgoal head the action heads do not condition on")
    if refusals:
        raise SystemExit(f"{path}: uses removed variants: {', '.join(refusals)}")
    out = []
    stem_written = False
    for line in lines:
        m = re.match(r"(\s+)(stem_channels|stem_film|stem_keypoints|stem_keypoint_stage|stem_res_blocks|stem_coords):", line)
        if m:
            if not stem_written:
                indent = m.group(1)
                out += [f"{indent}stem:",
                        f"{indent}  channels: {get('stem_channels', '0')}",
                        f"{indent}  film: {get('stem_film', 'false')}",
                        f"{indent}  keypoints: {get('stem_keypoints', '0')}"]
                stem_written = True
            continue
        m = re.match(r"(\s+)(subgoal_head|subgoal_conditioning|subgoal_hidden|subgoal_heatmap|subgoal_heatmap_scene):", line)
        if m:
            if m.group(2) == "subgoal_head":
                indent = m.group(1)
                out += [f"{indent}subgoal_localiser:",
                        f"{indent}  channels: {heatmap if head else 0}",
                        f"{indent}  scene_channels: {get('subgoal_heatmap_scene', '0') if head else 0}"]
            continue
        out.append(line)
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(out))
    os.replace(path + ".tmp", path)
    return True


def main(argv):
    if len(argv) == 3 and argv[0] == "--renamed-only":
        header, data = read_safetensors(argv[1])
        write_safetensors(argv[2], {(k if k == "__metadata__" else new_name(k)): v for k, v in header.items()}, data)
        return 0
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    for stem in argv:
        changed_yaml = migrate_sidecar(stem + ".yaml")
        changed_weights = migrate_weights(stem + ".safetensors")
        print(f"{stem}: sidecar {'migrated' if changed_yaml else 'already current'}, "
              f"weights {'renamed' if changed_weights else 'already current'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
