"""Detection clean-up applied before every tracker, the same way.

Every tracker that :func:`trackers.make_tracker` builds is wrapped in :class:`CleanedTracker`, so
its options (minimum size, class-agnostic NMS, score recalibration, buffered association; all off
by default, and then the tracker receives the caller's array itself) exist for every tracker and
none can skip them. The rules, step by step: docs/tracker-internals.md, "Detection clean-up, step
by step".
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar

import numpy as np

from detbench.core.errors import InputError
from detbench.core.types import iou_matrix, valid_detection_mask

FUSE_MODES = ("max", "noisy_or")
MERGE_MODES = ("top", "wbf")
RECAL_RANGE = (0.1, 0.9)
RECAL_QUANTILES = (0.05, 0.95)
MAX_BOX_BUFFER = 2.0


@dataclass(frozen=True)
class CleanupParams:
    #: searched by ``detbench tune`` with every tracker (added to each ``Params.GRID``): off, and
    #: class-agnostic NMS at two IoUs
    GRID: ClassVar[dict[str, list]] = {"nms_iou": [1.0, 0.7, 0.5]}

    nms_iou: float = 1.0       # class-agnostic NMS: suppress IoU > this; 1.0 = off
    nms_fuse: str = "max"      # kept box's score: "max" (its own) or "noisy_or" over its group
    nms_merge: str = "top"     # kept box's box and class: "top" (its own) or "wbf" (group's weighted)
    min_box_px: float = 0.0    # drop boxes whose shorter side is below this (pixels); 0 = off
    recal_band: float = 0.0    # stretch a sequence's scores when their 5-95 % spread <= this; 0 = off
    box_buffer: float = 0.0    # tracker sees boxes widened by this x their size on every side; 0 = off

    def __post_init__(self):
        if self.nms_merge not in MERGE_MODES:
            raise InputError(f"clean-up option nms_merge={self.nms_merge!r} is not one of {', '.join(MERGE_MODES)}")
        if self.nms_fuse not in FUSE_MODES:
            raise InputError(f"clean-up option nms_fuse={self.nms_fuse!r} is not one of {', '.join(FUSE_MODES)}")
        if not 0.0 <= self.recal_band <= 1.0:
            raise InputError(f"clean-up option recal_band={self.recal_band!r} is outside [0, 1]")
        if not (np.isfinite(self.min_box_px) and self.min_box_px >= 0):
            raise InputError(f"clean-up option min_box_px={self.min_box_px!r} must be >= 0 (pixels)")
        if not (np.isfinite(self.box_buffer) and 0.0 <= self.box_buffer <= MAX_BOX_BUFFER):
            raise InputError(f"clean-up option box_buffer={self.box_buffer!r} is outside [0, {MAX_BOX_BUFFER:g}]")

    @property
    def off(self) -> bool:
        return self.nms_iou >= 1.0 and self.min_box_px <= 0 and self.recal_band <= 0 and self.box_buffer <= 0


CLEANUP_KEYS = tuple(f.name for f in fields(CleanupParams))


def split_options(options: dict | None) -> tuple[dict, dict]:
    """``options`` -> (clean-up options, the tracker's own options)."""
    options = dict(options or {})
    return ({k: v for k, v in options.items() if k in CLEANUP_KEYS},
            {k: v for k, v in options.items() if k not in CLEANUP_KEYS})


def nms(dets: np.ndarray, iou_thresh: float, fuse: str = "max", with_groups: bool = False):
    """Class-agnostic greedy NMS on (N, >=5) rows -> (kept row indices in descending-score order,
    their scores after ``fuse``[, each kept row's group: it and the rows it suppressed]); see
    the module docstring, step 2."""
    n = len(dets)
    order = np.argsort(-dets[:, 4], kind="stable")
    if n == 0 or iou_thresh >= 1.0:
        out = order, dets[order, 4].astype(np.float64)
        return (*out, [np.array([k]) for k in order]) if with_groups else out
    iou = iou_matrix(dets[order, :4].astype(np.float64), dets[order, :4].astype(np.float64))
    alive = np.ones(n, dtype=bool)
    kept, scores, groups = [], [], []
    for a in range(n):
        if not alive[a]:
            continue
        group = np.flatnonzero(alive & (iou[a] > iou_thresh))
        group = group[group > a]
        alive[group] = False
        s = float(dets[order[a], 4])
        if fuse == "noisy_or" and len(group):
            s = 1.0 - float(np.prod(1.0 - np.concatenate([[s], dets[order[group], 4].astype(np.float64)])))
        kept.append(order[a])
        scores.append(s)
        groups.append(order[np.concatenate([[a], group])])
    out = np.asarray(kept, dtype=np.int64), np.asarray(scores, dtype=np.float64)
    return (*out, groups) if with_groups else out


def _merge(dets: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``nms_merge="wbf"`` for one group (first row = the kept one) -> (box (4,), class)."""
    g = dets[group].astype(np.float64)
    w = g[:, 4] / g[:, 4].sum() if g[:, 4].sum() > 0 else np.full(len(g), 1 / len(g))
    box = (g[:, :4] * w[:, None]).sum(axis=0)
    classes = np.unique(g[:, 5])
    votes = np.array([g[g[:, 5] == c, 4].sum() for c in classes])
    best = classes[votes == votes.max()]
    return box, (g[0, 5] if g[0, 5] in best else best[0])


def clean_frame(dets, params: CleanupParams, recal: tuple[float, float] | None = None):
    """Steps 1-2, step 3 with ``recal`` = (lo, hi) from :func:`recal_range`, and step 4's widening
    on one frame -> (cleaned (K, 6) float32 as the tracker receives them, the caller's row of each
    cleaned row (K,) int64)."""
    a = np.asarray(dets, dtype=np.float32).reshape(-1, 6) if np.size(dets) else np.zeros((0, 6), np.float32)
    detections = valid_detection_mask(a)
    valid = detections.copy()
    if params.min_box_px > 0:
        valid &= np.minimum(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]) >= params.min_box_px
    idx = np.flatnonzero(valid)
    kept, scores, groups = nms(a[idx], params.nms_iou, params.nms_fuse, with_groups=True)
    rows = idx[kept]
    out = a[rows].copy()
    out[:, 4] = scores
    if params.nms_merge == "wbf":
        for k, group in enumerate(groups):
            if len(group) > 1:
                box, cls = _merge(a[idx], group)
                out[k, :4], out[k, 5] = box, cls
    if recal is not None:
        lo, hi = recal
        out[:, 4] = np.clip(RECAL_RANGE[0] + (RECAL_RANGE[1] - RECAL_RANGE[0]) * (scores - lo) / (hi - lo), 0, 1)
    if params.box_buffer > 0:
        out = buffer_boxes(out, params.box_buffer)
    invalid = np.flatnonzero(~detections)  # passed through for the tracker to sanitise
    rows = np.concatenate([rows, invalid])
    out = np.concatenate([out, a[invalid]])
    order = np.argsort(rows, kind="stable")  # the caller's row order
    return out[order].astype(np.float32), rows[order].astype(np.int64)


def buffer_boxes(boxes: np.ndarray, b: float) -> np.ndarray:
    """xyxy ``boxes`` (N, >=4) with columns 0-3 widened by ``b`` x their size on every side (step 4)."""
    out = np.array(boxes, copy=True)
    w, h = out[:, 2] - out[:, 0], out[:, 3] - out[:, 1]
    out[:, 0] -= b * w
    out[:, 2] += b * w
    out[:, 1] -= b * h
    out[:, 3] += b * h
    return out


def unbuffer_boxes(boxes: np.ndarray, b: float) -> np.ndarray:
    """The inverse of :func:`buffer_boxes`: columns 0-3 narrowed about their centre by ``1 + 2b``."""
    out = np.array(boxes, copy=True)
    c = (out[:, 0:2] + out[:, 2:4]) / 2
    half = (out[:, 2:4] - out[:, 0:2]) / (2 * (1 + 2 * b))
    out[:, 0:2], out[:, 2:4] = c - half, c + half
    return out


def recal_range(frames: list, params: CleanupParams) -> tuple[float, float] | None:
    """(lo, hi) when the sequence's scores after steps 1-2 sit in a band ``<= recal_band`` wide,
    else None (module docstring, step 3)."""
    if params.recal_band <= 0:
        return None
    base = replace(params, recal_band=0.0)
    scores = [clean_frame(d, base)[0][:, 4] for d in frames]
    s = np.concatenate(scores) if scores else np.zeros(0)
    s = s[np.isfinite(s)]
    if len(s) < 2:
        return None
    lo, hi = (float(q) for q in np.quantile(s.astype(np.float64), RECAL_QUANTILES))
    return (lo, hi) if 0 < hi - lo <= params.recal_band else None


def clean_sequence(frames: list, params: CleanupParams) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every frame of a sequence cleaned as a tracker receives it: [(cleaned, caller rows)]."""
    recal = recal_range(frames, params)
    return [clean_frame(d, params, recal) for d in frames]


class CleanedTracker:
    """A tracker behind the clean-up (module docstring); everything else is the wrapped tracker's."""

    def __init__(self, inner, cleanup: CleanupParams):
        self.inner = inner
        self.cleanup = cleanup
        self._recal: tuple[float, float] | None = None
        self._begun = False

    def __getattr__(self, name):  # params, dropped, tracks, ... of the wrapped tracker
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def begin_sequence(self, frames: list) -> None:
        """Give the whole sequence's detections before its first frame (score recalibration)."""
        self._recal = recal_range(frames, self.cleanup)
        self._begun = True

    def reset(self) -> None:
        self.inner.reset()
        self._recal, self._begun = None, False

    def update(self, dets, frame=None) -> np.ndarray:
        if self.cleanup.off:
            return self.inner.update(dets, frame)
        if self.cleanup.recal_band > 0 and not self._begun:
            raise InputError("clean-up option recal_band needs the whole sequence: call "
                             "begin_sequence(detections of every frame) first")
        cleaned, rows = clean_frame(dets, self.cleanup, self._recal)
        tracks = self.inner.update(cleaned, frame)
        if len(tracks):
            tracks = tracks.copy()
            tracks[:, 7] = rows[tracks[:, 7].astype(np.int64)]
            if self.cleanup.box_buffer > 0:
                tracks[:, :4] = unbuffer_boxes(tracks[:, :4].astype(np.float64), self.cleanup.box_buffer)
        return tracks
