"""ByteTrack through boxmot 25's ``ByteTrack``, class-aware, lost-track buffer in seconds.

Score thresholds are boxmot's defaults; the buffer is 2 s (4 keyframes at 2 Hz) instead of
boxmot's 25 frames, which at 2 Hz would mean 12.5 s. No images are used.
"""
from __future__ import annotations

from dataclasses import dataclass

from trackers.base import LOST_TRACK_BUFFER_S
from trackers.boxmot_common import ClassSplitTracker, boxmot_track_buffer


@dataclass(frozen=True)
class ByteTrackParams:
    track_thresh: float = 0.45    # first association takes scores above this; new tracks too
    min_conf: float = 0.1         # scores at or below are ignored
    match_thresh: float = 0.8     # max score-fused (1 - IoU) cost, first association
    track_buffer_s: float = LOST_TRACK_BUFFER_S  # a lost track survives this many seconds of misses


class ByteTrackTracker(ClassSplitTracker):
    """ByteTrack (boxmot ``ByteTrack``) behind the :class:`trackers.base.Tracker` protocol."""

    Params = ByteTrackParams
    name = "bytetrack"

    def _check_params(self) -> None:
        self.track_buffer = boxmot_track_buffer(self.params.track_buffer_s, self.frame_rate)

    def _new_instance(self):
        from boxmot import ByteTrack

        p = self.params
        return ByteTrack(min_conf=p.min_conf, track_thresh=p.track_thresh, match_thresh=p.match_thresh,
                         track_buffer=self.track_buffer, frame_rate=self.frame_rate)
