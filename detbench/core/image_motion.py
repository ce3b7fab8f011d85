"""How a known camera motion moves the images of static objects (vectorised numpy).

No single image warp is right for a moving camera (parallax), so the map is per box: on the
ground, or by the rotation-only homography off it. :func:`box_motion` returns it for N boxes
(:class:`BoxMotion`). The two cases: docs/tracker-internals.md, "How a known camera motion moves
boxes".
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from detbench.core.geometry import MIN_DEPTH_M, Camera, _xyxy, box_contacts


#: (top-left, bottom-right) = centre -/+ half size
_CORNER_SIGNS = np.array([[-1.0], [1.0]])


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
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    p = uv @ h[:2, :2].T + h[:2, 2]
    w = uv @ h[2, :2] + h[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((w > 0)[:, None], p / w[:, None], np.nan)
    return out, w


def homography_jacobian(h: np.ndarray, uv) -> np.ndarray:
    """(N, 2, 2) Jacobian of the pixel map of ``h`` at pixels ``uv`` (N, 2); NaN where the point
    maps behind the camera."""
    mapped, w = apply_homography(h, uv)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (h[None, :2, :2] - mapped[:, :, None] * h[None, 2:3, :2]) / w[:, None, None]


def box_motion(boxes, cam_from: Camera, cam_to: Camera, classes=None, clip_rows: bool = True) -> BoxMotion:
    """Where the static objects of ``boxes`` (N, >=4 xyxy in ``cam_from``'s image) appear in
    ``cam_to``'s image, and the local linear map of that move (module docstring). ``classes``
    (N,) 0..6 place boxes cut by the image's bottom edge (:func:`box_contacts`). Rows that are
    not finite come back unchanged.

    With ``clip_rows``, a moved box is cut at the image's top and bottom edges, as a detection
    is, where at least a pixel of it stays inside: a box cut by the bottom edge keeps a known
    contact (from its top edge), so cutting it loses nothing. It is never cut at the left and
    right edges: the bottom centre of a side-cut box is not the object's, and a box cut again
    and moved from that point every frame would shrink and drift away from its object."""
    b = _xyxy(boxes)
    n = len(b)
    contacts = box_contacts(cam_from, b, classes)
    # both cameras' ground homographies at once (Camera.project_ground: the homogeneous w is the depth)
    both = np.concatenate((cam_from.ground_homography.T, cam_to.ground_homography.T), axis=1)
    proj = contacts.xy @ both[:2] + both[2]
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
    h = ground_image_homography(cam_from, cam_to)
    jac = (h[None, :2, :2] - uv_to[:, 0, :, None] * h[None, 2:3, :2]) * scale[:, None, None]
    off = ~on_ground
    if off.any():
        rot = rotation_homography(cam_from, cam_to)
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
        rows = np.minimum(np.maximum(moved[:, 1::2], 0.0), float(cam_to.height))  # (y1, y2)
        inside = rows[:, 1] - rows[:, 0] >= 1.0
        moved[inside, 1::2] = rows[inside]
    return BoxMotion(moved, jac, scale, on_ground)
