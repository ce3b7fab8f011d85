"""How a known camera motion moves the images of static objects.

No single image warp is right for a moving camera (parallax), so the map is per box: on the
ground, or by the rotation-only homography off it. :func:`box_motion` returns it for N boxes
(:class:`BoxMotion`), per box on Python floats, each camera pair's matrices remembered by content
(:func:`camera_pair`). The two cases, and why it is computed that way: docs/tracker-internals.md,
"How a known camera motion moves boxes".
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

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

#: (top-left, bottom-right) = centre -/+ half size
_CORNER_SIGNS = np.array([[-1.0], [1.0]])
_NO_CONTACT = (math.nan, math.nan)
_IDENTITY = (1.0, 0.0, 0.0, 1.0)
_MIN_DEPRESSION = float(MIN_DEPRESSION)


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


def rotation_homography(cam_from: Camera, cam_to: Camera) -> np.ndarray:
    """3x3 map of ``cam_from``'s pixels to ``cam_to``'s for points at infinity (directions):
    K_to R_to^T R_from K_from^-1 (R: the camera -> global rotations of ``cam2global``)."""
    rot = cam_to.cam2global[:3, :3].T @ cam_from.cam2global[:3, :3]
    return cam_to.intrinsics @ rot @ cam_from._k_inv


def ground_image_homography(cam_from: Camera, cam_to: Camera) -> np.ndarray:
    """3x3 map of the pixels of ground points (z = GROUND_Z) in ``cam_from`` to their pixels in
    ``cam_to``: G_to G_from^-1 with G the cameras' ground homographies."""
    return cam_to.ground_homography @ _inverse3(cam_from.ground_homography)


def _inverse3(m: np.ndarray) -> np.ndarray:
    """The inverse of a 3x3 matrix by its adjugate, on nine Python floats (np.linalg.inv's
    per-call overhead is most of its cost on a 3x3, and every tracker frame needs one); a
    singular matrix gives non-finite entries, as a ground homography of a camera on the plane."""
    (a, b, c), (d, e, f), (g, h, k) = m.tolist()
    co = (e * k - f * h, f * g - d * k, d * h - e * g)  # cofactors of the first row
    det = a * co[0] + b * co[1] + c * co[2]
    inv = 1.0 / det if det else math.inf
    return np.array([[co[0] * inv, (c * h - b * k) * inv, (b * f - c * e) * inv],
                     [co[1] * inv, (a * k - c * g) * inv, (c * d - a * f) * inv],
                     [co[2] * inv, (b * g - a * h) * inv, (a * e - b * d) * inv]])


def apply_homography(h: np.ndarray, uv) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``uv`` (N, 2) through the 3x3 ``h``: ``(uv (N, 2), w (N,))``, w the homogeneous
    scale (w <= 0: the point maps behind the camera; its pixel is NaN)."""
    p, w = _homogeneous_map(h, np.asarray(uv, dtype=np.float64).reshape(-1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((w > 0)[:, None], p / w[:, None], np.nan)
    return out, w


def _homogeneous_map(h: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 pixels ``uv`` (N, 2) through ``h``, not divided: (u w, v w) (N, 2) and w (N,)."""
    return uv @ h[:2, :2].T + h[:2, 2], uv @ h[2, :2] + h[2, 2]


def homography_jacobian(h: np.ndarray, uv) -> np.ndarray:
    """(N, 2, 2) Jacobian of the pixel map of ``h`` at pixels ``uv`` (N, 2); NaN where the point
    maps behind the camera."""
    mapped, w = apply_homography(h, uv)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (h[None, :2, :2] - mapped[:, :, None] * h[None, 2:3, :2]) / w[:, None, None]


class CameraPair:
    """What :func:`box_motion` needs of a (``cam_from``, ``cam_to``) pair, worked out once (see
    :func:`camera_pair`): both ground homographies side by side (a contact's pixel and depth in
    both images from one product), the ground-image homography, and the rotation-only homography
    when a box off the ground first asks for it."""

    def __init__(self, cam_from: Camera, cam_to: Camera):
        self.cam_from, self.cam_to = cam_from, cam_to
        # (x, y) @ both[:2] + both[2] = (u w, v w, w) in cam_from, then in cam_to
        both = np.concatenate((cam_from.ground_homography.T, cam_to.ground_homography.T), axis=1)
        self.both_xy, self.both_1 = both[:2], both[2]
        self.ground_array = ground_image_homography(cam_from, cam_to)
        self.ground = self.ground_array.tolist()
        self.centre = cam_from.centre.tolist()
        self._rotation = None

    @property
    def rotation(self) -> np.ndarray:
        if self._rotation is None:
            self._rotation = rotation_homography(self.cam_from, self.cam_to)
            self.rotation_rows = self._rotation.tolist()
        return self._rotation


_PAIRS: dict[tuple, CameraPair] = {}
MAX_PAIRS = 8192


def forget_cameras() -> None:
    """Drop the cameras and camera pairs remembered by content (a benchmark's cold start)."""
    _PAIRS.clear()
    _CAMERAS.clear()


def camera_pair(cam_from: Camera, cam_to: Camera) -> CameraPair:
    """The :class:`CameraPair` of two cameras, remembered by their content (``Camera.key``): a
    tuning grid moves tracks between the same frames in every run. Cleared when full."""
    key = (cam_from.key, cam_to.key)
    pair = _PAIRS.get(key)
    if pair is None:
        if len(_PAIRS) >= MAX_PAIRS:
            _PAIRS.clear()
        pair = _PAIRS[key] = CameraPair(cam_from, cam_to)
    return pair


#: up to this many boxes :func:`box_motion` works per box on Python floats, beyond it on arrays:
#: numpy's fixed cost per call against Python's cost per box (measured on the synthetic split's
#: calls: per box 3x faster at 1-5 boxes, 1.3x at 20-40, 1.8x slower beyond 40)
ROWS_MAX = 24


def box_motion(boxes, cam_from: Camera, cam_to: Camera, classes=None, clip_rows: bool = True) -> BoxMotion:
    """Where the static objects of ``boxes`` (N, >=4 xyxy in ``cam_from``'s image) appear in
    ``cam_to``'s image, and the local linear map of that move (module docstring). ``classes``
    (N,) 0..6 place boxes cut by the image's bottom edge (:func:`box_contacts`). Rows that are
    not finite come back unchanged.

    With ``clip_rows``, a moved box is cut at the image's top and bottom edges, as a detection
    is, where at least a pixel of it stays inside: a box cut by the bottom edge keeps a known
    contact (from its top edge), so cutting it loses nothing. It is never cut at the left and
    right edges: the bottom centre of a side-cut box is not the object's, and a box cut again
    and moved from that point every frame would shrink and drift away from its object.

    Up to ``ROWS_MAX`` boxes the work is per box on Python floats, beyond it on arrays; both
    give the same values to the last bit (tests/test_image_motion.py)."""
    b = _xyxy(boxes)
    pair = camera_pair(cam_from, cam_to)
    if len(b) > ROWS_MAX:
        return _motion_of_arrays(b, pair, classes, clip_rows)
    return _motion_of_rows(b, pair, classes, clip_rows)


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


def _motion_of_rows(b: np.ndarray, pair: CameraPair, classes, clip_rows: bool) -> BoxMotion:
    """:func:`box_motion` of float64 (N, 4) boxes, box by box on Python floats: every operation
    of :func:`_motion_of_arrays` in the same order on the same operands (np.maximum's and
    np.minimum's rules for NaN and equal values included), the products through the same numpy
    calls on the same rows."""
    n = len(b)
    if not n:
        return BoxMotion(np.zeros((0, 4)), np.zeros((0, 2, 2)), np.zeros(0), np.zeros(0, dtype=bool))
    rows = b.tolist()
    contacts = _contact_rows(pair.cam_from, pair.centre, rows, classes)
    # both cameras' ground homographies at once (Camera.project_ground: the homogeneous w is the depth)
    xy = _array(itertools.chain.from_iterable(_NO_CONTACT if c is None else c for c in contacts), n, 2)
    proj = (xy @ pair.both_xy + pair.both_1).tolist()
    (h00, h01, _), (h10, h11, _), (h20, h21, _) = pair.ground
    moved, jac, scale, on_ground, off = rows[:], [_IDENTITY] * n, [1.0] * n, [False] * n, []
    for i, ((x1, y1, x2, y2), contact, (u_from, v_from, depth_from, u_to, v_to, depth_to)) in enumerate(
            zip(rows, contacts, proj)):
        if contact is None or not (depth_from >= MIN_DEPTH_M and depth_to >= MIN_DEPTH_M):
            off.append(i)
            continue
        s = depth_from / depth_to
        u_from, v_from, u_to, v_to = u_from / depth_from, v_from / depth_from, u_to / depth_to, v_to / depth_to
        bottom = y2 if y2 > v_from or y2 != y2 else v_from
        m = [u_to + s * (x1 - u_from), v_to + s * (y1 - v_from), u_to + s * (x2 - u_from), v_to + s * (bottom - v_from)]
        j = ((h00 - u_to * h20) * s, (h01 - u_to * h21) * s, (h10 - v_to * h20) * s, (h11 - v_to * h21) * s)
        if _finite(m, j):  # else it cannot move: left where it was (Jacobian I, scale 1)
            moved[i], jac[i], scale[i], on_ground[i] = m, j, s, True
    if off:
        _turn_off_ground(pair, rows, off, moved, jac)
    if clip_rows:
        _clip_rows(moved, float(pair.cam_to.height))
    return BoxMotion(_array(itertools.chain.from_iterable(moved), n, 4),
                     _array(itertools.chain.from_iterable(jac), n, 2, 2), np.array(scale), np.array(on_ground))


def _array(values, *shape) -> np.ndarray:
    """A new C-order float64 array of ``shape`` from an iterable of Python floats."""
    return np.fromiter(values, np.float64, math.prod(shape)).reshape(shape)


def _finite(m: list, j: tuple) -> bool:
    """Whether all eight values are finite: one sum decides unless it overflows."""
    total = m[0] + m[1] + m[2] + m[3] + j[0] + j[1] + j[2] + j[3]
    return total - total == 0.0 or all(map(math.isfinite, (*m, *j)))


def _contact_rows(camera: Camera, centre: list, rows: list, classes) -> list:
    """:func:`detbench.core.geometry.box_contacts` of the boxes ``rows`` (lists of x1, y1, x2,
    y2) as a list of (x, y) or None, the same to the last bit: the bottom centres' rays through one
    product, the tops of cut boxes with a class through another, as there."""
    bottoms = [((x1 + x2) / 2, y2, 1.0) for x1, _, x2, y2 in rows]
    hits = _plane_hit_rows(camera, centre, bottoms, [GROUND_Z] * len(rows))
    cut_from = camera.height - EDGE_PX
    cut = [i for i, r in enumerate(rows) if r[3] >= cut_from]
    if cut:
        known = []
        if classes is not None:
            cls = np.asarray(classes).reshape(-1).astype(np.int64).tolist()
            known = [i for i in cut if 0 <= cls[i] < len(CLASS_HEIGHT_M) and rows[i][1] > EDGE_PX]
        for i in cut:
            hits[i] = None
        if known:
            tops = [(bottoms[i][0], rows[i][1], 1.0) for i in known]
            for i, hit in zip(known, _plane_hit_rows(camera, centre, tops, [CLASS_HEIGHT_M[cls[i]] for i in known])):
                hits[i] = hit
    return hits


def _plane_hit_rows(camera: Camera, centre: list, pixels: list, planes: list) -> list:
    """``Camera._plane_hits`` of homogeneous ``pixels`` (lists), each against its plane height:
    (x, y) or None per pixel."""
    cx, cy, cz = centre
    out = []
    directions = camera._directions(_array(itertools.chain.from_iterable(pixels), len(pixels), 3))
    for (w0, w1, w2), plane_z in zip(directions.tolist(), planes):
        norm = math.sqrt(w0 * w0 + w1 * w1 + w2 * w2)   # numpy's row sum adds left to right
        hit = None
        if 0.0 < norm < math.inf:
            down = w2 / norm
            # the ray must reach the plane ahead and not run nearly parallel to it
            if abs(down) >= _MIN_DEPRESSION:
                lam = (plane_z - cz) / down
                if lam > 0:
                    x, y = cx + lam * (w0 / norm), cy + lam * (w1 / norm)
                    dx, dy = x - cx, y - cy
                    if math.sqrt(dx * dx + dy * dy) <= MAX_RANGE_M:
                        hit = (x, y)
        out.append(hit)
    return out


def _turn_off_ground(pair: CameraPair, rows: list, off: list, moved: list, jac: list) -> None:
    """The rows ``off`` (no ground contact) moved by the rotation-only homography about their
    centre (:func:`apply_homography`'s products), their size kept; where that fails (behind
    the new camera, not finite) they stay as they are."""
    rot = pair.rotation
    centres = itertools.chain.from_iterable(((rows[i][0] + rows[i][2]) / 2, (rows[i][1] + rows[i][3]) / 2) for i in off)
    p, w = _homogeneous_map(rot, _array(centres, len(off), 2))
    (r00, r01, _), (r10, r11, _), (r20, r21, _) = pair.rotation_rows
    for i, (pu, pv), wi in zip(off, p.tolist(), w.tolist()):
        if wi > 0:
            u, v = pu / wi, pv / wi
            x1, y1, x2, y2 = rows[i]
            half_w, half_h = (x2 - x1) / 2, (y2 - y1) / 2
            m = [u - half_w, v - half_h, u + half_w, v + half_h]
            j = ((r00 - u * r20) / wi, (r01 - u * r21) / wi, (r10 - v * r20) / wi, (r11 - v * r21) / wi)
            if _finite(m, j):
                moved[i], jac[i] = m, j


def _clip_rows(moved: list, height: float) -> None:
    """Cut each box (a list, in place) at the top and bottom edges where a pixel row stays inside
    (np.minimum / np.maximum's rules: NaN wins, an equal value gives the second argument)."""
    for m in moved:
        top, bottom = m[1], m[3]
        top = top if top > 0.0 or top != top else 0.0
        top = top if top < height or top != top else height
        bottom = bottom if bottom > 0.0 or bottom != bottom else 0.0
        bottom = bottom if bottom < height or bottom != bottom else height
        if bottom - top >= 1.0:
            m[1], m[3] = top, bottom
