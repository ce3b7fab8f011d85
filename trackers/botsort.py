"""BoT-SORT through boxmot 25's ``BotSort``, class-aware, with times in seconds.

boxmot's class defaults except a 2 s lost-track buffer and the CMC choice (``auto``, ``sof``,
``ecc``, ``orb``, ``sift``, ``none``, ``pose``). What each does: docs/tracker-internals.md,
"BoT-SORT through boxmot".
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar

import numpy as np

from detbench.core.errors import InputError
from trackers import pose_cmc
from trackers.base import BUFFER_GRID_S, LOST_TRACK_BUFFER_S, Frame
from trackers.boxmot_common import ClassSplitTracker, SharedWarp, boxmot_track_buffer
from trackers.pose_cmc import XYWH, move_stracks

CMC_METHODS = ("auto", "none", "sof", "ecc", "orb", "sift", "pose")


@dataclass(frozen=True)
class BotSortParams:
    #: ``detbench tune``'s grid (trackers.base, "Tuning grids"): two main thresholds, the buffer
    GRID: ClassVar[dict[str, list]] = {"track_high_thresh": [0.15, 0.3, 0.5], "new_track_thresh": [0.2, 0.4, 0.6],
                                       "track_buffer_s": list(BUFFER_GRID_S)}
    BUFFER_OPTION: ClassVar[str] = "track_buffer_s"  # the lost-track buffer, in seconds

    track_high_thresh: float = 0.5      # first association takes scores above this
    track_low_thresh: float = 0.1       # scores at or below are ignored
    new_track_thresh: float = 0.6       # an unmatched detection starts a track above this
    match_thresh: float = 0.8           # max (1 - IoU) cost, first association
    second_match_thresh: float = 0.5    # max cost, low-score association
    unconfirmed_match_thresh: float = 0.7
    track_buffer_s: float = LOST_TRACK_BUFFER_S  # a lost track survives this many seconds of misses
    proximity_thresh: float = 0.5       # ReID only: IoU-distance gate
    appearance_thresh: float = 0.25     # ReID only: cosine-distance gate
    fuse_first_associate: bool = False
    cmc: str = "auto"
    reid_weights: str | None = None
    device: str = "cpu"


class BotSortTracker(ClassSplitTracker):
    """BoT-SORT (boxmot ``BotSort``) behind the :class:`trackers.base.Tracker` protocol."""

    Params = BotSortParams
    DESCRIPTION = "BoT-SORT via boxmot, class-aware, camera-motion compensation, optional ReID"
    name = "botsort"

    @staticmethod
    def input_files(params: BotSortParams) -> dict[str, Path]:
        """The ReID weights, when given (see :func:`trackers.base.input_files`)."""
        return {"reid_weights": Path(params.reid_weights)} if params.reid_weights is not None else {}

    def _check_params(self) -> None:
        p = self.params
        self._check_cmc(CMC_METHODS)
        if p.reid_weights is not None and not Path(p.reid_weights).is_file():
            raise InputError(f"tracker 'botsort': reid_weights {p.reid_weights}: file not found")
        self.track_buffer = boxmot_track_buffer(p.track_buffer_s, self.frame_rate)

    def reset(self) -> None:
        super().reset()
        self._warp = SharedWarp()
        method = {"auto": "sof", "none": None, "pose": None}.get(self.params.cmc, self.params.cmc)
        if method is None:
            self._cmc = None
        else:
            from boxmot.motion.cmc import create_cmc

            from trackers.cmc_memo import MemoCMC

            # sparse flow (the default) is remembered across runs; the others hold OpenCV objects
            # that cannot be copied, so they compute every warp
            self._cmc = MemoCMC(method, lambda: create_cmc(method), remember=method == "sof")

    def _pose_mover(self):
        return partial(move_stracks, model=XYWH)

    def boxmot_kwargs(self) -> dict:
        """The settings given to each boxmot ``BotSort`` (CMC is injected separately)."""
        p = self.params
        kwargs = dict(track_high_thresh=p.track_high_thresh, track_low_thresh=p.track_low_thresh,
                      new_track_thresh=p.new_track_thresh, track_buffer=self.track_buffer,
                      match_thresh=p.match_thresh, proximity_thresh=p.proximity_thresh,
                      appearance_thresh=p.appearance_thresh, frame_rate=self.frame_rate,
                      fuse_first_associate=p.fuse_first_associate,
                      second_match_thresh=p.second_match_thresh,
                      unconfirmed_match_thresh=p.unconfirmed_match_thresh,
                      use_cmc=False, use_embeddings=p.reid_weights is not None)
        if p.reid_weights is not None:
            kwargs.update(reid_weights=Path(p.reid_weights), device=p.device)
        return kwargs

    def _new_instance(self):
        from boxmot import BotSort

        inst = BotSort(**self.boxmot_kwargs())
        if self._cmc is not None:
            inst.cmc = self._warp  # the frame's shared estimate, computed once in _prepare_frame
        if self._pose is not None and pose_cmc._AFTER_PREDICT:
            inst._apply_camera_motion_compensation = self._pose_after_predict
        return inst

    def _pose_after_predict(self, dets, img, strack_pool: list, unconfirmed: list) -> None:
        """The pose move in BoT-SORT's own CMC place (after its prediction), when switched there."""
        move = self._pose.pending
        if move is not None:
            tracks = [t for t in (*strack_pool, *unconfirmed) if t.mean is not None]
            pose_cmc.move_track_list(tracks, [int(t.cls) for t in tracks], move, XYWH)

    def _prepare_frame(self, dets: np.ndarray, frame: Frame | None) -> np.ndarray | None:
        p = self.params
        has_image = frame is not None and frame.has_image()
        if p.reid_weights is not None and not has_image:
            raise InputError(f"tracker 'botsort': ReID (reid_weights) needs the frame's image, "
                             f"but {_describe(frame)} has none")
        if self._cmc is None:
            return frame.load_image() if p.reid_weights is not None else None
        if not has_image:
            if p.cmc != "auto":
                raise InputError(f"tracker 'botsort': cmc={p.cmc} needs the frame's image, but "
                                 f"{_describe(frame)} has none; use cmc=auto or cmc=none")
            self._cmc.reset()
            self._warp.reset()
            return None
        self._warp.warp, img = self._cmc.warp(frame, dets[:, :4])
        if p.reid_weights is None:
            return None
        return img if img is not None else frame.load_image()


def _describe(frame: Frame | None) -> str:
    if frame is None:
        return "a frame passed as None"
    where = f" (image_path={frame.image_path})" if frame.image_path is not None else ""
    return f"frame index {frame.index}{where}"
