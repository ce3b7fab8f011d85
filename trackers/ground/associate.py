"""Association costs and the optional assignment of :mod:`trackers.ground.tracker`.

:func:`ground_costs` scores every (track, detection) pair on the ground by the negative log
likelihood of the detection's contact under the track's prediction, ``d2 + log det S``
(Mahalanobis distance with ``S = P + R`` plus the log-determinant, so a track whose prediction is
vague pays for it); :func:`assign` is the minimum-cost assignment in which leaving a track and a
detection unmatched costs ``limit`` (lapjv's ``cost_limit``): a pair is taken only when it is
cheaper than that, never forced because the matrix has room for it. :func:`image_overlaps` is
the image pass's score.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from detbench.core.types import iou_matrix
from trackers.ground import kalman

#: the cost of a pair that may not be taken
UNMATCHED = 1e9


def ground_costs(x: np.ndarray, p: np.ndarray, z: np.ndarray, r: np.ndarray) -> np.ndarray:
    """(T, D) negative log likelihoods ``d2 + log det S`` of contacts ``z`` (D, 2) with
    covariances ``r`` (D, 2, 2) under the predictions of tracks ``x`` (T, 4), ``p`` (T, 4, 4)."""
    d2, logdet = kalman.mahalanobis(x, p, z, r)
    return d2 + logdet


def size_costs(log_height: np.ndarray, heights: np.ndarray, obs, dets: np.ndarray, sigma: float) -> np.ndarray:
    """(T, D) ``(log h_det - log h_track)^2 / (sigma^2 + e_det^2)``: how far the physical height a
    detection implies (its box height x its contact's depth / focal length) lies from a track's
    own running estimate ``log_height`` (T,; the mean log height over its ``heights`` (T,)
    measurements), with ``sigma`` the relative spread of one object's measured height and
    ``e_det`` the relative error of the detection's depth (``obs.height_rel_err``); 0 where the
    track has no measured height or the detection none (``obs.height_known``) of ``dets``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.log(obs.size[dets, 1])[None, :] - log_height[:, None]
        cost = diff ** 2 / (sigma ** 2 + obs.height_rel_err[dets] ** 2)[None, :]
    use = (heights > 0)[:, None] & obs.height_known[dets][None, :]
    return np.where(use, np.nan_to_num(cost), 0.0)


def image_overlaps(pred: np.ndarray, boxes: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """(T, D) overlaps of predicted boxes ``pred`` (T, 4) with detections ``boxes`` (D, 4): IoU,
    and for detections ``cut`` (D,) by an image edge the larger of IoU and the intersection over
    the smaller box, plus a millionth of IoU so that among boxes nested alike (the intersection
    over the smaller saturates at 1) the better fitting one wins, whatever the track order. A cut
    box is the visible part of its object, and the track's box (its physical size re-projected,
    clipped to the image) need not have the same part in view: the two nest rather than
    coincide, and IoU would count the size difference against them. A NaN box (behind the
    camera) overlaps nothing."""
    iou = iou_matrix(pred, boxes)
    if not cut.any():
        return iou
    area_p = np.prod(np.clip(pred[:, 2:4] - pred[:, 0:2], 0, None), axis=1)
    area_b = np.prod(np.clip(boxes[:, 2:4] - boxes[:, 0:2], 0, None), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        inter = iou * (area_p[:, None] + area_b[None, :]) / (1.0 + iou)  # IoU = I / (A + B - I)
        iomin = np.nan_to_num(inter / np.minimum(area_p[:, None], area_b[None, :]))
    return np.where(cut[None, :], np.maximum(iou, iomin) + 1e-6 * iou, iou)


def assign(cost: np.ndarray, allowed: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the minimum-cost assignment over the ``allowed`` pairs of ``cost`` (T, D)
    where leaving a row and a column unmatched costs ``limit``: only pairs with cost < ``limit``
    can be taken. Solved by scipy on the matrix extended with one dummy column per row and one
    dummy row per column (each dummy costs ``limit / 2``)."""
    ok = allowed & (cost < limit)
    # rows and columns without a takeable pair stay unmatched whatever the others do
    r_use, c_use = np.flatnonzero(ok.any(axis=1)), np.flatnonzero(ok.any(axis=0))
    t, d = len(r_use), len(c_use)
    if not t:
        return r_use, c_use
    ok = ok[r_use][:, c_use]
    big = np.full((t + d, d + t), UNMATCHED)
    big[:t, :d] = np.where(ok, cost[r_use][:, c_use], UNMATCHED)
    big[np.arange(t), d + np.arange(t)] = limit / 2
    big[t + np.arange(d), np.arange(d)] = limit / 2
    big[t:, d:] = 0.0
    rows, cols = linear_sum_assignment(big)
    take = (rows < t) & (cols < d)
    rows, cols = rows[take], cols[take]
    keep = ok[rows, cols]
    return r_use[rows[keep]], c_use[cols[keep]]
