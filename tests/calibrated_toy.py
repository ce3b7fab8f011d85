"""Calibrated toy sequences for the ground-plane TrackSSM tests: a pinhole camera over a flat
ground, objects projected by hand (without :mod:`detbench.core.geometry`), written as MOT
sequences with a frames.json holding every frame's intrinsics, cam2global and timestamp."""
from __future__ import annotations

import json

import numpy as np

from detbench.core.geometry import Camera
from detbench.data.mot import SeqInfo, write_mot, write_seqinfo

F, CX, CY, W, H = 1000.0, 800.0, 450.0, 1600, 900
K = np.array([[F, 0, CX], [0, F, CY], [0, 0, 1.0]])


def pose(x: float = 0.0, y: float = 0.0, yaw_deg: float = 0.0, height: float = 1.5) -> np.ndarray:
    """cam2global of a camera ``height`` m above the ground looking along +x turned by ``yaw``
    (camera x right = -y, camera y down = -z, optical axis +x)."""
    c, s = np.cos(np.deg2rad(yaw_deg)), np.sin(np.deg2rad(yaw_deg))
    t = np.eye(4)
    t[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.array([[0, 0, 1.0], [-1, 0, 0], [0, -1, 0]])
    t[:3, 3] = (x, y, height)
    return t


def pixels(cam2global: np.ndarray, points) -> np.ndarray:
    """Pinhole projection by hand: (N, 3) global points -> (N, 2) pixels."""
    p = (np.asarray(points, float) - cam2global[:3, 3]) @ cam2global[:3, :3]
    return np.stack([F * p[:, 0] / p[:, 2] + CX, F * p[:, 1] / p[:, 2] + CY], axis=1)


def billboard(cam2global, x, y, width=2.0, height=1.5) -> np.ndarray:
    """xyxy of an upright rectangle facing a camera that looks along +x, standing on (x, y)."""
    uv = pixels(cam2global, [[x, y + width / 2, 0], [x, y - width / 2, height]])
    return np.array([uv[0, 0], uv[1, 1], uv[1, 0], uv[0, 1]])


def cuboid(cam2global, x, y, length=4.0, width=1.8, height=1.5) -> np.ndarray:
    uv = pixels(cam2global, [[x + a * length / 2, y + b * width / 2, z]
                             for a in (-1, 1) for b in (-1, 1) for z in (0, height)])
    return np.array([*uv.min(0), *uv.max(0)])


def cams(poses) -> list[Camera]:
    return [Camera(K, p, W, H) for p in poses]


def write_calibrated_seq(root, name, tracks, stamps, poses, classes=None):
    """A MOT sequence with frames.json: ``tracks`` {id: [(frame, xyxy), ...]} in pixels."""
    d = root / name
    rows = [[f, tid, b[0], b[1], b[2] - b[0], b[3] - b[1], 1, (classes or {}).get(tid, 1), 1]
            for tid, obs in tracks.items() for f, b in obs]
    write_mot(d / "gt" / "gt.txt", np.array(rows, float))
    write_seqinfo(d / "seqinfo.ini", SeqInfo(name, 2.0, W, H, len(stamps)))
    frames = [{"frame": i + 1, "timestamp": int(1e6 * t), "intrinsics": K.tolist(), "cam2global": p.tolist()}
              for i, (t, p) in enumerate(zip(stamps, poses))]
    (d / "frames.json").write_text(json.dumps(frames))
    return d


def toy_scene(root, name="scene-a_CAM_FRONT", frames=9, seed=0):
    """A camera driving along +x with uneven keyframe gaps; four objects walking or parked."""
    rng = np.random.default_rng(seed)
    stamps = np.cumsum([0.0, *rng.uniform(0.45, 0.55, frames - 1)])
    poses = [pose(x=4 * t, yaw_deg=2 * np.sin(t)) for t in stamps]
    starts = [(30.0, 3.0, 2.0, -0.5), (40.0, -4.0, 8.0, 0.0), (45.0, -6.0, 0.0, 0.0), (50.0, 1.0, -5.0, 1.0)]
    tracks = {tid + 1: [(i + 1, cuboid(p, x + vx * t, y + vy * t)) for i, (t, p) in enumerate(zip(stamps, poses))]
              for tid, (x, y, vx, vy) in enumerate(starts)}
    return write_calibrated_seq(root, name, tracks, stamps, poses)
