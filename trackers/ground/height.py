"""Depth from the class height: where a box stands when its ground contact is of no use.

A box's bottom ray need not meet the plane under the ego vehicle where the object stands: behind
the car the road rises or falls, so the far pedestrians of a rear camera have rays at or above
that plane's horizon, or meeting it hundreds of metres away. Their boxes still say how far they
are: an object of height ``H`` whose box is ``h`` pixels tall stands at depth ``fy H / h`` along
the optical axis. :func:`height_placements` puts such a box's bottom centre on its ray at the
depth where the class's typical height (:data:`detbench.core.geometry.CLASS_HEIGHT_M`) gives its
pixel height, with the depth's relative spread of the class-height prior
(:data:`trackers.ground.measure.CUT_HEIGHT_ERROR`, the same prior the tracker uses for boxes cut
by the image's bottom edge) and the box's pixel noise, so the track lives in 3D, moved with the
ego vehicle, instead of in the image. The point need not lie on the ground plane: its height
above it is kept (``z``) so that the track's box is projected back where it was seen.

A contact is *of no use* when it is missing (ray at or above the horizon, beyond the range,
behind the camera) or *implausible*: the physical height it implies (pixel height x depth /
focal length) lies outside the class height's 3-sigma range, ``[1 / (1 + 3 e), 1 + 3 e]`` times
the class height for the relative error ``e``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detbench.core.geometry import CLASS_HEIGHT_M, GROUND_Z, MAX_RANGE_M, MIN_DEPTH_M, Camera

#: the steepest road grade (rise over run) between the ego vehicle and a placed object: a point
#: placed farther above or below the plane under the ego vehicle than this is no object on a road
MAX_GRADE = 0.1
#: how many standard deviations of the class-height prior make a contact's implied height implausible
IMPLAUSIBLE_SIGMAS = 3.0


@dataclass(frozen=True)
class Placements:
    """``xy`` (N, 2) global ground position of each box's bottom centre placed from its class
    height (NaN where not placed), ``z`` (N,) that point's height above the ground plane,
    ``cov`` (N, 2, 2) its covariance on the ground (m^2), ``valid`` (N,), ``depth`` (N,) its
    depth along the optical axis (m)."""

    xy: np.ndarray
    z: np.ndarray
    cov: np.ndarray
    valid: np.ndarray
    depth: np.ndarray


def implausible_heights(height_m: np.ndarray, classes: np.ndarray, rel_error: float) -> np.ndarray:
    """(N,) True where physical heights ``height_m`` (N,; NaN: unknown, never implausible) lie
    outside ``[1 / (1 + k e), 1 + k e]`` x the class height, ``k`` = :data:`IMPLAUSIBLE_SIGMAS`."""
    ratio = np.asarray(height_m, dtype=np.float64) / np.asarray(CLASS_HEIGHT_M)[classes]
    bound = np.log1p(IMPLAUSIBLE_SIGMAS * rel_error)
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.abs(np.log(np.where(ratio > 0, ratio, np.inf))) > bound
    return np.isfinite(ratio) & ((ratio <= 0) | off)


def height_placements(camera: Camera, boxes: np.ndarray, classes: np.ndarray, rel_error: float,
                      noise: float, min_noise_px: float) -> Placements:
    """Boxes ``boxes`` (N, 4 xyxy) of ``classes`` (N, 0..6) placed on their bottom-centre rays at
    depth ``fy H_class / h`` (module docstring). The depth's relative standard deviation is
    ``hypot(rel_error, sigma_h / h)`` with the pixel noise ``sigma_h = max(noise h,
    min_noise_px)``; across the ray the position spreads by the width's pixel noise at that depth.
    Not placed: boxes less than a pixel tall, points nearer than ``MIN_DEPTH_M`` or farther than
    ``MAX_RANGE_M`` (horizontally)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    k = camera.intrinsics
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = k[1, 1] * np.asarray(CLASS_HEIGHT_M)[classes] / h
    rays = camera.rays(np.stack([(b[:, 0] + b[:, 2]) / 2, b[:, 3]], axis=1))  # unit, global frame
    axis = camera.cam2global[:3, 2]                               # the optical axis, global
    with np.errstate(invalid="ignore", divide="ignore"):
        along = depth / (rays @ axis)                             # distance along the ray
    points = camera.centre[None] + along[:, None] * rays
    offset = points[:, :2] - camera.centre[None, :2]
    reach = np.linalg.norm(offset, axis=1)
    valid = (h >= 1.0) & np.isfinite(depth) & (depth >= MIN_DEPTH_M) & (reach <= MAX_RANGE_M)
    valid &= np.isfinite(points).all(axis=1) & (reach > 0)
    valid &= np.abs(points[:, 2] - GROUND_Z) <= MAX_GRADE * reach
    rel = np.hypot(rel_error, np.maximum(noise * h, min_noise_px) / np.where(h > 0, h, 1.0))
    lateral = depth * np.maximum(noise * w, min_noise_px) / k[0, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        u = offset / reach[:, None]                               # horizontal ray direction
    u = np.where(valid[:, None], u, 0.0)
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    sa = np.where(valid, reach * rel, 1.0)
    sl = np.where(valid, lateral, 1.0)
    cov = (sa ** 2)[:, None, None] * u[:, :, None] * u[:, None, :] + (sl ** 2)[:, None, None] * v[:, :, None] * v[:, None, :]
    cov[~valid] = np.eye(2)
    xy = np.where(valid[:, None], points[:, :2], np.nan)
    z = np.where(valid, points[:, 2] - GROUND_Z, np.nan)
    return Placements(xy, z, cov, valid, depth)
