"""Association affinities for the trackers detbench owns (``iou``, ``trackssm``), each in [0, 1].

``"iou"``, ``"giou"`` (mapped to [0, 1]) and ``"centre"`` (size-normalised centre distance); the
trackers match on ``1 - affinity``. Definitions, and why IoU alone fails at 2 Hz:
docs/tracker-internals.md, "Association costs".
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
