"""A hand-placed nuScenes-format database for tests: every object's position is chosen here.

Objects are placed in the ego frame (x forward, y left, z up) at each keyframe, so the tests know
which ones are in front of CAM_FRONT, behind it, straddling its image plane or off to the side.
The devkit (`NuScenes(version, dataroot)`) loads it unchanged.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from pyquaternion import Quaternion

VERSION = "v1.0-minidb"
K_FRONT = [[1266.417203046554, 0.0, 816.2670197447984], [0.0, 1266.417203046554, 491.50706579294757], [0.0, 0.0, 1.0]]
# real nuScenes CAM_FRONT extrinsics (n015 log)
CAMS = {
    "CAM_FRONT": ([1.70079118954, 0.0159456324149, 1.51095763913],
                  [0.4998015430569128, -0.5030316162024876, 0.4997798114386805, -0.49717354303768433]),
    "CAM_BACK": ([-1.0, 0.0, 1.5],
                 list(Quaternion(matrix=np.array([[0.0, 0, -1], [1, 0, 0], [0, -1, 0]])).elements)),
}
# name -> (category, ego-frame centre, size w,l,h, yaw in ego frame, visibility token)
OBJECTS = {
    "car_ahead": ("vehicle.car", (15.0, 2.0, 0.8), (1.9, 4.5, 1.6), 0.3, "4"),
    "ped_right_edge": ("human.pedestrian.adult", (10.0, -5.0, 0.9), (0.6, 0.7, 1.8), 0.0, "2"),
    "truck_behind": ("vehicle.truck", (-10.0, 0.0, 1.5), (2.5, 8.0, 3.0), 0.0, "4"),
    "car_straddling": ("vehicle.car", (1.7, 1.0, 0.8), (1.9, 4.5, 1.6), 0.0, "3"),
    "dog": ("animal", (12.0, 0.0, 0.3), (0.3, 0.8, 0.5), 0.0, "4"),
    "child_low_vis": ("human.pedestrian.child", (20.0, -1.0, 0.6), (0.5, 0.5, 1.2), 0.0, "1"),
    "bus_far_left": ("vehicle.bus.rigid", (5.0, 40.0, 1.5), (2.9, 12.0, 3.5), 0.0, "4"),
    "bicycle_far": ("vehicle.bicycle", (200.0, 0.0, 0.6), (0.6, 1.7, 1.2), 0.0, "4"),
}
CATEGORIES = sorted({o[0] for o in OBJECTS.values()})


def _yaw_q(yaw: float) -> list[float]:
    return [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]


def instance_token(scene: int, name: str) -> str:
    return f"inst-{scene}-{name}"


def write_min_db(root: Path, scenes: int = 3, keyframes: int = 3, sweeps: bool = False,
                 version: str = VERSION, splits: dict | None = None) -> Path:
    """Write the database to ``root`` (tables in ``root/version``) and ``root/splits.json``."""
    root = Path(root)
    t = {name: [] for name in ("category", "attribute", "visibility", "instance", "sensor", "calibrated_sensor",
                               "ego_pose", "log", "scene", "sample", "sample_data", "sample_annotation", "map")}
    t["category"] = [{"token": f"cat-{c}", "name": c, "description": ""} for c in CATEGORIES]
    t["visibility"] = [{"token": str(i), "level": lvl, "description": ""}
                       for i, lvl in enumerate(("v0-40", "v40-60", "v60-80", "v80-100"), 1)]
    for cam, (trans, rot) in CAMS.items():
        t["sensor"].append({"token": f"sensor-{cam}", "channel": cam, "modality": "camera"})
        t["calibrated_sensor"].append({"token": f"cs-{cam}", "sensor_token": f"sensor-{cam}", "translation": trans,
                                       "rotation": rot, "camera_intrinsic": K_FRONT})
    t["log"] = [{"token": "log-0", "logfile": "log-0", "vehicle": "v", "date_captured": "2020-01-01",
                 "location": "singapore-onenorth"}]
    t["map"] = [{"token": "map-0", "log_tokens": ["log-0"], "category": "semantic_prior", "filename": "maps/m.png"}]
    ts0 = 1_600_000_000_000_000
    for s in range(scenes):
        sample_tokens = [f"s{s}-k{k}" for k in range(keyframes)]
        t["scene"].append({"token": f"scene-tok-{s}", "name": f"scene-{s:04d}", "description": "", "log_token": "log-0",
                           "nbr_samples": keyframes, "first_sample_token": sample_tokens[0],
                           "last_sample_token": sample_tokens[-1]})
        ann_tokens = {name: [f"ann-{s}-{name}-{k}" for k in range(keyframes)] for name in OBJECTS}
        for name, (cat, *_rest) in OBJECTS.items():
            t["instance"].append({"token": instance_token(s, name), "category_token": f"cat-{cat}",
                                  "nbr_annotations": keyframes, "first_annotation_token": ann_tokens[name][0],
                                  "last_annotation_token": ann_tokens[name][-1]})
        sd_chain = {cam: [] for cam in CAMS}
        for k, tok in enumerate(sample_tokens):
            ts = ts0 + s * 100_000_000 + k * 500_000
            t["sample"].append({"token": tok, "timestamp": ts, "scene_token": f"scene-tok-{s}",
                                "prev": sample_tokens[k - 1] if k else "",
                                "next": sample_tokens[k + 1] if k + 1 < keyframes else ""})
            yaw = math.radians(30 + 2 * k + 10 * s)
            ego_t = np.array([100.0 + 3 * k * math.cos(yaw), 200.0 + 3 * k * math.sin(yaw), 0.0])
            ego_r = Quaternion(_yaw_q(yaw))
            for cam in CAMS:
                stamps = [(ts, True)] + ([(ts + 250_000, False)] if sweeps and k + 1 < keyframes else [])
                for j, (sts, key) in enumerate(stamps):
                    sd_tok = f"sd-{s}-{k}-{j}-{cam}"
                    t["ego_pose"].append({"token": f"ep-{sd_tok}", "timestamp": sts,
                                          "translation": list(ego_t + [0.1 * j, 0, 0]), "rotation": list(ego_r.elements)})
                    sd_chain[cam].append({
                        "token": sd_tok, "sample_token": tok if key else sample_tokens[k + 1],
                        "ego_pose_token": f"ep-{sd_tok}", "calibrated_sensor_token": f"cs-{cam}",
                        "filename": f"{'samples' if key else 'sweeps'}/{cam}/{sd_tok}.jpg", "fileformat": "jpg",
                        "width": 1600, "height": 900, "timestamp": sts, "is_key_frame": key})
            for name, (_cat, centre, size, yaw_obj, vis) in OBJECTS.items():
                drift = np.array([0.3 * k, 0.0, 0.0]) if name == "car_ahead" else np.zeros(3)
                glob = ego_r.rotate(np.array(centre) + drift) + ego_t
                t["sample_annotation"].append({
                    "token": ann_tokens[name][k], "sample_token": tok, "instance_token": instance_token(s, name),
                    "visibility_token": vis, "attribute_tokens": [], "translation": list(glob), "size": list(size),
                    "rotation": list((ego_r * Quaternion(_yaw_q(yaw_obj))).elements), "num_lidar_pts": 5,
                    "num_radar_pts": 0, "prev": ann_tokens[name][k - 1] if k else "",
                    "next": ann_tokens[name][k + 1] if k + 1 < keyframes else ""})
        for chain in sd_chain.values():
            for i, rec in enumerate(chain):
                rec["prev"] = chain[i - 1]["token"] if i else ""
                rec["next"] = chain[i + 1]["token"] if i + 1 < len(chain) else ""
            t["sample_data"].extend(chain)
    table_root = root / version
    table_root.mkdir(parents=True, exist_ok=True)
    for name, records in t.items():
        (table_root / f"{name}.json").write_text(json.dumps(records))
    (root / "maps").mkdir(exist_ok=True)
    (root / "maps" / "m.png").write_bytes(b"")
    names = [f"scene-{s:04d}" for s in range(scenes)]
    if splits is None:
        splits = {"train": names[:1], "val": names[1:2], "tune": names[2:3]}
    (root / "splits.json").write_text(json.dumps(splits))
    return root
