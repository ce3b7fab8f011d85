"""Shared adapter code for the boxmot trackers (BoT-SORT, ByteTrack, OC-SORT).

:class:`ClassSplitTracker` gives each of them sanitised input, one boxmot instance per class with
boxmot's per-class rules, boxmot's tracking kernel called directly, one CMC estimate per frame,
pose compensation and buffers in seconds. What each of these means: docs/tracker-internals.md,
"The boxmot adapter".
"""
from __future__ import annotations

import functools
import logging
import math

import numpy as np

from detbench.core.classes import NUM_CLASSES
from detbench.core.errors import InputError
from detbench.core.types import empty_tracks, valid_detection_mask
from trackers.base import Frame


def quiet_boxmot() -> None:
    """boxmot logs every construction at INFO through its own handler; keep harness output clean."""
    from boxmot.utils import logger as boxmot_logger

    boxmot_logger.setLevel(logging.WARNING)


def frames_for_seconds(seconds: float, frame_rate: float) -> int:
    """Number of frames spanning ``seconds`` at ``frame_rate`` Hz (rounded, never negative)."""
    if not (math.isfinite(seconds) and seconds >= 0):
        raise InputError(f"a duration must be a finite number of seconds >= 0, got {seconds!r}")
    check_frame_rate(frame_rate)
    return max(0, int(round(seconds * frame_rate)))


def check_frame_rate(frame_rate: float) -> float:
    if not (isinstance(frame_rate, (int, float)) and math.isfinite(frame_rate) and frame_rate > 0):
        raise InputError(f"frame rate must be a positive number of Hz, got {frame_rate!r}")
    return float(frame_rate)


def boxmot_track_buffer(seconds: float, frame_rate: float) -> int:
    """The ``track_buffer`` to give boxmot's BotSort/ByteTrack so a lost track survives
    ``round(seconds * frame_rate)`` consecutive missed frames (at least 1).

    boxmot sets ``max_time_lost = int(frame_rate / 30 * track_buffer)``, and a track it removes
    stays matchable for one more frame (it leaves ``lost_stracks`` only on the next update, as
    in the original ByteTrack), so it survives ``max_time_lost + 1`` missed frames; verified in
    tests/test_botsort.py. We therefore aim ``max_time_lost`` at one frame less than asked.
    """
    target = max(frames_for_seconds(seconds, frame_rate) - 1, 0)
    buffer = math.ceil(target * 30.0 / frame_rate)
    # float rounding in boxmot's own formula decides; step to the exact integer
    while int(frame_rate / 30.0 * buffer) < target:
        buffer += 1
    while buffer > 0 and int(frame_rate / 30.0 * (buffer - 1)) >= target:
        buffer -= 1
    return buffer


def sanitize_detections(dets) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows boxmot accepts, their indices in the input, and how many rows were dropped.

    Raises :class:`InputError` when ``dets`` is not an (N, 6) array; drops (does not raise on)
    rows that are non-finite, have non-positive size, a score outside [0, 1] or a class that is
    not an integer in 0..6.
    """
    a = np.asarray(dets, dtype=np.float32)
    if a.size == 0:
        return np.zeros((0, 6), dtype=np.float32), np.zeros(0, dtype=np.int64), 0
    if a.ndim != 2 or a.shape[1] != 6:
        raise InputError(f"detections must be an (N, 6) array x1,y1,x2,y2,score,class; got shape {a.shape}")
    keep = valid_detection_mask(a)
    cls = a[:, 5]
    with np.errstate(invalid="ignore"):
        keep &= (cls == np.floor(cls)) & (cls >= 0) & (cls < NUM_CLASSES)
    idx = np.flatnonzero(keep)
    return a[idx], idx, int(len(a) - len(idx))


class SharedWarp:
    """Stands in for a boxmot CMC object inside each class instance: returns this frame's warp."""

    def __init__(self) -> None:
        self.warp = np.eye(2, 3, dtype=np.float32)

    def apply(self, img, dets=None) -> np.ndarray:  # boxmot's CMC signature
        return self.warp

    def reset(self) -> None:
        self.warp = np.eye(2, 3, dtype=np.float32)


class ClassSplitTracker:
    """Base for boxmot adapters: per-class instances, sanitising, output conversion.

    Subclasses set ``Params`` and implement ``_new_instance()``; they may override
    ``_prepare_frame(dets, frame)`` (called once per frame with the sanitised detections,
    returning the image to pass to boxmot or None).
    """

    Params: type
    name = "boxmot"

    def __init__(self, params, frame_rate: float = 2.0):
        quiet_boxmot()
        self.params = params
        self.frame_rate = check_frame_rate(frame_rate)
        self._check_params()
        self.reset()

    # ---------------------------------------------------------------- subclass hooks
    def _check_params(self) -> None:
        pass

    def _new_instance(self):
        raise NotImplementedError

    def _prepare_frame(self, dets: np.ndarray, frame: Frame | None) -> np.ndarray | None:
        return None

    def _check_cmc(self, allowed: tuple[str, ...]) -> None:
        """One line naming the tracker and the values when the ``cmc`` option is not one of ``allowed``."""
        if self.params.cmc not in allowed:
            raise InputError(f"tracker {self.name!r}: cmc={self.params.cmc!r} is not one of {', '.join(allowed)}")

    def _pose_mover(self):
        """With ``cmc=pose``: ``mover(instances, move)`` for :class:`trackers.pose_cmc.PoseCompensation`."""
        return None

    @staticmethod
    def needs_calibration(params) -> bool:
        """``cmc=pose`` reads every frame's camera calibration (:func:`trackers.base.needs_calibration`)."""
        return getattr(params, "cmc", None) == "pose"

    # ---------------------------------------------------------------- Tracker protocol
    def reset(self) -> None:
        from boxmot.trackers.common.tracking.track import TrackIdAllocator

        self._instances: dict[int, object] = {}
        self._ids = TrackIdAllocator()
        self.dropped = 0
        self.frames_seen = 0
        mover = self._pose_mover() if self.needs_calibration(self.params) else None
        if mover is None:
            self._pose = None
        else:
            from trackers.pose_cmc import PoseCompensation

            self._pose = PoseCompensation(self.name, mover)

    def update(self, dets, frame: Frame | None = None) -> np.ndarray:
        """Sanitised, class-split boxmot update; returns (M, 8) float32 tracks (see trackers.base)."""
        clean, kept, dropped = sanitize_detections(dets)
        self.dropped += dropped
        self.frames_seen += 1
        img = self._prepare_frame(clean, frame)
        if self._pose is not None:
            self._pose.before_update(frame, self._instances)
        classes = clean[:, 5]
        # boxmot's det-indexed kernel layout: x1, y1, x2, y2, score, class, caller's row
        indexed = np.empty((len(clean), 7), dtype=np.float32)
        indexed[:, :6] = clean
        indexed[:, 6] = kept
        detected = np.unique(classes).astype(np.int64).tolist()
        for c in detected:
            if c not in self._instances:
                self._instances[c] = self._instance()
        out = []
        for c in sorted(self._instances):
            inst = self._instances[c]
            if c in detected:
                rows = indexed[classes == c]
            elif has_live_tracks(inst):
                rows = indexed[:0]
            else:  # nothing to predict, match or age: boxmot's update would only count the frame
                continue
            inst.frame_count = self.frames_seen - 1
            raw = self._advance(inst, rows, img)
            if len(raw):
                out.append(raw)
        if not out:
            return empty_tracks()
        tracks = np.concatenate(out).astype(np.float32, copy=False)
        tracks[:, 4] += 1  # boxmot ids start at 0; ours at 1
        return tracks[np.argsort(tracks[:, 4], kind="stable")]

    def _instance(self):
        inst = self._new_instance()
        inst.id_allocator = self._ids  # one allocator: ids unique across classes
        return inst

    @staticmethod
    def _advance(inst, rows: np.ndarray, img) -> np.ndarray:
        """One boxmot update of ``inst`` with det-indexed ``rows`` -> its (K, 8) output, ``det_index``
        the caller's row (module docstring)."""
        if not inst.use_embeddings:
            return inst._track_detections(rows, img)
        raw = np.asarray(inst.update(rows[:, :6], img), dtype=np.float32).reshape(-1, 8)
        raw[:, 7] = rows[raw[:, 7].astype(np.int64), 6]
        return raw


@functools.cache
def _live_collections() -> tuple[str, ...]:
    """boxmot's names of the collections that hold tracks still alive (its per-class mode's rule)."""
    from boxmot.trackers.common.tracking.collections import LIVE_STATE_GROUPS, track_collection_attrs

    return tuple(name for group in LIVE_STATE_GROUPS for name in track_collection_attrs(group))


def has_live_tracks(inst) -> bool:
    """Whether a boxmot instance keeps any track (tracked, unconfirmed or lost) an update would
    predict, match or age."""
    return any(getattr(inst, name, None) for name in _live_collections())
