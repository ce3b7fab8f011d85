"""A minimal greedy IoU tracker: the cheap registry member for CI and a baseline in tables.

Each frame, detections scoring below ``min_score`` are ignored; the rest are matched to the
live tracks of the same class greedily by descending affinity (ties: earlier track, then earlier
detection), a pair needing affinity >= ``iou_threshold``. Unmatched detections start tracks;
a track unmatched for more than ``max_age_s`` seconds is forgotten. By default there is no
motion model (a track's box is its last detection) and the affinity is IoU, so fast motion at
2 Hz breaks tracks, which is what a baseline shows. Options for 2 Hz motion (docs/trackers.md, "Tracker options"):

- ``cost``: ``"iou"`` | ``"giou"`` | ``"centre"`` (:mod:`trackers.costs`);
- ``motion``: ``"none"`` | ``"cv"``: constant velocity, the track's box centre moved on by its
  last centre step per frame (from its last two detections) times the frames since its last
  detection, size kept;
- ``class_gate`` (default on): a track only takes detections of its class; off, any class (the
  track takes the detection's class).

Output: every track matched or started this frame, with its detection's box and score.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from detbench.core.errors import InputError
from detbench.core.types import as_tracks, empty_tracks, iou_matrix
from trackers.base import BUFFER_GRID_S, LOST_TRACK_BUFFER_S, Frame
from trackers.boxmot_common import check_frame_rate, frames_for_seconds, sanitize_detections
from trackers.costs import affinity, check_cost

MOTIONS = ("none", "cv")


@dataclass(frozen=True)
class IouParams:
    #: ``detbench tune``'s grid (trackers.base, "Tuning grids"): two main thresholds, the buffer
    GRID: ClassVar[dict[str, list]] = {"min_score": [0.1, 0.3, 0.5], "iou_threshold": [0.2, 0.3, 0.5],
                                       "max_age_s": list(BUFFER_GRID_S)}
    BUFFER_OPTION: ClassVar[str] = "max_age_s"  # the lost-track buffer, in seconds

    iou_threshold: float = 0.3
    min_score: float = 0.3
    max_age_s: float = LOST_TRACK_BUFFER_S  # the same buffer as every tracker
    cost: str = "iou"          # affinity: iou | giou | centre (trackers.costs)
    motion: str = "none"       # none | cv (constant-velocity box centre)
    class_gate: bool = True    # a track only takes detections of its own class


class IouTracker:
    """Greedy class-aware IoU matching (see module docstring)."""

    Params = IouParams
    DESCRIPTION = "greedy class-aware IoU matching, no motion model by default: the cheap baseline"
    name = "iou"

    def __init__(self, params: IouParams, frame_rate: float = 2.0):
        self.params = params
        self.frame_rate = check_frame_rate(frame_rate)
        self.max_age = frames_for_seconds(params.max_age_s, self.frame_rate)
        check_cost(params.cost, self.name)
        if params.motion not in MOTIONS:
            raise InputError(f"tracker 'iou': motion={params.motion!r} is not one of {', '.join(MOTIONS)}")
        self.reset()

    def reset(self) -> None:
        self._boxes = np.zeros((0, 4), dtype=np.float64)
        self._cls = np.zeros(0, dtype=np.int64)
        self._ids = np.zeros(0, dtype=np.int64)
        self._last = np.zeros(0, dtype=np.int64)
        self._step = np.zeros((0, 2), dtype=np.float64)  # centre step per frame (motion="cv")
        self._next_id = 1
        self._frame = 0
        self.dropped = 0

    def update(self, dets, frame: Frame | None = None) -> np.ndarray:
        clean, kept, dropped = sanitize_detections(dets)
        self.dropped += dropped
        self._frame += 1
        use = np.flatnonzero(clean[:, 4] >= self.params.min_score)
        d = clean[use].astype(np.float64)
        dcls = d[:, 5].astype(np.int64)

        p = self.params
        if p.cost == "iou" and p.motion == "none":
            iou = iou_matrix(self._boxes, d[:, :4])  # the baseline, bit for bit
        else:
            iou = affinity(self._predicted(), d[:, :4], p.cost)
        if p.class_gate:
            iou[self._cls[:, None] != dcls[None, :]] = 0.0
        track_of_det = np.full(len(d), -1, dtype=np.int64)
        if iou.size:
            ti, di = np.nonzero(iou >= self.params.iou_threshold)
            order = np.lexsort((di, ti, -iou[ti, di]))
            track_used = np.zeros(len(self._boxes), dtype=bool)
            for k in order:
                if not track_used[ti[k]] and track_of_det[di[k]] < 0:
                    track_used[ti[k]] = True
                    track_of_det[di[k]] = ti[k]

        matched = track_of_det >= 0
        t_m = track_of_det[matched]
        if p.motion == "cv":
            gap = np.maximum(self._frame - self._last[t_m], 1)[:, None]
            self._step[t_m] = (_centre(d[matched, :4]) - _centre(self._boxes[t_m])) / gap
        self._boxes[t_m] = d[matched, :4]
        self._cls[t_m] = dcls[matched]
        self._last[track_of_det[matched]] = self._frame
        new = np.flatnonzero(~matched)
        new_ids = np.arange(self._next_id, self._next_id + len(new), dtype=np.int64)
        self._next_id += len(new)
        ids_of_det = np.empty(len(d), dtype=np.int64)
        ids_of_det[matched] = self._ids[track_of_det[matched]]
        ids_of_det[new] = new_ids

        alive = self._frame - self._last <= self.max_age
        self._boxes = np.concatenate([self._boxes[alive], d[new, :4]])
        self._cls = np.concatenate([self._cls[alive], dcls[new]])
        self._ids = np.concatenate([self._ids[alive], new_ids])
        self._last = np.concatenate([self._last[alive], np.full(len(new), self._frame, dtype=np.int64)])
        self._step = np.concatenate([self._step[alive], np.zeros((len(new), 2))])

        if not len(d):
            return empty_tracks()
        out = np.column_stack([d[:, :4], ids_of_det, d[:, 4], dcls, kept[use]])
        return as_tracks(out[np.argsort(ids_of_det, kind="stable")])

    def _predicted(self) -> np.ndarray:
        """Each track's box this frame: its last detection, moved on at constant velocity with
        ``motion="cv"``."""
        if self.params.motion != "cv" or not len(self._boxes):
            return self._boxes
        shift = self._step * (self._frame - self._last)[:, None]
        return self._boxes + np.concatenate([shift, shift], axis=1)


def _centre(b: np.ndarray) -> np.ndarray:
    return (b[:, :2] + b[:, 2:]) / 2
