"""What one calibrated frame says about boxes on the ground, and where tracks appear in it.

:func:`observe` turns detections into ground measurements (contact point, its covariance on the
ground, physical size); :func:`project_tracks` and :func:`rotate_boxes` put tracks back into the
image. The noise model, term by term: docs/tracker-internals.md, "The ground tracker's
measurements".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detbench.core.geometry import CLASS_HEIGHT_M, EDGE_PX, GROUND_Z, Camera, box_contacts
from trackers.ground.height import height_placements, implausible_heights
from trackers.ground.kalman import inv2

#: the smallest pixel noise of a contact (px): sub-pixel boxes are not that precise
MIN_NOISE_PX = 1.0
#: how far the road under an object may tilt from the plane under the ego vehicle (degrees)
GROUND_TILT_DEG = 0.5
#: relative error of the top-edge-to-contact span of boxes cut by the image's bottom edge, placed
#: from the class height; chosen on the synthetic tune splits (benchmarks/README.md, "Calibrated
#: motion", step 4: 0.4-0.6 alike, 0.25 before)
CUT_HEIGHT_ERROR = 0.5
#: typical object length per class (m), nuScenes' mean box lengths (the same source as
#: :data:`detbench.core.geometry.CLASS_HEIGHT_M`): how far a cut box's hidden part may reach
CLASS_LENGTH_M = (4.62, 6.93, 11.1, 12.3, 0.73, 2.11, 1.70)


@dataclass(frozen=True)
class Observations:
    """Ground measurements of D detections: ``xy`` (D, 2) contacts (NaN where unknown),
    ``valid`` (D,), ``cov`` (D, 2, 2) their ground covariances (m^2; identity where invalid),
    ``size`` (D, 2) physical width and height (m; NaN where unknown), ``cut`` (D,): the box
    touches the image's left, right or bottom edge (its contact is a guess), ``side_cut`` (D,)
    and ``top_cut`` (D,): it touches the left or right edge, the top edge (its width, its height
    is not the object's); ``z`` (D,): the measured point's height above the ground plane (0 for
    a ground contact; a box placed from its class height, ``from_height`` (D,), stands on its
    ray, :mod:`trackers.ground.height`); ``height_known`` (D,): the box's implied physical height
    (``size[:, 1]``) measures the object's (a ground contact, not cut at the top or bottom), with
    ``height_rel_err`` (D,) its relative error, the contact's along-ray spread over its distance.
    """

    xy: np.ndarray
    valid: np.ndarray
    cov: np.ndarray
    size: np.ndarray
    cut: np.ndarray
    side_cut: np.ndarray
    top_cut: np.ndarray
    z: np.ndarray
    from_height: np.ndarray
    height_known: np.ndarray
    height_rel_err: np.ndarray


def observe(camera: Camera, boxes: np.ndarray, classes: np.ndarray, noise: float, extent: float = 0.0,
            height_depth: bool = False) -> Observations:
    """Ground measurements of ``boxes`` (D, 4 xyxy) of ``classes`` (D,) seen by ``camera``: pixel
    noise ``noise`` (a fraction of the box's width / height), plus, with ``extent`` > 0, a
    ground noise of ``extent`` x half the class length (m) along the viewing ray: a box's bottom
    centre is the nearest point of the object's outline, which lies between half its width and
    half its length in front of the footprint's centre as the view turns (a bus passing by).
    With ``height_depth``, a box not cut at the top or bottom whose contact is missing or
    implies an implausible height is placed from its class height instead
    (:mod:`trackers.ground.height`)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    cls = np.clip(np.asarray(classes, dtype=np.int64).reshape(-1), 0, len(CLASS_LENGTH_M) - 1)
    contacts = box_contacts(camera, b, cls)
    valid = contacts.valid.copy()
    at = np.where(valid[:, None], contacts.xy, 0.0)
    uv, depth = camera.project_ground(at)
    valid &= np.isfinite(uv).all(axis=1)
    fx, fy = camera.intrinsics[0, 0], camera.intrinsics[1, 1]
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    span = np.where(contacts.cut, uv[:, 1] - b[:, 1], h)  # top edge to contact, in pixels
    side = (b[:, 0] <= EDGE_PX) | (b[:, 2] >= camera.width - EDGE_PX)
    with np.errstate(invalid="ignore", divide="ignore"):
        hidden = np.asarray(CLASS_LENGTH_M)[cls] * fx / depth / 2
    sigma_u = np.maximum(noise * w, MIN_NOISE_PX)
    sigma_u = np.where(side, np.fmax(sigma_u, hidden), sigma_u)
    sigma_v = np.maximum(np.where(contacts.cut, CUT_HEIGHT_ERROR * span, noise * h), MIN_NOISE_PX)
    sigma_v = np.hypot(sigma_v, fy * np.tan(np.deg2rad(GROUND_TILT_DEG)))
    jinv, det = inv2(camera.ground_jacobian(at))
    valid &= np.isfinite(det) & (np.abs(det) > 0)
    px = np.zeros((len(b), 2, 2))
    px[:, 0, 0], px[:, 1, 1] = sigma_u ** 2, sigma_v ** 2
    jinv[~valid] = np.eye(2)
    cov = jinv @ px @ jinv.transpose(0, 2, 1)
    if extent > 0:  # along the viewing ray: where the outline's nearest point lies
        cov = cov + _along_ray(camera, at, cls, extent)
    cov[~valid] = np.eye(2)
    size = np.stack([w * depth / fx, span * depth / fy], axis=1)
    size[~valid] = np.nan
    xy = np.where(valid[:, None], contacts.xy, np.nan)
    top_cut = b[:, 1] <= EDGE_PX
    known = valid & ~contacts.cut & ~top_cut
    rel_err = _relative_range_error(camera, xy, cov)
    z, placed = np.zeros(len(b)), np.zeros(len(b), dtype=bool)
    if height_depth and len(b):
        useless = ~valid | implausible_heights(size[:, 1], cls, CUT_HEIGHT_ERROR)
        ask = np.flatnonzero(useless & ~contacts.cut & ~top_cut)
        if len(ask):  # in place: xy, z, cov, valid, placed, size
            _place_from_height(camera, b, cls, ask, noise, extent, (xy, z, cov, valid, placed, size))
    known &= ~placed
    return Observations(xy, valid, cov, size, side | contacts.cut, side, top_cut, z, placed, known, rel_err)


def _place_from_height(camera: Camera, b: np.ndarray, cls: np.ndarray, ask: np.ndarray, noise: float,
                       extent: float, out: tuple) -> None:
    """Boxes ``b[ask]`` placed from their class height (:mod:`trackers.ground.height`), written
    into :func:`observe`'s arrays ``out = (xy, z, cov, valid, placed, size)`` where a placement is
    made: the width from the box at the point's depth, the height the class's."""
    xy, z, cov, valid, placed, size = out
    got = height_placements(camera, b[ask], cls[ask], CUT_HEIGHT_ERROR, noise, MIN_NOISE_PX)
    ask = ask[got.valid]
    xy[ask], z[ask], cov[ask] = got.xy[got.valid], got.z[got.valid], got.cov[got.valid]
    if extent > 0:
        cov[ask] += _along_ray(camera, xy[ask], cls[ask], extent)
    valid[ask], placed[ask] = True, True
    width = (b[ask, 2] - b[ask, 0]) * got.depth[got.valid] / camera.intrinsics[0, 0]
    size[ask] = np.stack([width, np.asarray(CLASS_HEIGHT_M)[cls[ask]]], axis=1)


def _relative_range_error(camera: Camera, xy: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """(N,) the standard deviation of ground points ``xy`` (N, 2) with covariances ``cov`` along
    the horizontal ray from the camera, over their distance from it (NaN where unknown)."""
    ray = xy - camera.cam2global[:2, 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        reach = np.linalg.norm(ray, axis=1)
        u = ray / reach[:, None]
        return np.sqrt(np.einsum("ni,nij,nj->n", u, cov, u)) / reach


def _along_ray(camera: Camera, xy: np.ndarray, cls: np.ndarray, extent: float) -> np.ndarray:
    """(N, 2, 2) ground covariances of ``extent`` x half the class length along the horizontal
    rays from the camera to ground points ``xy`` (N, 2) (:func:`observe`)."""
    ray = xy - camera.cam2global[:2, 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        ray = np.nan_to_num(ray / np.linalg.norm(ray, axis=1, keepdims=True))
    spread = (extent * np.asarray(CLASS_LENGTH_M)[cls] / 2) ** 2
    return spread[:, None, None] * ray[:, :, None] * ray[:, None, :]


def project_tracks(camera: Camera, xy: np.ndarray, size: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
    """Boxes (T, 4 xyxy, unclipped) of objects whose contact is at ground points ``xy`` (T, 2)
    (``z`` (T,) above the ground plane where given: boxes placed from their class height) and
    whose physical width and height are ``size`` (T, 2); NaN where the contact is behind or at
    the camera."""
    if z is None or not z.any():
        uv, depth = camera.project_ground(xy)
    else:
        uv, depth = camera.project(np.column_stack([xy, z + GROUND_Z]))
    k = camera.intrinsics
    with np.errstate(invalid="ignore", divide="ignore"):
        half_w = size[:, 0] * k[0, 0] / depth / 2
        h = size[:, 1] * k[1, 1] / depth
    return np.stack([uv[:, 0] - half_w, uv[:, 1] - h, uv[:, 0] + half_w, uv[:, 1]], axis=1)


def rotate_boxes(boxes: np.ndarray, cam_from: Camera, cam_to: Camera) -> np.ndarray:
    """Boxes (N, 4 xyxy) seen by ``cam_from`` as ``cam_to`` sees points infinitely far along the
    same rays (the rotation-only homography ``K_to R_to^T R_from K_from^-1``): the bounds of the
    moved corners; NaN where a corner's ray points behind ``cam_to``."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(b):
        return b
    homography = (cam_to.intrinsics @ cam_to.cam2global[:3, :3].T @ cam_from.cam2global[:3, :3]
                  @ np.linalg.inv(cam_from.intrinsics))
    corners = np.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [0, 3]], b[:, [2, 3]]], axis=1)  # (N, 4, 2)
    h = np.concatenate([corners, np.ones(corners.shape[:2] + (1,))], axis=2) @ homography.T
    ahead = (h[..., 2] > 1e-9).all(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        uv = h[..., :2] / h[..., 2:]
    out = np.concatenate([uv.min(axis=1), uv.max(axis=1)], axis=1)
    out[~ahead] = np.nan
    return out
