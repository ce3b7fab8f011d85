"""3D annotation boxes (nuScenes global frame) -> 2D image boxes of one camera.

The devkit's ``export_2d_annotations_as_json`` recipe, vectorised: corners to the camera, the ones
in front projected, their convex hull clipped to the image. The steps and how a box straddling the
camera plane is kept: docs/data.md, "From 3D boxes to image boxes".
"""
from __future__ import annotations

import numpy as np

# all 8 sign combinations of (length, width, height) half-extents
_SIGNS = np.array([[sx, sy, sz] for sx in (1, -1) for sy in (1, -1) for sz in (1, -1)], dtype=np.float64)


def quaternion_matrix(q) -> np.ndarray:
    """Rotation matrix of a ``w, x, y, z`` quaternion (normalised first)."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def box_corners(translation, size, rotation) -> np.ndarray:
    """(8, 3) corners of one box; ``size`` is nuScenes ``w, l, h``."""
    w, l, h = (float(v) for v in size)
    local = _SIGNS * np.array([l / 2, w / 2, h / 2])
    return local @ quaternion_matrix(rotation).T + np.asarray(translation, dtype=np.float64)


def global_to_camera(points: np.ndarray, ego_pose: dict, calibrated_sensor: dict) -> np.ndarray:
    """(..., 3) global points -> camera frame, via the ego pose then the calibrated sensor."""
    r_ego = quaternion_matrix(ego_pose["rotation"])
    r_cam = quaternion_matrix(calibrated_sensor["rotation"])
    ego = (points - np.asarray(ego_pose["translation"], dtype=np.float64)) @ r_ego
    return (ego - np.asarray(calibrated_sensor["translation"], dtype=np.float64)) @ r_cam


def clip_hull_to_image(points_2d: np.ndarray, width: int, height: int) -> tuple[float, float, float, float] | None:
    """Bounds of (convex hull of the points) ∩ image, or None when empty or of zero area."""
    pts = np.asarray(points_2d, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return None
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    if x1 >= 0 and y1 >= 0 and x2 <= width and y2 <= height:
        # wholly inside: the hull's bounds are the points' bounds (no need for shapely)
        bounds = (x1, y1, x2, y2)
    elif x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        return None
    else:
        from shapely.geometry import MultiPoint, box

        inter = MultiPoint([tuple(p) for p in pts]).convex_hull.intersection(box(0, 0, width, height))
        if inter.is_empty:
            return None
        bounds = inter.bounds
    x1, y1, x2, y2 = (float(v) for v in bounds)
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        return None
    return x1, y1, x2, y2


def project_corners(corners_cam: np.ndarray, intrinsic) -> np.ndarray:
    """(K, 3) camera-frame points with z > 0 -> (K, 2) pixels."""
    k = np.asarray(intrinsic, dtype=np.float64)
    uvw = corners_cam @ k.T
    return uvw[:, :2] / uvw[:, 2:3]


def project_box(corners_global: np.ndarray, ego_pose: dict, calibrated_sensor: dict,
                width: int, height: int) -> tuple[float, float, float, float] | None:
    """The 2D box ``x1, y1, x2, y2`` of one 3D box (8 global corners) in one camera, or None."""
    cam = global_to_camera(np.asarray(corners_global, dtype=np.float64), ego_pose, calibrated_sensor)
    front = cam[cam[:, 2] > 0]
    if len(front) == 0:
        return None
    return clip_hull_to_image(project_corners(front, calibrated_sensor["camera_intrinsic"]), width, height)
