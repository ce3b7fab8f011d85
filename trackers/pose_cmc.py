"""``cmc=pose``: camera-motion compensation from the frames' known poses, for boxmot's trackers.

Before boxmot's ``update`` sees a frame, every track state is carried from the previous frame's
camera into this one's (:class:`StateModel` per tracker); no boxmot file is patched. Why, and how
positions, velocities and covariances move: docs/tracker-internals.md, "Pose compensation, inside".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from detbench.core.errors import InputError
from detbench.core.geometry import EDGE_PX
from detbench.core.image_motion import RowMotion, clip_span, motion_rows
from detbench.core.pose_camera import float_camera

#: ``move(boxes [[x1, y1, x2, y2], ...], classes [...]) -> RowMotion`` from the previous frame's
#: camera to this one's
MoveBoxes = Callable[[list, list], RowMotion]

# The compensation's design choices, switchable only for the tune-split experiment that chose them
# (benchmarks/pose_decisions.py; benchmarks/README.md, "Calibrated motion: pose compensation").
# The values here are the chosen ones.
_CARRY_COVARIANCE = True   # P -> T P T^T; False: the covariance left as it was
_CLIP_SIDES = True         # also cut moved boxes at the left/right image edges (as at top/bottom)
_AFTER_PREDICT = False     # BoT-SORT only: move the states after boxmot's prediction, where its own CMC acts
_NOISE_PER_M = 0.03        # compensation noise: position sd, a fraction of the box height per metre of ego travel
_FULL_HEIGHT_STAYS = False  # a box spanning the image's height stays where it is (else: turned like any box off the ground)


@dataclass(frozen=True)
class StateModel:
    """A Kalman state layout: 4 measurement values, then the velocities of ``velocity_of`` of them.

    A frame moves a handful of states, so the per-state work is on Python floats and only the
    covariances go through numpy, all of a frame's in one batched product."""

    kind: str                       # "xywh" | "xyah" | "xysr"
    velocity_of: tuple[int, ...]

    @property
    def dim(self) -> int:
        return 4 + len(self.velocity_of)

    def to_box(self, m) -> list:
        """A state's measurement part (a sequence of >= 4 floats) -> [x1, y1, x2, y2]."""
        cx, cy, a, b = m[0], m[1], m[2], m[3]
        if self.kind == "xywh":
            w, h = a, b
        elif self.kind == "xyah":
            w, h = a * b, b
        else:  # max keeps a NaN, as np.maximum does
            w = math.sqrt(max(a * b, 1e-12))
            h = a / max(w, 1e-6)
        return [cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h]

    def from_box(self, box) -> list:
        """[x1, y1, x2, y2] -> the 4 measurement values (boxmot's own conversions)."""
        x1, y1, x2, y2 = box[0], box[1], box[2], box[3]
        w, h = x2 - x1, y2 - y1
        if self.kind == "xyah":
            return [0.5 * (x1 + x2), 0.5 * (y1 + y2), w / max(h, 1e-6), h]
        if self.kind == "xysr":
            return [0.5 * (x1 + x2), 0.5 * (y1 + y2), w * h, w / (h + 1e-6)]
        return [0.5 * (x1 + x2), 0.5 * (y1 + y2), w, h]

    def move(self, means: list, p: np.ndarray | None, motion: RowMotion) -> tuple[np.ndarray, np.ndarray | None]:
        """States ``means`` (N lists of dim floats) and covariances ``p`` (N, dim, dim) carried by
        ``motion`` (the motion of their boxes, :meth:`to_box`), as new arrays: the measurement
        part from the moved boxes, the rest and the covariances by T = diag(J, size gains, J,
        velocity gains): the centre and its velocity through the Jacobian J, a width or height by
        the depth ratio s, an area by s^2, an aspect ratio unchanged; P -> T P T^T (its symmetric part), all of a
        frame's covariances in one batched product."""
        rows = []   # per state: the new state, then T's non-zero values (J, size gains, J, velocity gains)
        kind = self.kind
        for x, box, (j00, j01, j10, j11), s in zip(means, motion.boxes, motion.jacobian, motion.scale):
            row, vx, vy = self.from_box(box), x[4], x[5]
            if kind == "xywh":
                row += (j00 * vx + j01 * vy, j10 * vx + j11 * vy, s * x[6], s * x[7],
                        j00, j01, j10, j11, s, s, j00, j01, j10, j11, s, s)
            elif kind == "xyah":
                row += (j00 * vx + j01 * vy, j10 * vx + j11 * vy, x[6], s * x[7],
                        j00, j01, j10, j11, 1.0, s, j00, j01, j10, j11, 1.0, s)
            else:
                s2 = s * s
                row += (j00 * vx + j01 * vy, j10 * vx + j11 * vy, s2 * x[6],
                        j00, j01, j10, j11, s2, 1.0, j00, j01, j10, j11, s2)
            rows.append(row)
        both = np.array(rows, dtype=np.float64)
        new_x = both[:, :self.dim]
        if p is None or not _CARRY_COVARIANCE:
            return new_x, p
        n, dim = len(rows), self.dim
        t = (both[:, dim:] @ _T_BASIS[dim]).reshape(n, dim, dim)
        moved = t @ p @ t.transpose(0, 2, 1)
        # its symmetric part: boxmot's update (P - K S K^T) lets an asymmetry grow, and a T that
        # magnifies (a near object approached) would otherwise grow it frame by frame until the
        # filter's Cholesky fails
        return new_x, 0.5 * (moved + moved.transpose(0, 2, 1))


def _t_basis(dim: int) -> np.ndarray:
    """(entries, dim * dim): row k is 1 at T's k-th non-zero entry in :meth:`StateModel.move`'s
    order (J, the size gains, J, the velocity gains), so values @ basis is T, flattened (each
    product has one non-zero term: exact)."""
    block = [(0, 0), (0, 1), (1, 0), (1, 1)]
    entries = block + [(2, 2), (3, 3)] + [(4 + i, 4 + j) for i, j in block] + [(k, k) for k in range(6, dim)]
    basis = np.zeros((len(entries), dim * dim))
    for k, (r, c) in enumerate(entries):
        basis[k, r * dim + c] = 1.0
    return basis


_T_BASIS = {7: _t_basis(7), 8: _t_basis(8)}

XYWH = StateModel("xywh", (0, 1, 2, 3))   # boxmot BotSort's STrack (KalmanFilterXYWH)
XYAH = StateModel("xyah", (0, 1, 2, 3))   # boxmot ByteTrack's STrack (KalmanFilterXYAH)
XYSR = StateModel("xysr", (0, 1, 2))      # boxmot OcSort's KalmanBoxTracker (KalmanFilterXYSR)


def take(motion: RowMotion, rows: slice) -> RowMotion:
    """The rows ``rows`` (a slice) of a :class:`RowMotion`."""
    return RowMotion(motion.boxes[rows], motion.jacobian[rows], motion.scale[rows], motion.on_ground[rows])


def with_noise(p: np.ndarray, motion: RowMotion, move) -> np.ndarray:
    """``p`` (N, dim, dim) with the compensation noise (``_NOISE_PER_M``) added to the centre's
    variances: sd = ``_NOISE_PER_M`` x the moved box's height x the ego travel (``move.travel``,
    metres between the two cameras)."""
    k = _NOISE_PER_M * getattr(move, "travel", 0.0)
    if k <= 0 or p is None:
        return p
    p = p.copy()
    var = np.array([(k * (b[3] - b[1])) ** 2 for b in motion.boxes])
    var[~np.isfinite(var)] = 0.0
    p[:, 0, 0] += var
    p[:, 1, 1] += var
    return p


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
    move_track_list(tracks, classes, move, model)


def move_track_list(tracks: list, classes: list, move: MoveBoxes, model: StateModel) -> None:
    """:func:`move_stracks` of the boxmot tracks ``tracks`` of classes ``classes``."""
    if not tracks:
        return
    means = [t.mean.tolist() for t in tracks]
    p = np.array([t.covariance for t in tracks], dtype=np.float64)
    motion = move([model.to_box(m) for m in means], classes)
    new_x, new_p = model.move(means, p, motion)
    new_p = with_noise(new_p, motion, move)
    for track, xi, pi in zip(tracks, new_x, new_p):
        track.mean, track.covariance = xi, pi


def _keep_full_height(boxes: list, motion: RowMotion, height: float) -> None:
    """The rows of ``motion`` whose box (in ``boxes``) reaches both the top and the bottom edge of
    an image ``height`` tall set back to the box itself, unmoved (identity Jacobian, scale 1)."""
    low, high = EDGE_PX, height - EDGE_PX
    for i, box in enumerate(boxes):
        if box[1] <= low and box[3] >= high:
            motion.boxes[i] = list(box[:4])
            motion.jacobian[i], motion.scale[i], motion.on_ground[i] = (1.0, 0.0, 0.0, 1.0), 1.0, False


class _Move:
    """``move(boxes, classes)`` from ``previous``'s camera to ``camera``'s; ``travel``: the metres
    between the two cameras (what the compensation noise scales with)."""

    __slots__ = ("previous", "camera", "travel")

    def __init__(self, previous, camera):
        self.previous, self.camera = previous, camera
        self.travel = math.dist(previous.centre, camera.centre) if _NOISE_PER_M > 0 else 0.0

    def __call__(self, boxes, classes) -> RowMotion:
        motion = motion_rows(boxes, self.previous, self.camera, classes)
        if _FULL_HEIGHT_STAYS:
            _keep_full_height(boxes, motion, float(self.previous.height))
        if _CLIP_SIDES:
            clip_span(motion.boxes, 0, float(self.camera.width))   # as motion_rows cut the top and bottom
        return motion


class PoseCompensation:
    """Carries a class-split boxmot tracker's track states from each frame's camera to the next.

    ``mover(instances, move)`` rewrites the states of ``instances`` ({class: boxmot instance})
    with ``move`` (boxes of the previous camera -> :class:`RowMotion` into this one). Call
    :meth:`before_update` once per frame before the instances' ``update``; :meth:`reset` at a new
    sequence.
    """

    def __init__(self, tracker_name: str, mover: Callable[[dict, MoveBoxes], None]):
        self.tracker_name = tracker_name
        self.mover = mover
        self.reset()

    def reset(self) -> None:
        self._camera = None
        self.pending = None   # with _AFTER_PREDICT: this frame's move, for the tracker's own hook

    def before_update(self, frame, instances: dict) -> None:
        if frame is None or not frame.has_calibration():
            where = "a frame passed as None" if frame is None else f"frame index {frame.index}"
            raise InputError(f"tracker {self.tracker_name!r}: cmc=pose needs the frame's camera calibration "
                             f"(intrinsics and cam2global from frames.json), but {where} has none")
        camera = float_camera(frame.intrinsics, frame.cam2global, frame.width, frame.height)
        previous, self._camera = self._camera, camera
        self.pending = None
        if previous is None or not instances or previous is camera or previous.key == camera.key:  # a still camera moves nothing
            return
        if _AFTER_PREDICT and self.tracker_name == "botsort":
            self.pending = _Move(previous, camera)
            return
        self.mover(instances, _Move(previous, camera))

