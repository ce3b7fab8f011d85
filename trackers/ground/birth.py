"""Who may start a track in :mod:`trackers.ground.tracker`: the birth rules.

A detection no track took starts a track when

- its score is at least ``birth_thresh``, the tracker's ``track_thresh + birth_margin``: a
  **birth margin** above what keeps a track going (ByteTrack's ``new_track_thresh``), so a box
  scoring just enough to be associated cannot start a track (false boxes score lower than true
  ones);
- **duplicate-aware birth** (``birth_overlap`` < 1): it does not lie in a detection of its class
  already taken this frame (by a track, or by a birth before it, in descending score) by
  ``birth_overlap`` or more of the smaller box **while** the two ground contacts are the same
  place (:data:`SAME_PLACE_D2`; where either has no contact, the image overlap alone decides).
  A detector's second box on one object (a 3D detector's second hypothesis, class-aware NMS's
  leftover) lies on or inside the first with its contact a few pixels away: on the ground it
  would start a track standing on the object, ready to take the object's detection the first
  time the true track misses it. An object standing behind another can nest in its box too, but
  its contact lies metres further away, which the ground tells apart.
"""
from __future__ import annotations

import numpy as np

from trackers.ground import kalman

#: two contacts closer than this (squared Mahalanobis distance under the sum of their ground
#: covariances: the chi-square 99 % quantile with 2 degrees of freedom) are the same place
SAME_PLACE_D2 = 9.21


def intersection_over_smaller(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) intersection area of boxes ``a`` (A, 4 xyxy) and ``b`` (B, 4) over the smaller of
    the two areas (0 where either box is empty)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:4], b[None, :, 2:4])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:4] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:4] - b[:, :2], 0, None), axis=1)
    smaller = np.minimum(area_a[:, None], area_b[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(smaller > 0, inter / smaller, 0.0)


def contact_distances(xa: np.ndarray, ca: np.ndarray, xb: np.ndarray, cb: np.ndarray) -> np.ndarray:
    """(A, B) squared Mahalanobis distances between ground contacts ``xa`` (A, 2) and ``xb``
    (B, 2) under the sum of their covariances ``ca`` (A, 2, 2) + ``cb`` (B, 2, 2) (NaN where a
    contact is unknown): :func:`trackers.ground.kalman.mahalanobis` with the first set as
    standing states."""
    x, p = kalman.new_states(xa, ca, np.zeros(len(xa)))
    return kalman.mahalanobis(x, p, xb, cb)[0]


def births(candidates: np.ndarray, taken: np.ndarray, boxes: np.ndarray, score: np.ndarray,
           cls: np.ndarray, birth_thresh: float, birth_overlap: float, obs=None,
           overlap=intersection_over_smaller) -> np.ndarray:
    """Indices (ascending) among ``candidates`` (detections no track took) that start tracks:
    score ``>= birth_thresh`` and, in descending score, no overlap ``>= birth_overlap`` with a
    detection of the same class among ``taken`` or the births before it (module docstring).
    ``overlap(a, b)`` -> (A, B): the overlap measure (the intersection over the smaller box; IoU
    also blocks only boxes of about the same size)."""
    cand = candidates[score[candidates] >= birth_thresh]
    if birth_overlap >= 1.0 or not len(cand):
        return np.sort(cand)
    cand = cand[np.argsort(-score[cand], kind="stable")]
    ios = overlap(boxes[cand], boxes)
    blocked = (ios >= birth_overlap) & (cls[cand][:, None] == cls[None, :])
    if obs is not None:  # where both have a contact, a duplicate stands where the taken box does
        both = obs.valid[cand][:, None] & obs.valid[None, :]
        d2 = contact_distances(obs.xy[cand], obs.cov[cand], obs.xy, obs.cov)
        blocked &= ~both | (d2 < SAME_PLACE_D2)
    used = np.zeros(len(boxes), dtype=bool)
    used[taken] = True
    out = []
    for k, d in enumerate(cand):
        if not (blocked[k] & used).any():
            out.append(d)
            used[d] = True
    return np.sort(np.asarray(out, dtype=np.int64))
