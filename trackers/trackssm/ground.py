"""Ground-plane TrackSSM inputs: ego-compensated histories and the calibrated constant-velocity box.

One function serves training windows and the tracker, so both build exactly the same inputs. What
they are (compensated history, the box as seen, calibrated constant velocity, the fallback):
docs/tracker-internals.md, "TrackSSM's ground-plane inputs".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detbench.core.errors import InputError
from detbench.core.geometry import Camera, box_contacts, reproject_boxes

#: a compensated box whose centre lies this far outside the image (in image sizes), or which is
#: this many image sizes wide or high, is not trusted (a static point nearly under the camera)
MAX_OFFSET, MAX_SIZE = 1.5, 2.0


@dataclass(frozen=True)
class GroundInputs:
    """``hist`` (N, H, 12) float32 and ``mask`` (N, H) bool: the history rows the model reads (the
    compensated ``[box, delta]`` rows as :mod:`trackers.trackssm.data` lays them out, then the box
    as seen, xyxy, all normalised by the image size); ``anchor`` (N, 4)
    float32 normalised cxcywh: calibrated constant velocity (image constant velocity where ``ok``
    is False); ``ok`` (N,) bool: the window is on the ground plane."""

    hist: np.ndarray
    mask: np.ndarray
    anchor: np.ndarray
    ok: np.ndarray


def normalised_cxcywh(xyxy: np.ndarray, width: float, height: float) -> np.ndarray:
    """(..., 4) pixel xyxy -> (..., 4) cx, cy, w, h divided by the image width / height."""
    b = np.asarray(xyxy, np.float64)
    return np.stack([(b[..., 0] + b[..., 2]) / 2 / width, (b[..., 1] + b[..., 3]) / 2 / height,
                     (b[..., 2] - b[..., 0]) / width, (b[..., 3] - b[..., 1]) / height], axis=-1)


def _rows(boxes: np.ndarray, present: np.ndarray, history: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, L, 4) normalised cxcywh with ``present`` (N, L) a suffix of each row -> the last
    ``history`` history rows ``[box, box - previous box]`` (zero delta where there is no previous
    box) front-padded with zeros, and their mask."""
    deltas = np.zeros_like(boxes)
    both = present[:, 1:] & present[:, :-1]
    deltas[:, 1:] = np.where(both[..., None], boxes[:, 1:] - boxes[:, :-1], 0.0)
    rows = np.concatenate([boxes, deltas], axis=-1)[:, -history:]
    mask = present[:, -history:]
    return np.where(mask[..., None], rows, 0.0).astype(np.float32), mask.copy()


def _suffix(valid: np.ndarray) -> np.ndarray:
    """(N, L) -> True where every column from there to the last is True."""
    return np.flip(np.cumprod(np.flip(valid, axis=1), axis=1), axis=1).astype(bool)


def ground_histories(boxes: np.ndarray, classes: np.ndarray, cameras: list[Camera | None],
                     stamps: np.ndarray, history: int) -> GroundInputs:
    """Model inputs for N tracks that share one camera sequence (module docstring).

    ``boxes`` (N, L, 4) pixel xyxy at the L frames before the target frame, oldest first, NaN
    where the track has no box (only at the front; the last column is always a box; L >= history,
    and with L = history + 1 the oldest box only gives the first kept step its delta); ``classes`` (N,) 0..6;
    ``cameras`` the L + 1 frames' cameras (the L frames, then the target frame; None only for a
    frame where no track has a box); ``stamps`` their L + 1 times in seconds.
    """
    boxes = np.asarray(boxes, np.float64)
    length = boxes.shape[1]
    target = cameras[-1]
    w, h = float(target.width), float(target.height)
    present = np.isfinite(boxes).all(axis=2)
    image = normalised_cxcywh(boxes, w, h)
    comp = np.full_like(boxes, np.nan)
    for j in range(length):
        rows = np.flatnonzero(present[:, j])
        if len(rows):
            comp[rows, j], _ = reproject_boxes(boxes[rows, j], cameras[j], target, classes[rows], clip=False)
    comp = normalised_cxcywh(comp, w, h)
    sane = (np.isfinite(comp).all(axis=2) & (np.abs(comp[..., 0] - 0.5) <= MAX_OFFSET)
            & (np.abs(comp[..., 1] - 0.5) <= MAX_OFFSET) & (comp[..., 2] <= MAX_SIZE) & (comp[..., 3] <= MAX_SIZE))
    kept = _suffix(present & sane)
    anchor, ok = calibrated_cv(boxes, classes, cameras, stamps)
    ok &= kept[:, -1]
    g_hist, g_mask = _rows(np.nan_to_num(comp), kept, history)
    i_hist, i_mask = _rows(np.nan_to_num(image), present, history)
    fallback = ~ok
    mask = np.where(fallback[:, None], i_mask, g_mask)
    seen = np.nan_to_num(boxes[:, -history:] / [w, h, w, h]) * mask[..., None]
    hist = np.concatenate([np.where(fallback[:, None, None], i_hist, g_hist), seen.astype(np.float32)], axis=-1)
    anchor = np.where(fallback[:, None], image_cv(image, present), normalised_cxcywh(anchor, w, h))
    return GroundInputs(hist, mask, anchor.astype(np.float32), ok)


def image_cv(image: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Constant velocity in the image: last + (last - previous) normalised box (the last box when
    there is no previous one), sizes kept positive."""
    last, prev = image[:, -1], image[:, -2] if image.shape[1] > 1 else image[:, -1]
    has_prev = present[:, -2] if image.shape[1] > 1 else np.zeros(len(image), bool)
    pred = np.where(has_prev[:, None], 2 * last - prev, last)
    pred[:, 2:] = np.maximum(pred[:, 2:], 1e-6)
    return pred


def calibrated_cv(boxes: np.ndarray, classes: np.ndarray, cameras: list[Camera | None],
                  stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated constant velocity of each row's last box into the target camera -> (pixel xyxy
    (N, 4), valid (N,)). Arguments as :func:`ground_histories`."""
    boxes = np.asarray(boxes, np.float64)
    n, length = boxes.shape[:2]
    last = boxes[:, -1]
    now = box_contacts(cameras[-2], last, classes)
    moved = now.xy.copy()
    ok = now.valid.copy()
    if length > 1:
        has_prev = np.isfinite(boxes[:, -2]).all(axis=1)
        rows = np.flatnonzero(has_prev)
        if len(rows):
            before = box_contacts(cameras[-3], boxes[rows, -2], classes[rows])
            dt_last, dt_next = stamps[-2] - stamps[-3], stamps[-1] - stamps[-2]
            if dt_last > 0:
                moved[rows] += (now.xy[rows] - before.xy) * (dt_next / dt_last)
                ok[rows] &= before.valid
            else:
                ok[rows] = False
    out = np.full((n, 4), np.nan)
    rows = np.flatnonzero(ok)
    if len(rows):
        out[rows], valid = reproject_boxes(last[rows], cameras[-2], cameras[-1], classes[rows],
                                           contacts_to=moved[rows])
        ok[rows] &= valid
    return out, ok


NEED = "a ground-plane motion model needs every frame's camera calibration (intrinsics, cam2global)"


class CameraTrail:
    """A tracker's memory of its sequence's last ``history`` + 2 frames (camera, time), from
    which it builds its tracks' ground-plane inputs each frame."""

    def __init__(self, history: int):
        self.history = history
        self.frames: list[tuple[Camera, float]] = []

    def see(self, frame) -> None:
        """Remember the current :class:`trackers.base.Frame`'s camera (InputError without one)."""

        cam = frame.camera()
        if cam is None:
            raise InputError(f"trackssm: frame {frame.index + 1} has no camera calibration ({NEED})")
        self.frames = [*self.frames[-(self.history + 1):], (cam, float(frame.timestamp))]

    def inputs(self, boxes: list[list[np.ndarray]], classes: list[int]) -> GroundInputs:
        """Inputs for tracks whose ``boxes`` (pixel xyxy, oldest first, at most ``history`` + 1)
        are at the frames just before the current one (the last one :meth:`see` was given)."""
        span = self.history + 1
        stacked = np.full((len(boxes), span, 4), np.nan)
        for i, b in enumerate(boxes):
            stacked[i, span - len(b):] = np.stack(b)
        past = [None] * (span + 1 - len(self.frames)) + self.frames
        return ground_histories(stacked, np.asarray(classes), [p[0] if p else None for p in past],
                                np.array([p[1] if p else np.nan for p in past]), self.history)


def windows_ground_inputs(segments, cameras: list[Camera], stamps: np.ndarray, width: int, height: int,
                          step: int, history: int) -> GroundInputs:
    """Ground-plane inputs of every window of a sequence's ``segments`` ((frames, normalised
    cxcywh boxes, classes) as :func:`trackers.trackssm.data.track_segments` gives them), in the
    order of :func:`trackers.trackssm.data.segment_windows`. A window reads its history's boxes
    (up to ``history`` + 1, the oldest for its delta only), their frames' cameras and the target
    frame's camera: never the target box."""
    span = history + 1
    boxes, classes, targets = [], [], []
    for frames, norm, cls in segments:
        c = np.asarray(norm, np.float64) * [width, height, width, height]
        px = np.concatenate([c[:, :2] - c[:, 2:] / 2, c[:, :2] + c[:, 2:] / 2], axis=1)
        for t in range(1, len(px)):
            cols = np.full((span, 4), np.nan)
            start = max(0, t - span)
            cols[span - (t - start):] = px[start:t]
            boxes.append(cols)
            classes.append(cls[t - 1])
            targets.append(frames[t])
    n = len(boxes)
    out = GroundInputs(np.zeros((n, history, 12), np.float32), np.zeros((n, history), bool),
                       np.zeros((n, 4), np.float32), np.zeros(n, bool))
    if not n:
        return out
    boxes, classes, targets = np.stack(boxes), np.asarray(classes), np.asarray(targets)
    for frame in np.unique(targets):  # windows predicting the same frame share its camera sequence
        rows = np.flatnonzero(targets == frame)
        index = [frame - 1 - step * (span - j) for j in range(span)] + [frame - 1]
        g = ground_histories(boxes[rows], classes[rows], [cameras[i] if i >= 0 else None for i in index],
                             np.array([stamps[i] if i >= 0 else np.nan for i in index]), history)
        out.hist[rows], out.mask[rows], out.anchor[rows], out.ok[rows] = g.hist, g.mask, g.anchor, g.ok
    return out
