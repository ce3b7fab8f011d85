"""The nuScenes camera rig and the small amount of rotation maths the generator needs.

Calibration values are the six ``calibrated_sensor`` camera records of the public nuScenes
v1.0-mini log ``n015-2018-07-24-11-22-45+0800`` (scene-0061, the Renault Zoe used across
nuScenes), as printed by the devkit: translation (m, ego frame: x forward, y left, z up),
rotation (w, x, y, z) camera -> ego, and the 3x3 intrinsic matrix of the 1600x900 images.
"""
from __future__ import annotations

import numpy as np

IMAGE_W, IMAGE_H = 1600, 900

# channel -> (translation, rotation wxyz, intrinsic)
CAMERA_CALIBRATION: dict[str, tuple[tuple, tuple, tuple]] = {
    "CAM_FRONT": (
        (1.70079118954, 0.0159456324149, 1.51095763913),
        (0.4998015430569128, -0.5030316162024876, 0.4997798114386805, -0.49737083824542755),
        ((1266.417203046554, 0.0, 816.2670197447984), (0.0, 1266.417203046554, 491.50706579294757),
         (0.0, 0.0, 1.0))),
    "CAM_FRONT_RIGHT": (
        (1.5508477543, -0.493404796419, 1.49574800619),
        (0.2060347966337182, -0.2026940577919598, 0.6824507824531167, -0.6713610884174485),
        ((1260.8474446004698, 0.0, 807.968244525554), (0.0, 1260.8474446004698, 495.3344268742088),
         (0.0, 0.0, 1.0))),
    "CAM_BACK_RIGHT": (
        (1.0148780988, -0.480568219723, 1.56239545128),
        (0.12280980120078765, -0.132400842670559, -0.7004305821388234, 0.690496031265798),
        ((1259.5137405846733, 0.0, 807.2529053838625), (0.0, 1259.5137405846733, 501.19579884916527),
         (0.0, 0.0, 1.0))),
    "CAM_BACK": (
        (0.0283260309358, 0.00345136761476, 1.57910346144),
        (0.5037872666382278, -0.49740249788611096, -0.4941850223835201, 0.5045496097725578),
        ((809.2209905677063, 0.0, 829.2196003259838), (0.0, 809.2209905677063, 481.77842384512485),
         (0.0, 0.0, 1.0))),
    "CAM_BACK_LEFT": (
        (1.03569100218, 0.484795032713, 1.59097014818),
        (0.6924185592174665, -0.7031619420114925, -0.11648342771943819, 0.11203317912370753),
        ((1256.7414812095406, 0.0, 792.1125740759628), (0.0, 1256.7414812095406, 492.7757465151356),
         (0.0, 0.0, 1.0))),
    "CAM_FRONT_LEFT": (
        (1.52387798135, 0.494631336551, 1.50932822144),
        (0.6757265034669446, -0.6736266522251881, 0.21214015046209478, -0.21122827103904068),
        ((1272.5979470598488, 0.0, 826.6154927353808), (0.0, 1272.5979470598488, 479.75165386361925),
         (0.0, 0.0, 1.0))),
}
CAMERAS: tuple[str, ...] = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_BACK_RIGHT", "CAM_BACK",
                            "CAM_BACK_LEFT", "CAM_FRONT_LEFT")

# Microseconds after the sample (lidar) timestamp at which each camera fires; nuScenes cameras
# expose in turn as the lidar sweeps past them (spacing read off real v1.0-mini timestamps).
CAMERA_OFFSET_US: dict[str, int] = {
    "CAM_FRONT_LEFT": 2000, "CAM_FRONT": 9600, "CAM_FRONT_RIGHT": 17700,
    "CAM_BACK_RIGHT": 25300, "CAM_BACK": 34800, "CAM_BACK_LEFT": 44600,
}


def quat_to_matrix(q) -> np.ndarray:
    """Rotation matrix of a (w, x, y, z) quaternion (normalised first)."""
    w, x, y, z = np.asarray(q, dtype=float) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def yaw_quat(yaw: float) -> list[float]:
    """(w, x, y, z) of a rotation by ``yaw`` radians about +z."""
    return [float(np.cos(yaw / 2)), 0.0, 0.0, float(np.sin(yaw / 2))]


def pose_matrix(translation, rotation_wxyz) -> np.ndarray:
    """4x4 transform child -> parent from a translation and a (w, x, y, z) rotation."""
    m = np.eye(4)
    m[:3, :3] = quat_to_matrix(rotation_wxyz)
    m[:3, 3] = translation
    return m


def world_to_camera(ego_translation, ego_rotation, channel: str) -> np.ndarray:
    """4x4 global -> camera transform: inverse of (ego -> global) @ (camera -> ego)."""
    t, r, _ = CAMERA_CALIBRATION[channel]
    cam_to_world = pose_matrix(ego_translation, ego_rotation) @ pose_matrix(t, r)
    return np.linalg.inv(cam_to_world)


def intrinsic(channel: str) -> np.ndarray:
    return np.array(CAMERA_CALIBRATION[channel][2], dtype=float)
