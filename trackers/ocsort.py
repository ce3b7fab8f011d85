"""OC-SORT through boxmot 25's ``OcSort``, class-aware, track lifetime in seconds.

``max_age_s`` in seconds, ``min_hits`` 1, boxmot's ``asso_func`` and ``cmc="pose"``
(:mod:`trackers.pose_cmc_ocsort`). Each option: docs/tracker-internals.md, "OC-SORT through
boxmot".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from detbench.core.errors import InputError
from trackers.base import BUFFER_GRID_S, LOST_TRACK_BUFFER_S
from trackers.boxmot_common import ClassSplitTracker, frames_for_seconds
from trackers.pose_cmc_ocsort import move_ocsort_tracks

ASSO_FUNCS = ("iou", "giou", "diou", "ciou", "hmiou")
CMC_OPTIONS = ("none", "pose")


@dataclass(frozen=True)
class OcSortParams:
    #: ``detbench tune``'s grid (trackers.base, "Tuning grids"): two main thresholds, the buffer
    GRID: ClassVar[dict[str, list]] = {"det_thresh": [0.15, 0.3, 0.5], "iou_threshold": [0.2, 0.3, 0.5],
                                       "max_age_s": list(BUFFER_GRID_S)}
    BUFFER_OPTION: ClassVar[str] = "max_age_s"  # the lost-track buffer, in seconds

    det_thresh: float = 0.3       # first association and new tracks take scores above this
    min_conf: float = 0.1         # scores at or below are ignored (BYTE stage only)
    iou_threshold: float = 0.3    # min IoU to associate
    max_age_s: float = LOST_TRACK_BUFFER_S  # a track unmatched for longer is deleted
    min_hits: int = 1             # updates after the first detection before a track is reported
    delta_t: int = 3              # observations back for the velocity direction
    inertia: float = 0.2          # weight of the velocity-direction consistency term
    use_byte: bool = False        # second association with low-score detections
    asso_func: str = "iou"        # boxmot's association geometry: iou | giou | diou | ciou | hmiou
    cmc: str = "none"             # camera-motion compensation: none | pose (needs the frames' calibration)


class OcSortTracker(ClassSplitTracker):
    """OC-SORT (boxmot ``OcSort``) behind the :class:`trackers.base.Tracker` protocol."""

    Params = OcSortParams
    DESCRIPTION = "OC-SORT via boxmot, class-aware, observation-centric Kalman motion, optional pose motion compensation"
    name = "ocsort"

    def _check_params(self) -> None:
        self._check_cmc(CMC_OPTIONS)
        self.max_age = frames_for_seconds(self.params.max_age_s, self.frame_rate)
        if self.params.asso_func not in ASSO_FUNCS:
            raise InputError(f"tracker 'ocsort': asso_func={self.params.asso_func!r} is not one of "
                             f"{', '.join(ASSO_FUNCS)}")

    def _pose_mover(self):
        return move_ocsort_tracks

    def boxmot_kwargs(self) -> dict:
        """The settings given to each boxmot ``OcSort``."""
        p = self.params
        return dict(det_thresh=p.det_thresh, min_conf=p.min_conf, iou_threshold=p.iou_threshold,
                    max_age=self.max_age, min_hits=p.min_hits, delta_t=p.delta_t, inertia=p.inertia,
                    use_byte=p.use_byte, asso_func=p.asso_func)

    def _new_instance(self):
        from boxmot import OcSort

        return OcSort(**self.boxmot_kwargs())
