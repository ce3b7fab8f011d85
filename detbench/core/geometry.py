"""Image <-> ground-plane geometry of a calibrated camera frame (vectorised numpy).

:class:`Camera` maps pixels to the ground and back; :func:`box_contacts` finds where a box touches
the ground; :func:`reproject_boxes` moves boxes between two frames' cameras. Invalid entries are NaN
with a False mask, never an exception. The cases a real frame has: docs/tracker-internals.md,
"Camera geometry".
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from detbench.core.memo import ContentMemo

#: height of the ground plane in the global frame (nuScenes ego poses have z = 0)
GROUND_Z = 0.0
#: typical object height per class (m), nuScenes' mean box heights: car, truck, bus, trailer,
#: pedestrian, motorcycle, bicycle; used only for boxes cut by the image's bottom edge
CLASS_HEIGHT_M = (1.73, 2.84, 3.47, 3.87, 1.77, 1.47, 1.28)
#: a box bottom this close to the image's bottom edge (px) counts as cut
EDGE_PX = 2.0
#: a ray must point down by at least this much (sine of the angle below the horizontal)
MIN_DEPRESSION = np.sin(np.deg2rad(0.25))
#: contact points farther than this from the camera (horizontally, m) are not trusted
MAX_RANGE_M = 150.0
#: points nearer than this along the optical axis (m) are not projected
MIN_DEPTH_M = 0.5
_CLASS_HEIGHTS = np.asarray(CLASS_HEIGHT_M)
#: the columns of a camera's world -> pixel matrix that act on (x, y, 1) of a ground point
_GROUND_COLUMNS = [0, 1, 3]


def _as_matrix(value, shape: tuple[int, int], name: str) -> np.ndarray:
    m = np.asarray(value, dtype=np.float64)
    if m.shape != shape or not np.isfinite(m).all():
        raise ValueError(f"{name} must be a finite {shape[0]}x{shape[1]} matrix, got shape {m.shape}")
    return m


def _xyxy(boxes) -> np.ndarray:
    """(N, >=4) boxes -> (N, 4) float64 x1, y1, x2, y2."""
    b = np.asarray(boxes, dtype=np.float64)
    return np.zeros((0, 4)) if b.size == 0 else b.reshape(len(b), -1)[:, :4]


def _homogeneous(uv) -> np.ndarray:
    """Pixels (N, 2) -> (N, 3) float64 (u, v, 1)."""
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    out = np.ones((len(uv), 3))
    out[:, :2] = uv
    return out


def _row_norms(a: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """Euclidean norm of each row of a 2-D float array: np.linalg.norm(a, axis=1)'s arithmetic
    without its argument handling (called on every tracker frame)."""
    return np.sqrt(np.add.reduce(a * a, axis=1, keepdims=keepdims))


def _is_rotation(r) -> bool:
    """Whether the finite 3x3 ``r`` (nested sequences of floats) is a rotation: np.allclose(r^T r,
    I, atol=1e-4) and det(r) > 0, on nine Python floats (every tracker frame builds a Camera;
    numpy's per-call overhead on a 3x3 is most of the cost)."""
    (a, b, c), (d, e, f), (g, h, k) = r
    # the columns' dot products: 1 on the diagonal, 0 off it (np.allclose's atol + rtol * 1)
    if (abs(a * a + d * d + g * g - 1) > _DIAGONAL_TOL or abs(b * b + e * e + h * h - 1) > _DIAGONAL_TOL
            or abs(c * c + f * f + k * k - 1) > _DIAGONAL_TOL or abs(a * b + d * e + g * h) > 1e-4
            or abs(a * c + d * f + g * k) > 1e-4 or abs(b * c + e * f + h * k) > 1e-4):
        return False
    return a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g) > 0


_DIAGONAL_TOL = 1e-4 + 1e-5


#: K^-1 by the bytes of K: a sequence's intrinsics never change, and every frame builds a Camera
_K_INVERSES = ContentMemo(256)


def _inverse_intrinsics(k: np.ndarray) -> np.ndarray:
    """K^-1 (read-only, shared); ValueError when K is singular."""
    key = k.tobytes()
    inverse = _K_INVERSES.get(key)
    if inverse is None:
        if abs(np.linalg.det(k)) < 1e-9:
            raise ValueError("intrinsics are singular")
        inverse = np.linalg.inv(k)
        inverse.flags.writeable = False
        _K_INVERSES.keep(key, inverse)
    return inverse


#: Cameras by content (:func:`camera_of`); cleared when full
_CAMERAS = ContentMemo(8192)


def camera_of(intrinsics, cam2global, width: int = 1600, height: int = 900) -> "Camera":
    """The :class:`Camera` of this calibration, one object per content: every call with equal
    intrinsics, pose and image size gets the same (read-only) Camera. A tuning grid or a
    comparison tracks the same frames many times, and every ``cmc=pose`` frame needs its camera,
    so the validation and derived matrices are worked out once per frame, not once per run."""
    k = np.array(intrinsics, dtype=np.float64)  # copies: the caller's arrays stay the caller's
    t = np.array(cam2global, dtype=np.float64)
    key = (k.tobytes(), t.tobytes(), k.shape, t.shape, width, height)
    camera = _CAMERAS.get(key)
    if camera is None:
        camera = Camera(k, t, width, height)
        for shared in (camera.intrinsics, camera.cam2global, camera.ground_homography):
            shared.flags.writeable = False
        _CAMERAS.keep(key, camera)
    return camera


@dataclass(frozen=True)
class Camera:
    """One frame's camera: ``intrinsics`` (3x3), ``cam2global`` (4x4, camera -> global), image size."""

    intrinsics: np.ndarray
    cam2global: np.ndarray
    width: int = 1600
    height: int = 900

    def __post_init__(self):
        k = np.asarray(self.intrinsics, dtype=np.float64)
        t = np.asarray(self.cam2global, dtype=np.float64)
        # shapes and finiteness on Python floats first (every cmc=pose frame builds a Camera;
        # numpy's per-call cost is most of a small matrix's check), _as_matrix's message if not
        pose = t.tolist() if t.shape == (4, 4) else None
        if k.shape != (3, 3) or pose is None or not all(map(math.isfinite, k.ravel().tolist() + t.ravel().tolist())):
            k, t = _as_matrix(k, (3, 3), "intrinsics"), _as_matrix(t, (4, 4), "cam2global")
        rot = t[:3, :3]
        if not _is_rotation([row[:3] for row in pose[:3]]):
            raise ValueError("cam2global's 3x3 block is not a rotation")
        extrinsics = np.concatenate((rot.T, -rot.T @ t[:3, 3:4]), axis=1)  # [R^T | -R^T c]
        world_to_pixel = k @ extrinsics
        # ground homography: (x, y, 1) on the plane z = GROUND_Z -> homogeneous pixel
        ground_h = world_to_pixel.take(_GROUND_COLUMNS, axis=1)  # C order, as every matrix here: BLAS rounds by layout
        ground_h[:, 2] += GROUND_Z * world_to_pixel[:, 2]
        # one update of the frozen instance's fields (every cmc=pose frame builds a Camera)
        self.__dict__.update(intrinsics=k, cam2global=t, _k_inv=_inverse_intrinsics(k), _rot=rot,
                             _centre=t[:3, 3].copy(), _world_to_pixel=world_to_pixel, _ground_h=ground_h,
                             # its content, by which detbench.core.image_motion remembers a pair of cameras
                             key=(k.tobytes(), t.tobytes(), self.width, self.height))

    @property
    def centre(self) -> np.ndarray:
        """The camera centre in the global frame (3,)."""
        return self._centre

    @property
    def ground_homography(self) -> np.ndarray:
        """3x3 map of ground points (x, y, 1) on z = GROUND_Z to homogeneous pixels."""
        return self._ground_h

    def rays(self, uv) -> np.ndarray:
        """(N, 3) unit directions in the global frame of the rays through pixels ``uv`` (N, 2)."""
        return self._rays(_homogeneous(uv))

    def _rays(self, pixels: np.ndarray) -> np.ndarray:
        """:meth:`rays` of homogeneous pixels (N, 3) (u, v, 1)."""
        world = self._directions(pixels)
        return world / _row_norms(world, keepdims=True)

    def _directions(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 3) directions in the global frame, not normalised, of homogeneous pixels (N, 3)
        (C order: BLAS may round a product by its operands' layout and row count)."""
        return (pixels @ self._k_inv.T) @ self._rot.T

    def ground_from_pixels(self, uv, plane_z=GROUND_Z) -> tuple[np.ndarray, np.ndarray]:
        """Where the rays through ``uv`` (N, 2) meet the horizontal plane ``z = plane_z`` (scalar or
        (N,)): ``(xy (N, 2), valid (N,))``. Invalid (NaN): the ray does not reach the plane in
        front of the camera at an angle of at least ``MIN_DEPRESSION`` (at or above the horizon,
        for the ground), or meets it beyond ``MAX_RANGE_M``."""
        return self._plane_hits(_homogeneous(uv), plane_z)

    def _plane_hits(self, pixels: np.ndarray, plane_z) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`ground_from_pixels` of homogeneous pixels (N, 3)."""
        d = self._rays(pixels)
        rise = np.asarray(plane_z, dtype=np.float64) - self._centre[2]  # scalar or (N,)
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = rise / d[:, 2]
        # the ray must reach the plane ahead (a plane above the camera, e.g. a class's top, is met
        # by rays going up) and not run nearly parallel to it
        valid = (lam > 0) & (np.abs(d[:, 2]) >= MIN_DEPRESSION)
        lam = np.where(valid, lam, np.nan)
        xy = self._centre[:2] + lam[:, None] * d[:, :2]
        valid &= _row_norms(xy - self._centre[:2]) <= MAX_RANGE_M
        xy[~valid] = np.nan
        return xy, valid

    def project(self, points) -> tuple[np.ndarray, np.ndarray]:
        """Global points (N, 3) -> ``(uv (N, 2), depth (N,))``; depth is along the optical axis.
        Points with depth below ``MIN_DEPTH_M`` (behind or at the camera) get NaN pixels."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        h = np.hstack([p, np.ones((len(p), 1))]) @ self._world_to_pixel.T
        depth = h[:, 2].copy()  # K's last row is (0, 0, 1): the homogeneous w is the depth
        ok = depth >= MIN_DEPTH_M
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = np.where(ok[:, None], h[:, :2] / depth[:, None], np.nan)
        return uv, depth

    def project_ground(self, xy) -> tuple[np.ndarray, np.ndarray]:
        """Ground points (N, 2) on z = GROUND_Z -> ``(uv (N, 2), depth (N,))`` (as :meth:`project`)."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return self.project(np.hstack([xy, np.full((len(xy), 1), GROUND_Z)]))

    def ground_jacobian(self, xy) -> np.ndarray:
        """(N, 2, 2) Jacobian d(u, v) / d(x, y) of the ground -> pixel map at ground points ``xy``
        (NaN where the point is behind the camera). Maps a ground covariance S (m^2) to the
        image as J S J^T; it shrinks with depth as 1 / depth."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        g = self._ground_h
        h = np.hstack([xy, np.ones((len(xy), 1))]) @ g.T
        w = h[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = h[:, :2] / w[:, None]
            jac = (g[None, :2, :2] - uv[:, :, None] * g[None, 2:3, :2]) / w[:, None, None]
        jac[w < MIN_DEPTH_M] = np.nan
        return jac


@dataclass(frozen=True)
class Contacts:
    """Ground contact points of N boxes in one camera: ``xy`` (N, 2) global, NaN where unknown;
    ``valid`` (N,); ``cut`` (N,): the box touched the image's bottom edge (contact from its top)."""

    xy: np.ndarray
    valid: np.ndarray
    cut: np.ndarray


def box_contacts(camera: Camera, boxes, classes=None) -> Contacts:
    """Ground contact points of ``boxes`` (N, >=4 xyxy pixels); ``classes`` (N,) 0..6 lets a box
    cut by the bottom edge be placed from its top edge and the class height (module docstring)."""
    b = _xyxy(boxes)
    n = len(b)
    bottoms = np.ones((n, 3))  # homogeneous pixels of the bottom centres
    bottoms[:, 0] = (b[:, 0] + b[:, 2]) / 2
    bottoms[:, 1] = b[:, 3]
    cut = b[:, 3] >= camera.height - EDGE_PX
    xy, valid = camera._plane_hits(bottoms, GROUND_Z)
    if n and cut.any():
        xy[cut], valid[cut] = np.nan, False
        if classes is not None:
            cls = np.asarray(classes).reshape(-1).astype(np.int64)
            known = cut & (cls >= 0) & (cls < len(CLASS_HEIGHT_M)) & (b[:, 1] > EDGE_PX)
            if known.any():
                tops = bottoms[known]
                tops[:, 1] = b[known, 1]
                xy[known], valid[known] = camera._plane_hits(tops, _CLASS_HEIGHTS[cls[known]])
    return Contacts(xy, valid, cut if n else np.zeros(0, dtype=bool))


def reproject_boxes(boxes, cam_from: Camera, cam_to: Camera, classes=None, contacts_to=None,
                    clip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, >=4 xyxy) seen by ``cam_from`` -> the same objects seen by ``cam_to``:
    ``(boxes (N, 4), valid (N,))``.

    The contact point (:func:`box_contacts`) stays where it is on the ground (a static world)
    unless ``contacts_to`` (N, 2) gives where it has moved to. The box keeps its offsets from the
    contact's pixel, scaled by ``depth_from / depth_to``; a box cut by the bottom edge is
    extended down to its contact first. With ``clip`` the result is clipped to ``cam_to``'s
    image. Invalid rows (contact unknown, behind or at the new camera) are NaN.
    """
    b = _xyxy(boxes)
    contacts = box_contacts(cam_from, b, classes)
    uv_from, depth_from = cam_from.project_ground(contacts.xy)
    target = contacts.xy if contacts_to is None else np.asarray(contacts_to, dtype=np.float64).reshape(-1, 2)
    uv_to, depth_to = cam_to.project_ground(target)
    valid = contacts.valid & np.isfinite(uv_from).all(axis=1) & np.isfinite(uv_to).all(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = depth_from / depth_to
    full = b.copy()
    full[:, 3] = np.maximum(b[:, 3], uv_from[:, 1])  # a cut box reaches down to its contact
    offsets = full - np.hstack([uv_from, uv_from])
    out = np.hstack([uv_to, uv_to]) + scale[:, None] * offsets
    if clip:
        out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, cam_to.width)
        out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, cam_to.height)
        valid &= (out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])
    out[~valid] = np.nan
    return out, valid
