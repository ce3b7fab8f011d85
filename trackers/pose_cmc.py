"""``cmc=pose``: camera-motion compensation from the frames' known poses, for boxmot's trackers.

Before boxmot's ``update`` sees a frame, every track state is carried from the previous frame's
camera into this one's (:class:`StateModel` per tracker); no boxmot file is patched. Why, and how
positions, velocities and covariances move: docs/tracker-internals.md, "Pose compensation, inside".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from detbench.core.errors import InputError
from detbench.core.geometry import camera_of
from detbench.core.image_motion import BoxMotion, box_motion

#: ``move(boxes (N, 4), classes (N,)) -> BoxMotion`` from the previous frame's camera to this one's
MoveBoxes = Callable[[np.ndarray, np.ndarray], BoxMotion]


@dataclass(frozen=True)
class StateModel:
    """A Kalman state layout: 4 measurement values, then the velocities of ``velocity_of`` of them."""

    kind: str                       # "xywh" | "xyah" | "xysr"
    velocity_of: tuple[int, ...]

    @property
    def dim(self) -> int:
        return 4 + len(self.velocity_of)

    def to_boxes(self, m: np.ndarray) -> np.ndarray:
        """(N, >=4) measurement part -> (N, 4) xyxy."""
        if self.kind == "xywh":
            wh = m[:, 2:4]
        elif self.kind == "xyah":
            wh = m[:, 2:4].copy()
            wh[:, 0] *= wh[:, 1]
        else:
            w = np.sqrt(np.maximum(m[:, 2:3] * m[:, 3:4], 1e-12))
            wh = np.concatenate((w, m[:, 2:3] / np.maximum(w, 1e-6)), axis=1)
        return np.concatenate((m[:, :2], wh), axis=1) @ _XYWH_TO_XYXY

    def from_boxes(self, boxes: np.ndarray) -> np.ndarray:
        """(N, 4) xyxy -> (N, 4) measurement values (boxmot's own conversions)."""
        m = boxes @ _XYXY_TO_XYWH
        if self.kind == "xyah":
            m[:, 2] /= np.maximum(m[:, 3], 1e-6)
        elif self.kind == "xysr":
            w = m[:, 2].copy()
            m[:, 2], m[:, 3] = w * m[:, 3], w / (m[:, 3] + 1e-6)
        return m

    def linear_map(self, motion: BoxMotion) -> np.ndarray:
        """(N, dim, dim) T = diag(A, A restricted to the velocities) (module docstring)."""
        n, s = len(motion.scale), motion.scale
        size_gain = (s, s) if self.kind == "xywh" else (1.0, s) if self.kind == "xyah" else (s * s, 1.0)
        t = np.zeros((n, self.dim, self.dim))
        t[:, :2, :2] = t[:, 4:6, 4:6] = motion.jacobian
        t[:, 2, 2], t[:, 3, 3] = size_gain
        for k, m in enumerate(self.velocity_of[2:], start=6):
            t[:, k, k] = size_gain[m - 2]
        return t

    def move(self, x: np.ndarray, p: np.ndarray | None, motion: BoxMotion) -> tuple[np.ndarray, np.ndarray | None]:
        """States ``x`` (N, dim) and covariances ``p`` (N, dim, dim) carried by ``motion`` (the
        motion of ``to_boxes(x)``): the measurement part from the moved boxes, velocities and
        covariances through :meth:`linear_map`."""
        t = self.linear_map(motion)
        out = (t @ x[:, :, None])[:, :, 0]
        out[:, :4] = self.from_boxes(motion.boxes)
        return out, None if p is None else t @ p @ t.transpose(0, 2, 1)


#: (cx, cy, w, h) @ this = (x1, y1, x2, y2), and back
_XYWH_TO_XYXY = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [-0.5, 0, 0.5, 0], [0, -0.5, 0, 0.5]])
_XYXY_TO_XYWH = np.linalg.inv(_XYWH_TO_XYXY)


XYWH = StateModel("xywh", (0, 1, 2, 3))   # boxmot BotSort's STrack (KalmanFilterXYWH)
XYAH = StateModel("xyah", (0, 1, 2, 3))   # boxmot ByteTrack's STrack (KalmanFilterXYAH)
XYSR = StateModel("xysr", (0, 1, 2))      # boxmot OcSort's KalmanBoxTracker (KalmanFilterXYSR)


def take(motion: BoxMotion, rows) -> BoxMotion:
    """The rows ``rows`` (slice or index array) of a :class:`BoxMotion`."""
    return BoxMotion(motion.boxes[rows], motion.jacobian[rows], motion.scale[rows], motion.on_ground[rows])


def move_stracks(instances: dict, move: MoveBoxes, model: StateModel) -> None:
    """BoT-SORT / ByteTrack: every track an instance keeps (tracked, unconfirmed and lost) has
    ``mean`` (dim,) and ``covariance`` (dim, dim) (float64, boxmot's filters); both are carried
    into the new camera."""
    tracks, classes = [], []
    for cls, inst in instances.items():
        if not (inst.active_tracks or inst.lost_stracks):
            continue
        kept = [t for t in (*inst.active_tracks, *inst.lost_stracks) if t.mean is not None]
        tracks += kept
        classes += [cls] * len(kept)
    if not tracks:
        return
    x = np.array([t.mean for t in tracks]).astype(np.float64, copy=False)
    p = np.array([t.covariance for t in tracks]).astype(np.float64, copy=False)
    new_x, new_p = model.move(x, p, move(model.to_boxes(x), classes))
    for track, xi, pi in zip(tracks, new_x, new_p):
        track.mean, track.covariance = xi, pi


class PoseCompensation:
    """Carries a class-split boxmot tracker's track states from each frame's camera to the next.

    ``mover(instances, move)`` rewrites the states of ``instances`` ({class: boxmot instance})
    with ``move`` (boxes of the previous camera -> :class:`BoxMotion` into this one). Call
    :meth:`before_update` once per frame before the instances' ``update``; :meth:`reset` at a new
    sequence.
    """

    def __init__(self, tracker_name: str, mover: Callable[[dict, MoveBoxes], None]):
        self.tracker_name = tracker_name
        self.mover = mover
        self.reset()

    def reset(self) -> None:
        self._camera = None

    def before_update(self, frame, instances: dict) -> None:
        if frame is None or not frame.has_calibration():
            where = "a frame passed as None" if frame is None else f"frame index {frame.index}"
            raise InputError(f"tracker {self.tracker_name!r}: cmc=pose needs the frame's camera calibration "
                             f"(intrinsics and cam2global from frames.json), but {where} has none")
        camera = camera_of(frame.intrinsics, frame.cam2global, frame.width, frame.height)
        previous, self._camera = self._camera, camera
        if previous is None or not instances or previous.key == camera.key:  # a still camera moves nothing
            return

        def move(boxes, classes):
            return box_motion(boxes, previous, camera, classes)

        self.mover(instances, move)

