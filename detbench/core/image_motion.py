"""How a known camera motion moves the images of static objects.

No single image warp is right for a moving camera (parallax), so the map is per box: on the
ground, or by the rotation-only homography off it. :func:`box_motion` returns it for N boxes
(:class:`BoxMotion`); :func:`motion_rows` the same as Python lists for ``cmc=pose``, which moves
a handful of boxes a frame: up to ``ROWS_MAX`` boxes the work is per box on Python floats with
each camera's and camera pair's matrices as floats (:mod:`detbench.core.pose_camera`), beyond
it on numpy arrays. The two cases, and why it is computed that way: docs/tracker-internals.md,
"How a known camera motion moves boxes".
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from detbench.core.geometry import (
    _CAMERAS,
    CLASS_HEIGHT_M,
    EDGE_PX,
    GROUND_Z,
    MAX_RANGE_M,
    MIN_DEPRESSION,
    MIN_DEPTH_M,
    Camera,
    _xyxy,
    box_contacts,
)
from detbench.core.memo import ContentMemo
from detbench.core.pose_camera import (
    FloatCamera,
    FloatPair,
    as_float_camera,
    float_pair,
    forget_float_cameras,
    inverse3,
)

#: (top-left, bottom-right) = centre -/+ half size
_CORNER_SIGNS = np.array([[-1.0], [1.0]])
_IDENTITY = (1.0, 0.0, 0.0, 1.0)
_MIN_DEPRESSION = float(MIN_DEPRESSION)
_MAX_RANGE_SQ = MAX_RANGE_M * MAX_RANGE_M


@dataclass(frozen=True)
class BoxMotion:
    """N boxes moved from one camera to another: ``boxes`` (N, 4) xyxy in the new image;
    ``jacobian`` (N, 2, 2) d(new pixel) / d(old pixel) at the box's contact (on the ground) or
    centre (off it); ``scale`` (N,) the factor the box's size changed by (depth ratio, 1 off the
    ground); ``on_ground`` (N,) which boxes were moved as static ground points."""

    boxes: np.ndarray
    jacobian: np.ndarray
    scale: np.ndarray
    on_ground: np.ndarray


@dataclass
class RowMotion:
    """:class:`BoxMotion` as Python lists: ``boxes`` [x1, y1, x2, y2] per box, ``jacobian``
    (j00, j01, j10, j11) per box, ``scale`` and ``on_ground`` one value per box."""

    boxes: list = field(default_factory=list)
    jacobian: list = field(default_factory=list)
    scale: list = field(default_factory=list)
    on_ground: list = field(default_factory=list)


def rotation_homography(cam_from: Camera, cam_to: Camera) -> np.ndarray:
    """3x3 map of ``cam_from``'s pixels to ``cam_to``'s for points at infinity (directions):
    K_to R_to^T R_from K_from^-1 (R: the camera -> global rotations of ``cam2global``)."""
    rot = cam_to.cam2global[:3, :3].T @ cam_from.cam2global[:3, :3]
    return cam_to.intrinsics @ rot @ cam_from._k_inv


def ground_image_homography(cam_from: Camera, cam_to: Camera) -> np.ndarray:
    """3x3 map of the pixels of ground points (z = GROUND_Z) in ``cam_from`` to their pixels in
    ``cam_to``: G_to G_from^-1 with G the cameras' ground homographies."""
    return cam_to.ground_homography @ np.array(inverse3(cam_from.ground_homography.tolist()))


def apply_homography(h: np.ndarray, uv) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``uv`` (N, 2) through the 3x3 ``h``: ``(uv (N, 2), w (N,))``, w the homogeneous
    scale (w <= 0: the point maps behind the camera; its pixel is NaN)."""
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    p, w = uv @ h[:2, :2].T + h[:2, 2], uv @ h[2, :2] + h[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((w > 0)[:, None], p / w[:, None], np.nan)
    return out, w


def homography_jacobian(h: np.ndarray, uv) -> np.ndarray:
    """(N, 2, 2) Jacobian of the pixel map of ``h`` at pixels ``uv`` (N, 2); NaN where the point
    maps behind the camera."""
    mapped, w = apply_homography(h, uv)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (h[None, :2, :2] - mapped[:, :, None] * h[None, 2:3, :2]) / w[:, None, None]


class CameraPair:
    """What :func:`_motion_of_arrays` needs of a (``cam_from``, ``cam_to``) pair of numpy cameras,
    worked out once (see :func:`camera_pair`): both ground homographies side by side (a contact's
    pixel and depth in both images from one product), the ground-image homography, and the
    rotation-only homography when a box off the ground first asks for it."""

    def __init__(self, cam_from: Camera, cam_to: Camera):
        self.cam_from, self.cam_to = cam_from, cam_to
        # (x, y) @ both[:2] + both[2] = (u w, v w, w) in cam_from, then in cam_to
        both = np.concatenate((cam_from.ground_homography.T, cam_to.ground_homography.T), axis=1)
        self.both_xy, self.both_1 = both[:2], both[2]
        self.ground_array = ground_image_homography(cam_from, cam_to)
        self._rotation = None

    @property
    def rotation(self) -> np.ndarray:
        if self._rotation is None:
            self._rotation = rotation_homography(self.cam_from, self.cam_to)
        return self._rotation


_PAIRS = ContentMemo(8192)


def forget_cameras() -> None:
    """Drop the cameras and camera pairs remembered by content (a benchmark's cold start)."""
    _PAIRS.clear()
    _CAMERAS.clear()
    forget_float_cameras()


def camera_pair(cam_from: Camera, cam_to: Camera) -> CameraPair:
    """The :class:`CameraPair` of two cameras, remembered by their content (``Camera.key``): a
    tuning grid moves tracks between the same frames in every run. Cleared when full."""
    key = (cam_from.key, cam_to.key)
    pair = _PAIRS.get(key)
    if pair is None:
        pair = _PAIRS.keep(key, CameraPair(cam_from, cam_to))
    return pair


#: up to this many boxes the work is per box on Python floats, beyond it on arrays: numpy's
#: fixed cost per call against Python's cost per box (measured: per box 7x faster at 8 boxes,
#: 2x at 48, even at about 110, numpy 1.2x faster at 200)
ROWS_MAX = 100


def _numpy_camera(camera: Camera | FloatCamera) -> Camera:
    return camera.camera if isinstance(camera, FloatCamera) else camera


def box_motion(boxes, cam_from: Camera | FloatCamera, cam_to: Camera | FloatCamera, classes=None,
               clip_rows: bool = True) -> BoxMotion:
    """Where the static objects of ``boxes`` (N, >=4 xyxy in ``cam_from``'s image) appear in
    ``cam_to``'s image, and the local linear map of that move (module docstring). ``classes``
    (N,) 0..6 place boxes cut by the image's bottom edge (:func:`box_contacts`). Rows that are
    not finite come back unchanged.

    With ``clip_rows``, a moved box is cut at the image's top and bottom edges, as a detection
    is, where at least a pixel of it stays inside: a box cut by the bottom edge keeps a known
    contact (from its top edge), so cutting it loses nothing. It is never cut at the left and
    right edges here: the bottom centre of a side-cut box is not the object's, and a box cut
    again and moved from that point every frame would shrink and drift away from its object
    (``cmc=pose`` cuts its moved boxes at the sides afterwards, as the tune splits chose:
    :mod:`trackers.pose_cmc`).

    Up to ``ROWS_MAX`` boxes the work is per box on Python floats, beyond it on arrays; both
    give the same values up to rounding (tests/test_image_motion.py)."""
    b = _xyxy(boxes)
    if len(b) > ROWS_MAX:
        return _motion_of_arrays(b, camera_pair(_numpy_camera(cam_from), _numpy_camera(cam_to)), classes, clip_rows)
    pair = float_pair(as_float_camera(cam_from), as_float_camera(cam_to))
    cls = None if classes is None else np.asarray(classes).reshape(-1).tolist()
    m = _motion_of_rows(b.tolist(), pair, cls, clip_rows)
    n = len(b)
    return BoxMotion(_array(itertools.chain.from_iterable(m.boxes), n, 4),
                     _array(itertools.chain.from_iterable(m.jacobian), n, 2, 2),
                     np.array(m.scale, dtype=np.float64), np.array(m.on_ground, dtype=bool))


def motion_rows(rows: list, cam_from: FloatCamera, cam_to: FloatCamera, classes=None) -> RowMotion:
    """:func:`box_motion` (clipped) of ``rows`` (lists x1, y1, x2, y2 of Python floats) as a
    :class:`RowMotion`: what ``cmc=pose`` reads, without arrays for a frame's few boxes."""
    if len(rows) > ROWS_MAX:
        m = _motion_of_arrays(np.array(rows, dtype=np.float64).reshape(-1, 4),
                              camera_pair(cam_from.camera, cam_to.camera), classes, True)
        return RowMotion(m.boxes.tolist(), m.jacobian.reshape(-1, 4).tolist(), m.scale.tolist(), m.on_ground.tolist())
    return _motion_of_rows(rows, float_pair(cam_from, cam_to), classes, True)


def _array(values, *shape) -> np.ndarray:
    """A new C-order float64 array of ``shape`` from an iterable of Python floats."""
    return np.fromiter(values, np.float64, math.prod(shape)).reshape(shape)


def _motion_of_arrays(b: np.ndarray, pair: CameraPair, classes, clip_rows: bool) -> BoxMotion:
    """:func:`box_motion` of float64 (N, 4) boxes, vectorised."""
    n = len(b)
    contacts = box_contacts(pair.cam_from, b, classes)
    proj = contacts.xy @ pair.both_xy + pair.both_1
    depth_from, depth_to = proj[:, 2], proj[:, 5]
    on_ground = contacts.valid & (depth_from >= MIN_DEPTH_M) & (depth_to >= MIN_DEPTH_M)
    homogeneous = proj.reshape(n, 2, 3)  # [contact in cam_from, in cam_to] x (u w, v w, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        pixels = homogeneous[:, :, :2] / homogeneous[:, :, 2:]
        scale = np.where(on_ground, depth_from / depth_to, 1.0)
    uv_from, uv_to = pixels[:, None, 0], pixels[:, None, 1]   # (N, 1, 2): against (N, 2 corners, 2)
    # reproject_boxes' move, unclipped: a cut box reaches down to its contact, then keeps its
    # offsets from the contact's pixel scaled by the depth ratio
    full = b.copy()
    full[:, 3] = np.maximum(b[:, 3], uv_from[:, 0, 1])
    moved = (uv_to + scale[:, None, None] * (full.reshape(n, 2, 2) - uv_from)).reshape(n, 4)
    # the Jacobian of h = G_to G_from^-1 at uv_from: h's homogeneous scale there is 1 / scale
    h = pair.ground_array
    jac = (h[None, :2, :2] - uv_to[:, 0, :, None] * h[None, 2:3, :2]) * scale[:, None, None]
    off = ~on_ground
    if off.any():
        rot = pair.rotation
        corners = b[off].reshape(-1, 2, 2)
        centre = (corners[:, 0] + corners[:, 1]) / 2
        new_centre, w = apply_homography(rot, centre)
        half = (corners[:, 1] - corners[:, 0]) / 2
        moved[off] = (new_centre[:, None] + _CORNER_SIGNS * half[:, None]).reshape(-1, 4)
        with np.errstate(divide="ignore", invalid="ignore"):
            jac[off] = (rot[None, :2, :2] - new_centre[:, :, None] * rot[None, 2:3, :2]) / w[:, None, None]
    # one sum decides for the usual frame where every row is finite (an overflow only sends it
    # to the row-by-row check)
    if not np.isfinite(moved.sum() + jac.sum()):
        stuck = ~(np.isfinite(moved).all(axis=1) & np.isfinite(jac).all(axis=(1, 2)))
        moved[stuck], jac[stuck], scale[stuck] = b[stuck], np.eye(2), 1.0
        on_ground = on_ground & ~stuck
    if clip_rows and n:
        rows = np.minimum(np.maximum(moved[:, 1::2], 0.0), float(pair.cam_to.height))  # (y1, y2)
        inside = rows[:, 1] - rows[:, 0] >= 1.0
        moved[inside, 1::2] = rows[inside]
    return BoxMotion(moved, jac, scale, on_ground)


def _motion_of_rows(rows: list, pair: FloatPair, classes, clip_rows: bool) -> RowMotion:
    """:func:`box_motion` of boxes ``rows`` (lists of four floats), box by box on Python floats:
    :func:`_motion_of_arrays`'s cases and rules (np.maximum's and np.minimum's for NaN included)
    with the products summed in another order."""
    cam = pair.cam_from
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = cam.rays
    cx, cy, cz = cam.centre
    (a00, a01, a02), (a10, a11, a12), (a20, a21, a22) = cam.ground
    (b00, b01, b02), (b10, b11, b12), (b20, b21, b22) = pair.cam_to.ground
    (h00, h01, _), (h10, h11, _), (h20, h21, _) = pair.ground
    cut_from, n_classes = cam.height - EDGE_PX, len(CLASS_HEIGHT_M)
    out = RowMotion()
    off = []
    add_box, add_jac, add_scale, add_on_ground = (out.boxes.append, out.jacobian.append, out.scale.append,
                                                  out.on_ground.append)
    for i, (x1, y1, x2, y2) in enumerate(rows):
        u, v, plane = (x1 + x2) / 2, y2, GROUND_Z
        if y2 >= cut_from:  # cut by the bottom edge: the contact from the top edge and the class height
            cls = -1 if classes is None else int(classes[i])
            v = y1 if 0 <= cls < n_classes and y1 > EDGE_PX else math.nan
            plane = CLASS_HEIGHT_M[cls] if v == v else GROUND_Z
        # the ray through (u, v) must reach the plane ahead, not nearly parallel, within range
        w0, w1, w2 = m00 * u + m01 * v + m02, m10 * u + m11 * v + m12, m20 * u + m21 * v + m22
        norm = math.sqrt(w0 * w0 + w1 * w1 + w2 * w2)
        lam = (plane - cz) / w2 if 0.0 < norm < math.inf and abs(w2) >= _MIN_DEPRESSION * norm else -1.0
        dx, dy = lam * w0, lam * w1
        if lam > 0 and dx * dx + dy * dy <= _MAX_RANGE_SQ:
            x, y = cx + dx, cy + dy
            depth_from, depth_to = a20 * x + a21 * y + a22, b20 * x + b21 * y + b22
            if depth_from >= MIN_DEPTH_M and depth_to >= MIN_DEPTH_M:
                s = depth_from / depth_to
                u_from, v_from = (a00 * x + a01 * y + a02) / depth_from, (a10 * x + a11 * y + a12) / depth_from
                u_to, v_to = (b00 * x + b01 * y + b02) / depth_to, (b10 * x + b11 * y + b12) / depth_to
                # a cut box reaches down to its contact, then keeps its offsets scaled by the depth ratio
                bottom = y2 if y2 > v_from or y2 != y2 else v_from
                m = [u_to + s * (x1 - u_from), v_to + s * (y1 - v_from), u_to + s * (x2 - u_from),
                     v_to + s * (bottom - v_from)]
                j = ((h00 - u_to * h20) * s, (h01 - u_to * h21) * s, (h10 - v_to * h20) * s, (h11 - v_to * h21) * s)
                if _finite(m, j):
                    add_box(m), add_jac(j), add_scale(s), add_on_ground(True)
                else:  # it cannot move: left where it was
                    add_box([x1, y1, x2, y2]), add_jac(_IDENTITY), add_scale(1.0), add_on_ground(False)
                continue
        off.append(i)
        add_box([x1, y1, x2, y2]), add_jac(_IDENTITY), add_scale(1.0), add_on_ground(False)
    if off:
        _turn_off_ground(pair.rotation, rows, off, out)
    if clip_rows:
        clip_span(out.boxes, 1, float(pair.cam_to.height))
    return out


def _finite(m: list, j: tuple) -> bool:
    """Whether all eight values are finite: one sum decides unless it overflows."""
    total = m[0] + m[1] + m[2] + m[3] + j[0] + j[1] + j[2] + j[3]
    return total - total == 0.0 or all(map(math.isfinite, (*m, *j)))


def _turn_off_ground(rot, rows: list, off: list, out: RowMotion) -> None:
    """The rows ``off`` (no ground contact) moved by the rotation-only homography ``rot`` about
    their centre, their size kept; where that fails (behind the new camera, not finite) they stay
    as they are."""
    (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = rot
    for i in off:
        x1, y1, x2, y2 = rows[i]
        cu, cv = (x1 + x2) / 2, (y1 + y2) / 2
        w = r20 * cu + r21 * cv + r22
        if w > 0:
            u, v = (r00 * cu + r01 * cv + r02) / w, (r10 * cu + r11 * cv + r12) / w
            half_w, half_h = (x2 - x1) / 2, (y2 - y1) / 2
            m = [u - half_w, v - half_h, u + half_w, v + half_h]
            j = ((r00 - u * r20) / w, (r01 - u * r21) / w, (r10 - v * r20) / w, (r11 - v * r21) / w)
            if _finite(m, j):
                out.boxes[i], out.jacobian[i] = m, j


def clip_span(moved: list, axis: int, extent: float) -> None:
    """Cut each box (a list x1, y1, x2, y2, in place) to [0, ``extent``] along ``axis`` (0: at the
    left and right edges, 1: at the top and bottom) where a pixel column or row stays inside
    (np.minimum / np.maximum's rules: NaN wins, an equal value gives the second argument)."""
    lo, hi = axis, axis + 2
    for m in moved:
        low, high = m[lo], m[hi]
        low = low if low > 0.0 or low != low else 0.0
        low = low if low < extent or low != low else extent
        high = high if high > 0.0 or high != high else 0.0
        high = high if high < extent or high != high else extent
        if high - low >= 1.0:
            m[lo], m[hi] = low, high
