"""A frame's camera, and a pair of frames' cameras, on Python floats (``cmc=pose``'s per-box work).

A tracker frame moves a handful of boxes, and numpy's fixed cost per call (about a microsecond)
is most of what a 3x3 product costs; so the matrices a box's move needs are worked out once per
camera (and per pair of cameras) as tuples of Python floats, and each box is moved with plain
float arithmetic (:mod:`detbench.core.image_motion`). The values are those of
:class:`detbench.core.geometry.Camera`'s numpy products up to rounding (the products are summed
in another order: the last bits may differ; tests/test_pose_camera.py compares them to 1e-12).
"""
from __future__ import annotations

import math

import numpy as np

from detbench.core.geometry import GROUND_Z, Camera, _as_matrix, _is_rotation, camera_of
from detbench.core.memo import ContentMemo

Matrix3 = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]


def inverse3(m) -> Matrix3:
    """The inverse of a 3x3 matrix (nested sequences of floats) by its adjugate; a singular matrix
    gives non-finite entries (as the ground homography of a camera on the plane)."""
    (a, b, c), (d, e, f), (g, h, k) = m
    co = (e * k - f * h, f * g - d * k, d * h - e * g)  # cofactors of the first row
    det = a * co[0] + b * co[1] + c * co[2]
    inv = 1.0 / det if det else math.inf
    return ((co[0] * inv, (c * h - b * k) * inv, (b * f - c * e) * inv),
            (co[1] * inv, (a * k - c * g) * inv, (c * d - a * f) * inv),
            (co[2] * inv, (b * g - a * h) * inv, (a * e - b * d) * inv))


def product3(a, b) -> Matrix3:
    """a @ b of two 3x3 matrices (nested sequences of floats)."""
    (a00, a01, a02), (a10, a11, a12), (a20, a21, a22) = a
    (b00, b01, b02), (b10, b11, b12), (b20, b21, b22) = b
    return ((a00 * b00 + a01 * b10 + a02 * b20, a00 * b01 + a01 * b11 + a02 * b21, a00 * b02 + a01 * b12 + a02 * b22),
            (a10 * b00 + a11 * b10 + a12 * b20, a10 * b01 + a11 * b11 + a12 * b21, a10 * b02 + a11 * b12 + a12 * b22),
            (a20 * b00 + a21 * b10 + a22 * b20, a20 * b01 + a21 * b11 + a22 * b21, a20 * b02 + a21 * b12 + a22 * b22))


#: K^-1 by the bytes of K: a sequence's intrinsics never change, and every frame builds a camera
_K_INVERSES = ContentMemo(256)


def _inverse_intrinsics(k_bytes: bytes, k: list) -> Matrix3:
    """K^-1 of ``k`` (whose bytes are ``k_bytes``); ValueError, as :class:`Camera`, when K is singular."""
    inverse = _K_INVERSES.get(k_bytes)
    if inverse is None:
        (a, b, c), (d, e, f), (g, h, m) = k
        if abs(a * (e * m - f * h) - b * (d * m - f * g) + c * (d * h - e * g)) < 1e-9:
            raise ValueError("intrinsics are singular")
        inverse = _K_INVERSES.keep(k_bytes, inverse3(k))
    return inverse


class FloatCamera:
    """One frame's camera (:class:`detbench.core.geometry.Camera`'s checks and meaning) as floats:
    ``rays`` = R K^-1 (a homogeneous pixel -> its ray's direction in the global frame),
    ``ground`` = the ground homography ((x, y, 1) on z = GROUND_Z -> homogeneous pixel, w the
    depth), ``centre`` (x, y, z), ``k`` and ``r`` (K and the camera -> global rotation), ``key``
    its content (the calibration's bytes and the image size). ``camera`` is the numpy :class:`Camera` of the same
    calibration, built when first asked for."""

    __slots__ = ("width", "height", "key", "k", "pose", "r", "centre", "rays", "ground", "_camera")

    def __init__(self, k: list, pose: list, width: int, height: int, key: tuple):
        """``k`` (3x3) and ``pose`` (4x4): nested lists of finite floats (:func:`float_camera` checks)."""
        r = (pose[0][:3], pose[1][:3], pose[2][:3])
        if not _is_rotation(r):
            raise ValueError("cam2global's 3x3 block is not a rotation")
        k_inverse = _inverse_intrinsics(key[0], k)
        cx, cy, cz = centre = (pose[0][3], pose[1][3], pose[2][3])
        (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = r
        # [R^T | -R^T c]'s columns for x, y and 1 of a ground point (z = GROUND_Z folded into the last)
        ground_cols = ((r00, r10, GROUND_Z * r20 - (r00 * cx + r10 * cy + r20 * cz)),
                       (r01, r11, GROUND_Z * r21 - (r01 * cx + r11 * cy + r21 * cz)),
                       (r02, r12, GROUND_Z * r22 - (r02 * cx + r12 * cy + r22 * cz)))
        self.width, self.height, self.key = width, height, key
        self.k, self.pose, self.r, self.centre = k, pose, r, centre
        self.rays = product3(r, k_inverse)
        self.ground = product3(k, ground_cols)
        self._camera = None

    @property
    def camera(self) -> Camera:
        if self._camera is None:
            self._camera = camera_of(self.k, self.pose, self.width, self.height)
        return self._camera


class FloatPair:
    """What moving a box from ``cam_from`` to ``cam_to`` needs, worked out once per pair: both
    ground homographies, the ground-image homography G_to G_from^-1 (``ground``) and, when a box
    off the ground first asks for it, the rotation-only homography K_to R_to^T R_from K_from^-1
    (``rotation``)."""

    __slots__ = ("cam_from", "cam_to", "ground", "_rotation", "_arrays")

    def __init__(self, cam_from: FloatCamera, cam_to: FloatCamera):
        self.cam_from, self.cam_to = cam_from, cam_to
        self.ground = product3(cam_to.ground, inverse3(cam_from.ground))
        self._rotation = self._arrays = None

    @property
    def rotation(self) -> Matrix3:
        if self._rotation is None:
            r_to_t = tuple(zip(*self.cam_to.r))
            self._rotation = product3(self.cam_to.k, product3(r_to_t, self.cam_from.rays))
        return self._rotation


_CAMERAS = ContentMemo(8192)
_PAIRS = ContentMemo(8192)


def float_camera(intrinsics, cam2global, width: int = 1600, height: int = 900) -> FloatCamera:
    """The :class:`FloatCamera` of this calibration, one per content (a tuning grid tracks the same
    frames many times); ValueError, as :class:`Camera`, for a calibration that is not one."""
    k = intrinsics if type(intrinsics) is np.ndarray and intrinsics.dtype == np.float64 \
        else np.asarray(intrinsics, dtype=np.float64)
    t = cam2global if type(cam2global) is np.ndarray and cam2global.dtype == np.float64 \
        else np.asarray(cam2global, dtype=np.float64)
    key = (k.tobytes(), t.tobytes(), width, height)   # the bytes are a copy: later changes to the arrays change nothing
    camera = _CAMERAS.get((key, k.shape, t.shape))
    if camera is None:
        k_rows = k.tolist() if k.shape == (3, 3) else None
        pose = t.tolist() if t.shape == (4, 4) else None
        if k_rows is None or pose is None or not _finite(k_rows + pose):
            _as_matrix(k, (3, 3), "intrinsics"), _as_matrix(t, (4, 4), "cam2global")  # their message
        camera = _CAMERAS.keep((key, k.shape, t.shape), FloatCamera(k_rows, pose, width, height, key))
    return camera


def _finite(rows: list) -> bool:
    """Whether every float of ``rows`` (lists of floats) is finite: one sum decides unless it overflows."""
    total = sum(map(sum, rows))
    return total - total == 0.0 or all(math.isfinite(v) for row in rows for v in row)


def as_float_camera(camera: Camera | FloatCamera) -> FloatCamera:
    """``camera`` itself, or the :class:`FloatCamera` of a numpy :class:`Camera`."""
    if isinstance(camera, FloatCamera):
        return camera
    return float_camera(camera.intrinsics, camera.cam2global, camera.width, camera.height)


def float_pair(cam_from: FloatCamera, cam_to: FloatCamera) -> FloatPair:
    """The :class:`FloatPair` of two cameras, one per pair of contents."""
    key = (cam_from.key, cam_to.key)
    pair = _PAIRS.get(key)
    if pair is None:
        pair = _PAIRS.keep(key, FloatPair(cam_from, cam_to))
    return pair


def forget_float_cameras() -> None:
    """Drop the cameras and pairs remembered by content (K^-1 per intrinsics stays, as geometry's)."""
    _CAMERAS.clear()
    _PAIRS.clear()
