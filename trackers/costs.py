"""Association affinities for the trackers detbench owns (``iou``, ``trackssm``), each in [0, 1].

At 2 Hz an object moves tens to hundreds of pixels between keyframes, so a track's box and its
next detection often do not overlap at all and IoU is 0 for the right pair and every wrong one.
Each affinity is a similarity (1 = same box); the trackers match on ``1 - affinity`` and a pair
needs ``affinity >= threshold`` (their ``iou_threshold`` / ``match_iou`` options):

- ``"iou"``: intersection over union.
- ``"giou"``: generalised IoU mapped to [0, 1], ``(GIoU + 1) / 2``, where
  ``GIoU = IoU - (|C| - |A u B|) / |C|`` and C is the smallest box enclosing both. Disjoint
  boxes still get a graded value (0.5 when touching, towards 0 when far apart and small).
- ``"centre"``: ``max(0, 1 - d / s)`` with d the distance between the box centres and s the mean
  of the two boxes' diagonals: 1 for the same centre, 0 once the centres are a box size apart.
  Size-normalised, so a 200 px step of a large near car scores like a 20 px step of a far one.

Which boxes are compared (the track's last box or its motion prediction) is the tracker's choice.
"""
from __future__ import annotations

import numpy as np

from detbench.core.errors import InputError
from detbench.core.types import iou_matrix

COSTS = ("iou", "giou", "centre")


def check_cost(cost: str, tracker: str) -> None:
    if cost not in COSTS:
        raise InputError(f"tracker {tracker!r}: cost={cost!r} is not one of {', '.join(COSTS)}")


def _enclosing_area(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = np.maximum(a[:, None, 2], b[None, :, 2]) - np.minimum(a[:, None, 0], b[None, :, 0])
    h = np.maximum(a[:, None, 3], b[None, :, 3]) - np.minimum(a[:, None, 1], b[None, :, 1])
    return np.maximum(w, 0) * np.maximum(h, 0)


def affinity(a, b, cost: str = "iou") -> np.ndarray:
    """(len(a), len(b)) affinities in [0, 1] between xyxy boxes ``a`` and ``b`` (module docstring)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    if cost == "iou":
        return iou_matrix(a, b)
    if cost == "giou":
        iou = iou_matrix(a, b)
        area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
        area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            union = np.where(iou > 0, (area_a[:, None] + area_b[None, :]) / (1 + iou),
                             area_a[:, None] + area_b[None, :])
            c = _enclosing_area(a, b)
            giou = np.where(c > 0, iou - (c - union) / c, iou)
        return np.clip((giou + 1) / 2, 0, 1)
    if cost == "centre":
        ca = (a[:, :2] + a[:, 2:]) / 2
        cb = (b[:, :2] + b[:, 2:]) / 2
        d = np.linalg.norm(ca[:, None, :] - cb[None, :, :], axis=2)
        diag_a = np.hypot(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1])
        diag_b = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
        s = (diag_a[:, None] + diag_b[None, :]) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.clip(np.where(s > 0, 1 - d / s, 0.0), 0, 1)
    raise InputError(f"unknown association cost {cost!r}; one of {', '.join(COSTS)}")
