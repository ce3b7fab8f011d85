"""Optional association and birth rules of :mod:`trackers.trackssm.tracker` (all off by default).

- **Ground gate** (``ground_gate`` > 0, ground-plane models only): a track may not take a
  detection whose ground contact lies far from its predicted box's contact: the squared
  Mahalanobis distance between the two contacts, under the sum of their ground covariances
  (:func:`trackers.ground.measure.observe` with relative box noise ``GATE_NOISE``), must stay
  below ``ground_gate``. Where either box has no contact the image overlap alone decides, as
  without the rule. Two neighbours overlapping in the image but metres apart on the ground (a
  pedestrian passing in front of another, a car behind a car) then cannot swap.
- **Duplicate-aware birth** (``birth_overlap`` < 1): :func:`trackers.ground.birth.births`'s
  rule. An unmatched detection starts no track when it lies by ``birth_overlap`` of the smaller
  box in a same-class detection already taken this frame and, with a ground-plane model and
  where both have a contact, the two contacts are the same place. A detector's second box on an
  object would otherwise start a second track on it, ready to take the object's detection the
  first time the true track misses. ``birth_overlap_by="union"`` measures the overlap by IoU
  instead of the intersection over the smaller box: only a box of about the taken one's size is
  a duplicate, so a smaller object standing behind is born even where the ground cannot tell
  the two places apart (far away, where a contact's covariance spans metres).
"""
from __future__ import annotations

import numpy as np

from detbench.core.types import iou_matrix
from trackers.ground.birth import SAME_PLACE_D2, births, contact_distances, intersection_over_smaller
from trackers.ground.measure import observe

#: the relative box noise (of width, of height) of a contact, as the ``ground`` tracker's default
GATE_NOISE = 0.1
#: ``birth_overlap_by``: the intersection over the smaller box (a box nested in a taken one, of
#: any size) or IoU (a box of about the taken one's size: a smaller object behind it is born)
BIRTH_OVERLAP_BY = {"smaller": intersection_over_smaller, "union": iou_matrix}


def observations(frame, boxes: np.ndarray, classes: np.ndarray):
    """Ground measurements (:class:`trackers.ground.measure.Observations`) of ``boxes`` (N, 4
    xyxy) of ``classes`` (N,) in ``frame``'s camera."""
    return observe(frame.camera(), boxes, classes, GATE_NOISE)


def contact_d2(track_obs, det_obs) -> np.ndarray:
    """(T, D) squared Mahalanobis distances between the contacts of predicted boxes and of
    detections under their summed covariances; NaN where either contact is unknown."""
    both = track_obs.valid[:, None] & det_obs.valid[None, :]
    if not both.any():
        return np.full(both.shape, np.nan)
    with np.errstate(invalid="ignore"):
        d2 = contact_distances(track_obs.xy, track_obs.cov, det_obs.xy, det_obs.cov)
    return np.where(both, d2, np.nan)


def ground_allowed(d2: np.ndarray, gate: float) -> np.ndarray:
    """The pairs the ground gate lets through (module docstring): ``d2`` (:func:`contact_d2`)
    below ``gate``, or unknown."""
    return np.isnan(d2) | (d2 < gate)


def new_tracks(candidates: np.ndarray, taken, dets: np.ndarray, thresh: float, overlap: float,
               obs=None, by: str = "smaller") -> np.ndarray:
    """Indices among ``candidates`` (unmatched detections, rows of ``dets``: N x 6 xyxy, score,
    class) that start tracks: score >= ``thresh`` and duplicate-aware birth at ``overlap`` against
    the ``taken`` detections (``obs``: their ground measurements, None: image overlap only), the
    overlap measured ``by`` (:data:`BIRTH_OVERLAP_BY`)."""
    return births(np.asarray(candidates, dtype=np.int64), np.asarray(taken, dtype=np.int64), dets[:, :4],
                  dets[:, 4], dets[:, 5].astype(np.int64), thresh, overlap, obs, BIRTH_OVERLAP_BY[by])


def shadow_tracks(rows: np.ndarray, ages: np.ndarray, dets: np.ndarray, overlap: float, obs=None,
                  by: str = "smaller") -> np.ndarray:
    """Positions among ``rows`` (the detections tracks took this frame, rows of ``dets``) whose
    tracks end as shadows of an older one: a same-class box taken by a track with a longer
    history (``ages``, ties: the earlier position) overlapping it by ``overlap`` or more (measured
    ``by``, :data:`BIRTH_OVERLAP_BY`) and, where both have a ground contact in ``obs``, standing at
    the same ground place. Older tracks are kept first, so a chain keeps its oldest."""
    rows = np.asarray(rows, dtype=np.int64)
    if overlap >= 1.0 or len(rows) < 2:
        return np.zeros(0, dtype=np.int64)
    near = BIRTH_OVERLAP_BY[by](dets[rows, :4], dets[rows, :4]) >= overlap
    near &= dets[rows, 5][:, None] == dets[rows, 5][None, :]
    if obs is not None:
        valid = obs.valid[rows]
        d2 = contact_distances(obs.xy[rows], obs.cov[rows], obs.xy[rows], obs.cov[rows])
        near &= ~(valid[:, None] & valid[None, :]) | (d2 < SAME_PLACE_D2)
    kept, drop = [], []
    for k in np.argsort(-np.asarray(ages), kind="stable"):
        (drop if any(near[k, i] for i in kept) else kept).append(int(k))
    return np.sort(np.asarray(drop, dtype=np.int64))
