"""The ``ground`` tracker: Kalman filters on the ground plane with each frame's camera pose.

Each track is a constant-velocity Kalman filter of its contact point in global coordinates, with
its physical size; detections are matched on the ground (``d2 + log det S``), then in the image
(IoU), in ByteTrack's two score stages, born by the rules of :mod:`trackers.ground.birth`, and
reported with their own boxes. The passes, and where this differs from UCMCTrack:
docs/tracker-internals.md, "Inside the ground tracker".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from detbench.core.classes import NUM_CLASSES
from detbench.core.errors import InputError
from detbench.core.geometry import EDGE_PX
from detbench.core.types import as_tracks, empty_tracks, iou_matrix
from trackers.base import BUFFER_GRID_S, LOST_TRACK_BUFFER_S, Frame
from trackers.boxmot_common import check_frame_rate, frames_for_seconds, sanitize_detections
from trackers.ground import kalman
from trackers.ground.associate import assign, ground_costs, image_overlaps, size_costs
from trackers.ground.birth import births
from trackers.ground.cuboid import cuboid_boxes, object_dims, track_yaws
from trackers.ground.measure import observe, project_tracks, rotate_boxes

#: a new track's velocity spread per class (m/s per axis, zero mean: parked and moving alike;
#: car, truck, bus, trailer, pedestrian, motorcycle, bicycle): half the spread of a speed uniform
#: up to 50 km/h for vehicles, 8 m/s for bicycles and 3 m/s for pedestrians
CLASS_SPEED_SIGMA_MS = (4.0, 4.0, 4.0, 4.0, 0.87, 4.0, 2.3)
#: the camera moves along the ego vehicle's heading when it travels at least this far in a step (m)
EGO_STEP_M = 0.5
#: the ``image_box`` option's values: a track's box in the image (docstring of GroundParams.image_box)
IMAGE_BOXES = ("plain", "cuboid", "edge")


@dataclass(frozen=True)
class GroundParams:
    #: ``detbench tune``'s grid (trackers.base, "Tuning grids"): two main thresholds, the buffer
    GRID: ClassVar[dict[str, list]] = {"track_thresh": [0.15, 0.3, 0.45], "gate": [8.0, 10.0, 12.0],
                                       "track_buffer_s": list(BUFFER_GRID_S)}
    BUFFER_OPTION: ClassVar[str] = "track_buffer_s"  # the lost-track buffer, in seconds

    track_thresh: float = 0.45   # first stage and new tracks take scores at or above this
    min_conf: float = 0.1        # second stage takes scores in [min_conf, track_thresh)
    gate: float = 10.0           # max cost d2 + log det S (S in m^2) of a pair on the ground
    match_iou: float = 0.2       # min IoU in the image pass (the pairs the ground pass left)
    noise: float = 0.1           # pixel noise of a contact, as a fraction of the box's width/height
    accel: float = 2.0           # process noise: white acceleration, m/s^2
    track_buffer_s: float = LOST_TRACK_BUFFER_S  # a lost track survives this many seconds of misses
    birth_margin: float = 0.1    # new tracks need a score >= track_thresh + birth_margin (trackers.ground.birth)
    birth_overlap: float = 1.0   # duplicate-aware birth: no birth nested this much in a taken box (1: off)
    extent_noise: float = 1.5    # contact noise along the viewing ray: this x half the class length (m)
    overlap_bonus: float = 4.0   # ground pass: cost - overlap_bonus * IoU with the track's predicted box (0: off)
    size_sigma: float = 0.05     # ground pass: + (log(det height / track's height))^2 / (size_sigma^2 + det's error^2) (0: off)
    height_depth: bool = True    # boxes without a usable ground contact placed from the class height (trackers.ground.height)
    #: a ground track's box in the image (image pass, overlap bonus): ``plain`` its physical size
    #: re-projected at its contact; ``cuboid`` its object as a cuboid drawn by the devkit's 2D-box
    #: rule (trackers.ground.cuboid); ``edge`` the drawn box where it or the plain one meets an
    #: image edge, the plain one elsewhere. ``plain`` stays the default: the tune splits preferred
    #: ``edge``, but it missed the speed bound set before that choice (benchmarks/README.md,
    #: "Calibrated motion", step 8)
    image_box: str = "plain"


class GroundTracker:
    """Kalman filters on the ground plane with each frame's camera pose (module docstring)."""

    Params = GroundParams
    DESCRIPTION = ("Kalman filters on the ground plane in global coordinates from each frame's camera pose, "
                   "depth-aware gating, ByteTrack score stages; needs calibration")
    name = "ground"

    @staticmethod
    def needs_calibration(params) -> bool:
        return True

    def __init__(self, params: GroundParams = GroundParams(), frame_rate: float = 2.0):
        self.params = params
        self.frame_rate = check_frame_rate(frame_rate)
        self.max_misses = frames_for_seconds(params.track_buffer_s, self.frame_rate)
        for key in ("overlap_bonus", "extent_noise", "size_sigma"):
            if not getattr(params, key) >= 0:
                raise InputError(f"tracker 'ground': option {key}={getattr(params, key)!r} must be >= 0")
        for key in ("noise", "accel"):
            if not getattr(params, key) > 0:
                raise InputError(f"tracker 'ground': option {key}={getattr(params, key)!r} must be > 0")
        if not 0 <= params.birth_margin <= 1:
            raise InputError(f"tracker 'ground': option birth_margin={params.birth_margin!r} must be in [0, 1]")
        if not 0 < params.birth_overlap <= 1:
            raise InputError(f"tracker 'ground': option birth_overlap={params.birth_overlap!r} must be in (0, 1] "
                             "(1: off)")
        if params.image_box not in IMAGE_BOXES:
            raise InputError(f"tracker 'ground': option image_box={params.image_box!r} must be one of "
                             f"{', '.join(IMAGE_BOXES)}")
        if params.min_conf > params.track_thresh:
            raise InputError(f"tracker 'ground': min_conf={params.min_conf} is above "
                             f"track_thresh={params.track_thresh}")
        self.reset()

    def reset(self) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.cls = np.zeros(0, dtype=np.int64)
        self.misses = np.zeros(0, dtype=np.int64)  # frames since the last detection
        self.on_ground = np.zeros(0, dtype=bool)   # has a Kalman state
        self.x = np.zeros((0, 4))                  # x, y, vx, vy (global, m and m/s)
        self.p = np.zeros((0, 4, 4))
        self.size = np.zeros((0, 2))               # physical width, height (m)
        self.z = np.zeros(0)                       # the tracked point's height above the ground plane (m)
        self.log_height = np.zeros(0)              # mean log physical height over the track's measured heights
        self.heights = np.zeros(0, dtype=np.int64)  # how many measured heights that mean holds
        self.boxes = np.zeros((0, 4))              # last box; image-only tracks: turned with the camera
        self.yaw = np.zeros(0)                     # heading of the object's length (rad; NaN: not known yet)
        self._heading = np.nan                     # the ego vehicle's heading (rad), from the camera's travel
        self._next_id = 1
        self._camera = None
        self._time = None
        self.dropped = 0

    # ------------------------------------------------------------------ prediction
    def predict(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """``(ids (T,), boxes (T, 4))``: where every live track is expected in ``frame`` (its
        timestamp and camera), without changing any state; boxes clipped to the image."""
        camera = self._camera_of(frame)
        _, x, p, boxes = self._predicted(frame, camera)
        return self.ids.copy(), self._boxes_in(camera, x, p, boxes, self._ego_heading(camera))

    def _camera_of(self, frame: Frame):
        camera = frame.camera() if frame is not None else None
        if camera is None:
            raise InputError("tracker 'ground' needs every frame's camera calibration (intrinsics, cam2global); "
                             f"frame {getattr(frame, 'index', '?')} has none")
        return camera

    def _predicted(self, frame: Frame, camera):
        """(time step, states, covariances, boxes) of every track moved on to ``frame``: ground
        states by the Kalman prediction, image-only boxes by the camera's rotation."""
        dt = 0.0 if self._time is None else frame.timestamp - self._time
        if self._time is not None and not dt > 0:
            dt = 1.0 / self.frame_rate  # repeated or unordered timestamps: one nominal step
        x, p, boxes = self.x.copy(), self.p.copy(), self.boxes.copy()
        g = self.on_ground
        if dt > 0 and g.any():
            x[g], p[g] = kalman.predict(x[g], p[g], dt, self.params.accel)
        if self._camera is not None and (~g).any():
            boxes[~g] = rotate_boxes(boxes[~g], self._camera, camera)
        return dt, x, p, boxes

    def _ego_heading(self, camera) -> float:
        """The ego vehicle's heading (rad) as the camera travelled from the previous frame to
        ``camera``; the last one known where it moved less than ``EGO_STEP_M`` (NaN: none yet)."""
        if self._camera is None:
            return self._heading
        step = camera.centre[:2] - self._camera.centre[:2]
        return float(np.arctan2(step[1], step[0])) if np.hypot(*step) >= EGO_STEP_M else self._heading

    def _boxes_in(self, camera, x: np.ndarray, p: np.ndarray, boxes: np.ndarray, heading: float) -> np.ndarray:
        out = boxes.copy()
        g = self.on_ground
        if g.any():
            out[g] = project_tracks(camera, x[g, :2], self.size[g], self.z[g])
        bounds = [camera.width, camera.height, camera.width, camera.height]
        out = np.minimum(np.maximum(out, 0.0), bounds)
        if self.params.image_box != "plain" and g.any():
            g = np.flatnonzero(g)
            dims = object_dims(self.cls[g], self.size[g, 1], self.log_height[g], self.heights[g])
            yaw = np.nan_to_num(track_yaws(x[g], p[g], self.yaw[g], heading))  # 0 while no heading is known
            drawn = cuboid_boxes(camera, x[g, :2], self.z[g], yaw, dims)
            use = np.isfinite(drawn).all(axis=1)
            if self.params.image_box == "edge":  # only where a box meets an image edge
                use &= _at_edge(drawn, camera) | _at_edge(out[g], camera)
            out[g[use]] = drawn[use]
        return out

    # ------------------------------------------------------------------ association
    def _assign(self, tracks: np.ndarray, dets: np.ndarray, obs, boxes: np.ndarray, dcls: np.ndarray,
                pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(track indices, detection indices) matched among ``tracks`` x ``dets``: the ground
        pass, then the image pass on what is left (module docstring)."""
        none = np.zeros(0, dtype=np.int64)
        if not len(tracks) or not len(dets):
            return none, none
        p = self.params
        same = self.cls[tracks][:, None] == dcls[dets][None, :]
        both = self.on_ground[tracks][:, None] & obs.valid[dets][None, :]
        ti, di = none, none
        if (same & both).any():
            cost = ground_costs(self.x[tracks], self.p[tracks], obs.xy[dets], obs.cov[dets])  # NaN: not allowed
            if p.overlap_bonus > 0:  # the image's lateral precision: apart groups the ground's noise merges
                cost = cost - p.overlap_bonus * iou_matrix(pred[tracks], boxes[dets])
            if p.size_sigma > 0:  # an object's own height: tighter than its class's
                cost = cost + size_costs(self.log_height[tracks], self.heights[tracks], obs, dets, p.size_sigma)
            ti, di = assign(cost, same & both, p.gate)
        free_t = np.ones(len(tracks), dtype=bool)
        free_d = np.ones(len(dets), dtype=bool)
        free_t[ti], free_d[di] = False, False
        allowed = same & free_t[:, None] & free_d[None, :]  # every pair the ground pass left (docstring, b)
        if allowed.any():
            overlap = image_overlaps(pred[tracks], boxes[dets], obs.cut[dets])
            tj, dj = assign(1.0 - overlap, allowed, 1.0 - p.match_iou + 1e-9)
            ti, di = np.concatenate([ti, tj]), np.concatenate([di, dj])
        return tracks[ti], dets[di]

    # ------------------------------------------------------------------ update
    def update(self, dets, frame: Frame) -> np.ndarray:
        camera = self._camera_of(frame)
        clean, kept, dropped = sanitize_detections(dets)
        self.dropped += dropped
        p = self.params
        _, self.x, self.p, self.boxes = self._predicted(frame, camera)
        self._heading = self._ego_heading(camera)
        self._time, self._camera = frame.timestamp, camera
        d = clean.astype(np.float64)
        boxes, score, dcls = d[:, :4], d[:, 4], d[:, 5].astype(np.int64)
        obs = observe(camera, boxes, dcls, p.noise, p.extent_noise, p.height_depth)
        pred = self._boxes_in(camera, self.x, self.p, self.boxes, self._heading)

        high = np.flatnonzero(score >= p.track_thresh)
        low = np.flatnonzero((score >= p.min_conf) & (score < p.track_thresh))
        t1, d1 = self._assign(np.arange(len(self.ids)), high, obs, boxes, dcls, pred)
        free = np.ones(len(self.ids), dtype=bool)
        free[t1] = False
        t2, d2 = self._assign(np.flatnonzero(free & (self.misses == 0)), low, obs, boxes, dcls, pred)
        t_idx, d_idx = np.concatenate([t1, t2]), np.concatenate([d1, d2])

        ids_of_det = np.full(len(d), -1, dtype=np.int64)
        ids_of_det[d_idx] = self.ids[t_idx]
        self.misses += 1
        self._take(t_idx, d_idx, obs, boxes)
        unmatched = np.ones(len(d), dtype=bool)
        unmatched[d_idx] = False
        if p.image_box != "plain":  # a moving track's yaw, kept when it stops; the ego's heading meanwhile
            self.yaw = np.where(self.on_ground, track_yaws(self.x, self.p, self.yaw, self._heading), self.yaw)
        self._drop(self.misses <= self.max_misses)
        new = births(np.flatnonzero(unmatched), d_idx, boxes, score, dcls, p.track_thresh + p.birth_margin,
                     p.birth_overlap, obs)
        ids_of_det[new] = self._start(new, obs, boxes, dcls)

        rows = np.flatnonzero(ids_of_det >= 0)
        if not len(rows):
            return empty_tracks()
        out = np.column_stack([boxes[rows], ids_of_det[rows], score[rows], dcls[rows], kept[rows]])
        return as_tracks(out[np.argsort(ids_of_det[rows], kind="stable")])

    def _take(self, t_idx: np.ndarray, d_idx: np.ndarray, obs, boxes: np.ndarray) -> None:
        """Tracks ``t_idx`` take detections ``d_idx``: Kalman updates where both are on the
        ground, a first ground state for image-only tracks whose detection has a contact; the
        width from boxes not cut at the sides, the height from boxes not cut at the top."""
        self.misses[t_idx] = 0
        self.boxes[t_idx] = boxes[d_idx]
        has = obs.valid[d_idx]
        upd = has & self.on_ground[t_idx]
        ti, di = t_idx[upd], d_idx[upd]
        self.x[ti], self.p[ti] = kalman.update(self.x[ti], self.p[ti], obs.xy[di], obs.cov[di])
        first = has & ~self.on_ground[t_idx]
        ti, di = t_idx[first], d_idx[first]
        self.x[ti], self.p[ti] = kalman.new_states(obs.xy[di], obs.cov[di], _speed_sigma(self.cls[ti]))
        self.on_ground[ti] = True
        ti, di = t_idx[has], d_idx[has]
        self.z[ti] = obs.z[di]
        known = obs.height_known[di]
        ti_h, di_h = ti[known], di[known]
        self.heights[ti_h] += 1
        self.log_height[ti_h] += (np.log(obs.size[di_h, 1]) - self.log_height[ti_h]) / self.heights[ti_h]
        unknown = ~np.isfinite(self.size[ti])
        for axis, cut in ((0, obs.side_cut[di]), (1, obs.top_cut[di])):
            use = ~cut | unknown[:, axis]
            self.size[ti[use], axis] = obs.size[di[use], axis]

    def _start(self, d_idx: np.ndarray, obs, boxes: np.ndarray, dcls: np.ndarray) -> np.ndarray:
        n = len(d_idx)
        ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        self._next_id += n
        x, p = kalman.new_states(np.nan_to_num(obs.xy[d_idx]), obs.cov[d_idx], _speed_sigma(dcls[d_idx]))
        for name, value in (("ids", ids), ("cls", dcls[d_idx]), ("misses", np.zeros(n, dtype=np.int64)),
                            ("on_ground", obs.valid[d_idx]), ("x", x), ("p", p), ("size", obs.size[d_idx]),
                            ("z", obs.z[d_idx]), ("boxes", boxes[d_idx]), ("yaw", np.full(n, np.nan)),
                            ("log_height", np.where(obs.height_known[d_idx], np.log(obs.size[d_idx, 1]), 0.0)),
                            ("heights", obs.height_known[d_idx].astype(np.int64))):
            setattr(self, name, np.concatenate([getattr(self, name), value]))
        return ids

    def _drop(self, keep: np.ndarray) -> None:
        for name in ("ids", "cls", "misses", "on_ground", "x", "p", "size", "z", "boxes", "yaw", "log_height",
                     "heights"):
            setattr(self, name, getattr(self, name)[keep])


def _at_edge(boxes: np.ndarray, camera) -> np.ndarray:
    """(N,) boxes (N, 4 xyxy) within ``EDGE_PX`` of an image edge (NaN boxes: False)."""
    far = np.array([camera.width, camera.height]) - EDGE_PX
    return ((boxes[:, :2] <= EDGE_PX) | (boxes[:, 2:] >= far)).any(axis=1)


def _speed_sigma(classes: np.ndarray) -> np.ndarray:
    return np.asarray(CLASS_SPEED_SIGMA_MS)[np.clip(classes, 0, NUM_CLASSES - 1)]
