#!/usr/bin/env python3
"""Writes one demonstration file the way LIBERO's scripts/create_dataset.py writes it, with h5py.

Used by data_test (DemoDatasetTest.ReadsFilesWrittenByH5py) to check that the C++ reader loads what
LIBERO actually ships: every str attribute becomes a variable-length UTF-8 string, arrays are float64,
images are 128x128 uint8 stored in OpenGL's convention (bottom row first), and there are datasets the
reader must ignore. Exit 3 when h5py is not installed (the test then skips and says so).

  write_libero_h5py.py OUT.hdf5 [--no-ee-states]

Frame content (what the test asserts, in upright coordinates): agentview pixel (y, x, c) of step t =
(2*y + t) % 256 for c = 0, x % 256 for c = 1, 17 for c = 2; the wrist camera is 255 - agentview.
"""
import json
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # pragma: no cover
    print(f"write_libero_h5py: {e}", file=sys.stderr)
    sys.exit(3)


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    with_ee_states = "--no-ee-states" not in sys.argv[2:]
    steps, size = 3, 128
    y, x = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    upright = np.zeros((steps, size, size, 3), dtype=np.uint8)
    for t in range(steps):
        upright[t, :, :, 0] = (2 * y + t) % 256
        upright[t, :, :, 1] = x % 256
        upright[t, :, :, 2] = 17
    stored = upright[:, ::-1]  # "opengl": the renderer's bottom row comes first
    wrist = 255 - stored

    with h5py.File(path, "w") as f:
        grp = f.create_group("data")
        grp.attrs["env_name"] = "Libero_Kitchen_Tabletop_Manipulation"
        grp.attrs["problem_info"] = json.dumps({
            "problem_name": "libero_kitchen_tabletop_manipulation",
            "domain_name": "robosuite",
            "language_instruction": "open the top drawer of the cabinet",
        })
        grp.attrs["macros_image_convention"] = "opengl"
        grp.attrs["env_args"] = json.dumps({"type": 1, "env_name": "Libero_Kitchen_Tabletop_Manipulation",
                                            "env_kwargs": {"camera_heights": size, "camera_widths": size}})
        grp.attrs["bddl_file_name"] = "libero/bddl_files/libero_10/KITCHEN_SCENE3_open_the_top_drawer.bddl"
        # Not ASCII on purpose: h5py stores it as UTF-8 like every other str.
        grp.attrs["bddl_file_content"] = "(define (problem LIBERO_Kitchen) ; caf\u00e9 \u2192 drawer\n)"
        ep = grp.create_group("demo_0")
        obs = ep.create_group("obs")
        obs.create_dataset("agentview_rgb", data=stored)
        obs.create_dataset("eye_in_hand_rgb", data=wrist)
        pos = np.stack([np.array([0.1, 0.2, 0.3]) + 0.01 * t for t in range(steps)])
        ori = np.stack([np.array([3.1, 0.0, -0.1]) - 0.02 * t for t in range(steps)])
        if with_ee_states:
            obs.create_dataset("ee_states", data=np.hstack([pos, ori]))
        obs.create_dataset("ee_pos", data=pos)
        obs.create_dataset("ee_ori", data=ori)
        obs.create_dataset("gripper_states", data=np.stack([[0.04 - 0.01 * t, -0.04 + 0.01 * t] for t in range(steps)]))
        obs.create_dataset("joint_states", data=np.zeros((steps, 7)))
        actions = np.stack([np.array([0.1, -0.2, 0.3, 0.0, 0.0, 0.0, -1.0]) * (t + 1) for t in range(steps)])
        ep.create_dataset("actions", data=actions)
        ep.create_dataset("states", data=np.zeros((steps, 79)))
        ep.create_dataset("robot_states", data=np.zeros((steps, 9)))
        ep.create_dataset("rewards", data=np.array([0] * (steps - 1) + [1], dtype=np.uint8))
        ep.create_dataset("dones", data=np.array([0] * (steps - 1) + [1], dtype=np.uint8))
        ep.attrs["num_samples"] = steps
        ep.attrs["model_file"] = "<mujoco model=\"base\"></mujoco>"
        ep.attrs["init_state"] = np.zeros(79)
        grp.attrs["num_demos"] = 1
        grp.attrs["total"] = steps
    return 0


if __name__ == "__main__":
    sys.exit(main())
