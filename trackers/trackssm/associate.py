"""Association of ``trackssm``: :func:`match`, one stage's class-gated Hungarian matching on the
predicted boxes, and its optional ground pass for ground-plane motion models (``assoc="ground"``).

Each association stage first matches on the ground, as the ``ground`` tracker does
(:mod:`trackers.ground.associate`): a (track, detection) pair costs the negative log likelihood of
the detection's ground contact given the contact of the track's predicted box, ``d2 + log det S``
(squared Mahalanobis distance under the sum ``S`` of the two contacts' ground covariances,
:func:`trackers.ground.measure.observe` with relative box noise ``assoc_noise`` and the viewing-ray
extent ``assoc_extent``), minus ``assoc_bonus`` x the pair's image IoU (the image's lateral
precision separates neighbours the ground's depth noise merges). Pairs cheaper than
``assoc_gate`` are assigned at minimum total cost (leaving a track or a detection unmatched costs
the gate); the tracks and detections left, and every pair where either box has no ground contact,
then go through the stage's image matching by IoU as without the option. A prediction's own error
grows while its track is lost: its contact noise is scaled by ``1 + lost_for`` (frames missed).

Two options of ``ground``'s step 7 (docs/tracker-internals.md, "Inside the ground tracker"):
``assoc_size_sigma`` > 0 adds the track's **own height** term
(:func:`trackers.ground.associate.size_costs`: ``(log h_det - log h_track)^2 / (sigma^2 +
e_det^2)``, the track's running mean log physical height against the one the detection implies);
``assoc_height_depth`` places predicted and detected boxes without a usable contact from their
class height (:mod:`trackers.ground.height`, ``observe``'s ``height_depth``).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from detbench.core.types import iou_matrix
from trackers.costs import affinity
from trackers.ground import kalman
from trackers.ground.associate import assign, size_costs
from trackers.ground.measure import observe

#: ``assoc``: match by image overlap only (the paper's tracker) or on the ground first
ASSOCIATIONS = ("image", "ground")


def ground_costs(camera, pred: np.ndarray, track_cls: np.ndarray, lost_for: np.ndarray, boxes: np.ndarray,
                 det_cls: np.ndarray, noise: float, extent: float, bonus: float, height_depth: bool = False,
                 det_obs=None, own_height: tuple | None = None) -> np.ndarray:
    """(T, D) ground costs (module docstring) of predicted boxes ``pred`` (T, 4 xyxy) of tracks of
    classes ``track_cls`` (T,) lost for ``lost_for`` (T,) frames against detections ``boxes`` (D, 4)
    of ``det_cls`` (D,) seen by ``camera``; NaN where either contact is unknown. ``height_depth``:
    boxes without a usable contact placed from their class height; ``det_obs``: the detections'
    measurements when the caller has them (:func:`detection_obs`, the same options); ``own_height``:
    ``(log_height (T,), heights (T,), sigma)`` adds the own-height term (module docstring)."""
    with np.errstate(invalid="ignore"):  # boxes without a contact (above the horizon) are NaN there
        t_obs = observe(camera, pred, track_cls, noise, extent, height_depth)
    d_obs = det_obs if det_obs is not None else detection_obs(camera, boxes, det_cls, noise, extent, height_depth)
    both = t_obs.valid[:, None] & d_obs.valid[None, :]
    if not both.any():
        return np.full(both.shape, np.nan)
    grow = (1.0 + np.asarray(lost_for, dtype=np.float64)) ** 2  # covariance of noise x (1 + lost_for)
    x, p = kalman.new_states(np.nan_to_num(t_obs.xy), t_obs.cov * grow[:, None, None], np.zeros(len(pred)))
    with np.errstate(invalid="ignore"):
        d2, logdet = kalman.mahalanobis(x, p, np.nan_to_num(d_obs.xy), d_obs.cov)
    cost = d2 + logdet - bonus * iou_matrix(pred, boxes)
    if own_height is not None and own_height[2] > 0:
        log_height, heights, sigma = own_height
        cost = cost + size_costs(np.asarray(log_height, dtype=np.float64), np.asarray(heights),
                                 d_obs, np.arange(len(boxes)), sigma)
    return np.where(both, cost, np.nan)


def detection_obs(camera, boxes: np.ndarray, det_cls: np.ndarray, noise: float, extent: float,
                  height_depth: bool = False):
    """The ground measurements of detections ``boxes`` (D, 4) of ``det_cls`` (D,) that
    :func:`ground_costs` scores (``observe`` with the ground pass's options)."""
    with np.errstate(invalid="ignore"):
        return observe(camera, boxes, det_cls, noise, extent, height_depth)


def ground_pairs(cost: np.ndarray, allowed: np.ndarray, gate: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) matched on the ground: the minimum-cost assignment over the ``allowed`` pairs
    with a known ``cost`` (:func:`ground_costs`) below ``gate``
    (:func:`trackers.ground.associate.assign`)."""
    known = np.isfinite(cost)
    return assign(np.where(known, cost, np.inf), allowed & known, gate)


def match(tracks: list, dets: np.ndarray, min_iou: float, last_box_gate: bool,
           cost: str = "iou", class_gate: bool = True, allowed: np.ndarray | None = None,
           ground: tuple[np.ndarray, float] | None = None):
    """Class-gated Hungarian matching on the predicted boxes (and, with ``last_box_gate``, the
    better of predicted and last observed box) -> (pairs [(track i, det j)], unmatched tracks,
    unmatched dets). ``allowed`` (tracks x dets bool, optional): the only pairs that may match.
    ``ground`` (optional): (tracks x dets ground costs, gate): a ground pass first
    (:mod:`trackers.trackssm.associate`), the image matching on what it leaves."""
    if not tracks or len(dets) == 0:
        return [], list(range(len(tracks))), list(range(len(dets)))
    iou = affinity(np.array([t.boxes[-1] for t in tracks]), dets[:, :4], cost)
    if last_box_gate:
        iou = np.maximum(iou, affinity(np.array([t.det_box for t in tracks]), dets[:, :4], cost))
    if class_gate:
        same = np.array([t.cls for t in tracks])[:, None] == dets[None, :, 5].astype(int)
        iou = np.where(same, iou, 0.0)
    if allowed is not None:
        iou = np.where(allowed, iou, 0.0)
    cost = np.where(iou >= min_iou, 1.0 - iou, 1e6)
    pairs = []
    if ground is not None:
        ok = np.ones(iou.shape, bool)
        if class_gate:
            ok &= same
        if allowed is not None:
            ok &= allowed
        rows, cols = ground_pairs(ground[0], ok, ground[1])
        pairs = [(int(r), int(c)) for r, c in zip(rows, cols)]
        cost[rows, :] = 1e6
        cost[:, cols] = 1e6
    rows, cols = linear_sum_assignment(cost)
    pairs += [(r, c) for r, c in zip(rows, cols) if cost[r, c] < 1e6]
    mt, md = {r for r, _ in pairs}, {c for _, c in pairs}
    return pairs, [i for i in range(len(tracks)) if i not in mt], [j for j in range(len(dets)) if j not in md]
