"""ByteTrack through boxmot 25's ``ByteTrack``, class-aware, lost-track buffer in seconds.

Score thresholds are boxmot's defaults; the buffer is 2 s (4 keyframes at 2 Hz) instead of
boxmot's 25 frames, which at 2 Hz would mean 12.5 s. No images are used.

``cmc="pose"`` carries every track from the previous frame's camera to this one's with the
frames' known poses before boxmot predicts (:mod:`trackers.pose_cmc`; boxmot's ByteTrack has no
camera-motion compensation of its own); it needs every frame's calibration. ``cmc="none"``
(default): boxmot's ByteTrack as it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from trackers.base import BUFFER_GRID_S, LOST_TRACK_BUFFER_S
from trackers.boxmot_common import ClassSplitTracker, boxmot_track_buffer
from trackers.pose_cmc import XYAH, move_stracks

CMC_OPTIONS = ("none", "pose")


@dataclass(frozen=True)
class ByteTrackParams:
    #: ``detbench tune``'s grid (trackers.base, "Tuning grids"): two main thresholds, the buffer
    GRID: ClassVar[dict[str, list]] = {"track_thresh": [0.15, 0.3, 0.45], "match_thresh": [0.7, 0.8, 0.9],
                                       "track_buffer_s": list(BUFFER_GRID_S)}
    BUFFER_OPTION: ClassVar[str] = "track_buffer_s"  # the lost-track buffer, in seconds

    track_thresh: float = 0.45    # first association takes scores above this; new tracks too
    min_conf: float = 0.1         # scores at or below are ignored
    match_thresh: float = 0.8     # max score-fused (1 - IoU) cost, first association
    track_buffer_s: float = LOST_TRACK_BUFFER_S  # a lost track survives this many seconds of misses
    cmc: str = "none"             # camera-motion compensation: none | pose (needs the frames' calibration)


class ByteTrackTracker(ClassSplitTracker):
    """ByteTrack (boxmot ``ByteTrack``) behind the :class:`trackers.base.Tracker` protocol."""

    Params = ByteTrackParams
    DESCRIPTION = "ByteTrack via boxmot, class-aware, Kalman motion, no images, optional pose motion compensation"
    name = "bytetrack"

    def _check_params(self) -> None:
        self._check_cmc(CMC_OPTIONS)
        self.track_buffer = boxmot_track_buffer(self.params.track_buffer_s, self.frame_rate)

    def _pose_mover(self):
        return partial(move_stracks, model=XYAH)

    def boxmot_kwargs(self) -> dict:
        """The settings given to each boxmot ``ByteTrack``."""
        p = self.params
        return dict(min_conf=p.min_conf, track_thresh=p.track_thresh, match_thresh=p.match_thresh,
                    track_buffer=self.track_buffer, frame_rate=self.frame_rate)

    def _new_instance(self):
        from boxmot import ByteTrack

        return ByteTrack(**self.boxmot_kwargs())
