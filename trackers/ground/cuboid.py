"""A track's image box drawn the way the ground truth's is: its object as a cuboid on the ground.

nuScenes' 2D boxes (and the synthetic data's, :mod:`detbench.data.projection`) come from the 3D
box: its 8 corners to the camera, those in front of it (depth > 0) projected, the convex hull
of the projections intersected with the image, the bounds of that. For a far object the box is
about its physical size re-projected at its contact (:func:`trackers.ground.measure.project_tracks`);
for a near one seen obliquely, cut by an image edge, or straddling the camera's plane (beside
the ego vehicle: a corner just in front of the plane projects far outside the image, and the box
jumps to the image's edges) it is not. :func:`cuboid_boxes` draws a track's box by the same rule
from a cuboid standing where the track is: footprint centre at the tracked contact (a centre set
back along the ray by the nearest corner's depth fitted the next box worse at the image's edges
and was not taken: benchmarks/README.md, "Calibrated motion", step 8), the class's length and
width, the track's own height (:func:`object_dims`), its yaw (:func:`track_yaws`).
"""
from __future__ import annotations

import numpy as np

from detbench.core.geometry import CLASS_HEIGHT_M, GROUND_Z, Camera
from trackers.ground.measure import CLASS_LENGTH_M

#: typical object width per class (m; car, truck, bus, trailer, pedestrian, motorcycle, bicycle),
#: nuScenes' mean box widths (the source of ``measure.CLASS_LENGTH_M`` and ``geometry.CLASS_HEIGHT_M``)
CLASS_WIDTH_M = (1.95, 2.51, 2.94, 2.90, 0.67, 0.77, 0.60)
#: a track moves (its yaw follows its velocity) above this speed and twice its speed's spread (m/s)
MOVING_MS = 1.0
#: corners nearer the camera's plane than this (m) are projected as if this far: the same side of
#: the plane as the devkit's ``depth > 0``, without overflowing to infinity
MIN_FRONT_DEPTH = 1e-9

# the 8 corners of a cuboid in its own axes: (+-1 half length, +-1 half width, 0 or 1 height)
_UNIT = np.array([[sx, sy, sz] for sx in (1.0, -1.0) for sy in (1.0, -1.0) for sz in (0.0, 1.0)])
# every pair of two of the 8 corners (numpy takes longer to list them than to clip a frame's boxes)
_PAIRS = np.triu_indices(len(_UNIT), 1)


def cuboid_pixels(camera: Camera, centre: np.ndarray, base_z: np.ndarray, yaw: np.ndarray,
                  dims: np.ndarray) -> np.ndarray:
    """(T, 8, 3) homogeneous pixels ``(u d, v d, d)`` (``d``: depth along the optical axis) of the
    corners of cuboids with footprint centres ``centre`` (T, 2), bases ``base_z`` (T,) above the
    ground plane, ``yaw`` (T,; radians from the global x axis, along the length) and ``dims``
    (T, 3) length, width, height (m): the projection is linear in the corners, so the base
    centre and the three half-axes are projected once and combined."""
    m = camera.intrinsics @ camera.cam2global[:3, :3].T            # global direction -> (u d, v d, d)
    base = (np.column_stack([centre, GROUND_Z + base_z]) - camera.centre) @ m.T
    c, s = np.cos(yaw), np.sin(yaw)
    axes = np.stack([np.column_stack([c, s]) * (dims[:, 0:1] / 2), np.column_stack([-s, c]) * (dims[:, 1:2] / 2)],
                    axis=1) @ m[:, :2].T                            # (T, 2, 3): half length, half width
    axes = np.concatenate([axes, dims[:, 2, None, None] * m[:, 2]], axis=1)  # and the height
    return base[:, None, :] + _UNIT @ axes


def image_boxes(camera: Camera, pixels: np.ndarray) -> np.ndarray:
    """(T, 4) xyxy boxes of corner sets given as homogeneous pixels ``pixels`` (T, K, 3; the
    third value the depth) by the devkit's 2D-box rule (``export_2d_annotations_as_json``: the
    corners with depth > 0 projected, the convex hull intersected with the image, its bounds);
    NaN where no corner is in front, the hull misses the image or the intersection has no area."""
    if not len(pixels):
        return np.zeros((0, 4))
    depth = pixels[..., 2]
    front = depth > 0
    uv = pixels[..., :2] / np.maximum(depth, MIN_FRONT_DEPTH)[..., None]
    size = np.array([camera.width, camera.height], dtype=np.float64)
    lo = np.where(front[..., None], uv, np.inf).min(axis=1)
    hi = np.where(front[..., None], uv, -np.inf).max(axis=1)
    out = np.concatenate([lo, hi], axis=1)
    miss = (hi <= 0).any(axis=1) | (lo >= size).any(axis=1)       # also: no corner in front (inf)
    cut = np.flatnonzero(~miss & ~((lo >= 0).all(axis=1) & (hi <= size).all(axis=1)))
    if len(cut):
        out[cut] = clipped_hull_bounds(uv[cut], front[cut], size[0], size[1])
    out[miss] = np.nan
    out[~((out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1]))] = np.nan
    return out


def clipped_hull_bounds(uv: np.ndarray, ok: np.ndarray, w: float, h: float) -> np.ndarray:
    """(N, 4) bounds of the convex hull of points ``uv[n][ok[n]]`` ((N, K, 2), (N, K)) intersected
    with the image ``[0, w] x [0, h]`` (NaN where empty). For a convex set the x range of its part
    in the image is the x range of its part in the band ``0 <= v <= h``, clipped to ``[0, w]``;
    that part's extremes lie at hull vertices in the band or where hull edges cross ``v = 0`` or
    ``v = h``, and every segment between two points lies in the hull, so the vertices in the band
    and the crossings of all point pairs with the band's lines give it. Likewise for y."""
    i, j = _PAIRS if uv.shape[1] == len(_UNIT) else np.triu_indices(uv.shape[1], 1)
    a, d = uv[:, i], uv[:, j] - uv[:, i]                                   # (N, pairs, 2): segments
    # the band coordinate first: [..., 0] is v (its lines 0 and h give the u range), [..., 1] is u
    lines = np.array([[0.0, h], [0.0, w]])
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (lines - a[..., ::-1, None]) / d[..., ::-1, None]               # (N, pairs, 2 axes, 2 lines)
    cross = (ok[:, i] & ok[:, j])[..., None, None] & (t >= 0) & (t <= 1)
    value = a[..., None] + t * d[..., None]                                # on the other axis: u, then v
    band = uv[..., ::-1]
    in_band = ok[..., None] & (band >= 0) & (band <= np.array([h, w]))     # (N, K, 2)
    lo = np.minimum(np.where(in_band, uv, np.inf).min(axis=1), np.where(cross, value, np.inf).min(axis=(1, 3)))
    hi = np.maximum(np.where(in_band, uv, -np.inf).max(axis=1), np.where(cross, value, -np.inf).max(axis=(1, 3)))
    out = np.concatenate([np.fmax(lo, 0.0), np.fmin(hi, [w, h])], axis=1)
    out[~np.isfinite(out)] = np.nan
    return out


def cuboid_boxes(camera: Camera, centre: np.ndarray, base_z: np.ndarray, yaw: np.ndarray,
                 dims: np.ndarray) -> np.ndarray:
    """(T, 4) image boxes (xyxy, NaN: none) of cuboids with footprint centres ``centre`` (T, 2),
    standing ``base_z`` (T,) above the plane, yawed ``yaw`` (T,), of ``dims`` (T, 3) length,
    width, height: :func:`cuboid_pixels` then :func:`image_boxes`."""
    return image_boxes(camera, cuboid_pixels(camera, centre, base_z, yaw, dims))


def track_yaws(x: np.ndarray, p: np.ndarray, yaw: np.ndarray, heading: float) -> np.ndarray:
    """(T,) the yaws of tracks in Kalman states ``x`` (T, 4), ``p`` (T, 4, 4) with last yaws
    ``yaw`` (T,; NaN: none): the velocity's heading where a track moves (faster than
    :data:`MOVING_MS` and twice its speed's spread), else its last yaw, else the ego vehicle's
    ``heading`` (NaN where none is known)."""
    v = x[:, 2:4]
    speed = np.hypot(v[:, 0], v[:, 1])
    moving = speed > np.maximum(MOVING_MS, 2.0 * np.sqrt((p[:, 2, 2] + p[:, 3, 3]) / 2))
    return np.where(moving, np.arctan2(v[:, 1], v[:, 0]), np.where(np.isfinite(yaw), yaw, heading))


def object_dims(classes: np.ndarray, height: np.ndarray, log_height: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """(T, 3) length, width, height (m) of tracked objects of ``classes`` (T,): the class's length
    and width; the height the track's mean log height ``log_height`` where it has ``heights`` > 0
    measurements, else its last ``height`` (NaN: none), else the class's."""
    cls = np.clip(np.asarray(classes, dtype=np.int64), 0, len(CLASS_WIDTH_M) - 1)
    h = np.where(np.isfinite(height), height, np.asarray(CLASS_HEIGHT_M)[cls])
    h = np.where(heights > 0, np.exp(log_height), h)
    return np.stack([np.asarray(CLASS_LENGTH_M)[cls], np.asarray(CLASS_WIDTH_M)[cls], h], axis=1)
