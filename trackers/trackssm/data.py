"""Training windows for TrackSSM from MOT ground-truth tracks.

A *segment* is one track's run of consecutive frames (tracks are split at frame gaps), as
normalised ``cx, cy, w, h`` boxes (x and w divided by the image width, y and h by its height).
Every box of a segment after its first is one *target*; its history is the up-to-``history``
boxes just before it (never the target itself, never anything after it). Each history step is
``[cx, cy, w, h, dcx, dcy, dw, dh]`` where the delta is the step from the box before (zero for
the very first box of a segment). Histories are front-padded to ``history`` steps and masked.

Sequences with every frame's camera calibration can also give each window its ground-plane
inputs (:mod:`trackers.trackssm.ground`): the ego-compensated history and the calibrated
constant-velocity box, built from the same boxes (never the target) and the cameras of the
history's frames and the target's frame. Reading them from a prepared dataset is the harness's
job (:mod:`detbench.motion.windows`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detbench.core.errors import InputError

FIELDS = ("hist", "mask", "target", "hist_frames", "target_frame")
GROUND_FIELDS = ("ground_hist", "ground_mask", "calibrated_cv", "on_ground")


@dataclass
class Windows:
    """``hist`` (N, H, 8) float32, ``mask`` (N, H) bool, ``target`` (N, 4) float32,
    ``hist_frames`` (N, H) int (-1 on padding) and ``target_frame`` (N,) int, for checks.

    Ground-plane inputs (:class:`trackers.trackssm.ground.GroundInputs`), None unless every
    sequence had its calibration read: ``ground_hist`` (N, H, 12), ``ground_mask`` (N, H),
    ``calibrated_cv`` (N, 4) (image constant velocity where ``on_ground`` is False)."""

    hist: np.ndarray
    mask: np.ndarray
    target: np.ndarray
    hist_frames: np.ndarray
    target_frame: np.ndarray
    ground_hist: np.ndarray | None = None
    ground_mask: np.ndarray | None = None
    calibrated_cv: np.ndarray | None = None
    on_ground: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.target)

    @property
    def has_ground(self) -> bool:
        return self.calibrated_cv is not None

    def model_inputs(self, ground: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(history, mask, anchor) a model reads: image-plane (anchor None) or ground-plane."""
        if not ground:
            return self.hist, self.mask, None
        if not self.has_ground:
            raise ValueError("these windows have no ground-plane inputs (read without calibration)")
        return self.ground_hist, self.ground_mask, self.calibrated_cv

    def take(self, keep: np.ndarray) -> "Windows":
        return Windows(*(getattr(self, f)[keep] for f in FIELDS),
                       *((getattr(self, f)[keep] for f in GROUND_FIELDS) if self.has_ground else ()))

    @staticmethod
    def concat(parts: list["Windows"], history: int) -> "Windows":
        ground = all(p.has_ground for p in parts)
        parts = [p for p in parts if len(p)]
        if not parts:
            return empty_windows(history, ground)
        return Windows(*(np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS),
                       *((np.concatenate([getattr(p, f) for p in parts]) for f in GROUND_FIELDS) if ground else ()))


def subset(wins: Windows, n: int, seed: int, copies: int = 1) -> Windows:
    """A seeded random subset of ``n`` windows, in their original order; ``copies`` > 1: ``wins``
    is that many equally long copies of one set and the same ``n`` windows are kept in each."""
    per = len(wins) // copies
    keep = np.sort(np.random.default_rng(seed).choice(per, n, replace=False))
    return wins.take(np.concatenate([keep + c * per for c in range(copies)]) if copies > 1 else keep)


def empty_windows(history: int, ground: bool = False) -> Windows:
    mask, box = np.zeros((0, history), bool), np.zeros((0, 4), np.float32)
    return Windows(np.zeros((0, history, 8), np.float32), mask, box, np.zeros((0, history), np.int64),
                   np.zeros(0, np.int64),
                   *((np.zeros((0, history, 12), np.float32), mask, box, np.zeros(0, bool)) if ground else ()))


def history_features(boxes: np.ndarray, first_is_start: bool, prev: np.ndarray | None = None) -> np.ndarray:
    """(k, 4) normalised cxcywh boxes -> (k, 8) history rows. The first row's delta is taken
    from ``prev`` (the box before it) or is zero when ``first_is_start``/``prev`` is None."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    deltas = np.zeros_like(boxes)
    if len(boxes) > 1:
        deltas[1:] = boxes[1:] - boxes[:-1]
    if len(boxes) and not first_is_start and prev is not None:
        deltas[0] = boxes[0] - prev
    return np.concatenate([boxes, deltas], axis=1)


def segment_windows(boxes: np.ndarray, frames: np.ndarray, history: int = 5,
                    observed: np.ndarray | None = None) -> Windows:
    """All windows of one segment: (k, 4) normalised cxcywh boxes at consecutive ``frames``.
    ``observed``: the same boxes as a detector saw them (:func:`jitter_boxes`), read by the
    histories; the targets stay ``boxes``."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    seen = boxes if observed is None else np.asarray(observed, np.float32).reshape(-1, 4)
    frames = np.asarray(frames, np.int64).reshape(-1)
    n = len(boxes)
    if n < 2:
        return empty_windows(history)
    hist = np.zeros((n - 1, history, 8), np.float32)
    mask = np.zeros((n - 1, history), bool)
    hist_frames = np.full((n - 1, history), -1, np.int64)
    for t in range(1, n):
        start = max(0, t - history)
        rows = history_features(seen[start:t], start == 0, seen[start - 1] if start > 0 else None)
        k = len(rows)
        hist[t - 1, history - k:] = rows
        mask[t - 1, history - k:] = True
        hist_frames[t - 1, history - k:] = frames[start:t]
    return Windows(hist, mask, boxes[1:].copy(), hist_frames, frames[1:].copy())


def jitter_boxes(boxes: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """(k, 4) normalised cxcywh boxes as a detector with ``sigma`` jitter would report them, the
    noise model of :func:`detbench.data.noisy.noisy_detections`: the centre moves by
    N(0, sigma * w) and N(0, sigma * h), the width and height scale by exp(N(0, sigma)). The
    boxes are returned unchanged (and ``rng`` untouched) when ``sigma`` is 0."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    if sigma == 0:
        return boxes
    z = rng.normal(0.0, 1.0, (len(boxes), 4))
    wh = boxes[:, 2:].astype(np.float64)
    return np.concatenate([boxes[:, :2] + z[:, :2] * sigma * wh, wh * np.exp(z[:, 2:] * sigma)],
                          axis=1).astype(np.float32)


def step_targets(last: np.ndarray, target: np.ndarray, steps: int) -> np.ndarray:
    """Step-by-step linear targets: block k (1..steps) aims at ``last + k/steps * (target - last)``."""
    k = np.arange(1, steps + 1, dtype=np.float32)[None, :, None] / steps
    last = np.asarray(last, np.float32)[:, None, :]
    return last + k * (np.asarray(target, np.float32)[:, None, :] - last)


def track_segments(table: np.ndarray, width: int, height: int, step: int = 1, source: str = "tracks",
                   classes: bool = False) -> list[tuple[np.ndarray, ...]]:
    """(K, 9) MOT rows -> [(frames, normalised cxcywh boxes)] per run of consecutive frames
    (``classes``: [(frames, boxes, class indices 0..6)]).

    Ignore rows (MOTChallenge's consider flag, column 7, equal to 0: regions a tracker is not
    scored on) are dropped first, so neither a target nor a history step is ever an ignore box;
    a track's run is cut where it was ignored. ``step`` > 1 keeps every ``step``-th frame
    (frames 1, 1+step, ...), for sequences recorded faster than the tracker runs. Zero-size or
    non-finite boxes raise :class:`InputError`.
    """
    t = np.asarray(table, np.float64).reshape(-1, 9)
    t = t[t[:, 6] != 0]
    if len(t) and (not np.isfinite(t[:, :6]).all() or (t[:, 4] <= 0).any() or (t[:, 5] <= 0).any()):
        bad = np.flatnonzero(~np.isfinite(t[:, :6]).all(1) | (t[:, 4] <= 0) | (t[:, 5] <= 0))[0]
        raise InputError(f"{source}: track {int(t[bad, 1])} has a zero-size or non-finite box "
                         f"at frame {int(t[bad, 0])} ({t[bad, 4]:g}x{t[bad, 5]:g})")
    if step > 1:
        t = t[(t[:, 0].astype(np.int64) - 1) % step == 0]
    out = []
    for tid in np.unique(t[:, 1]):
        rows = t[t[:, 1] == tid]
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        frames = (rows[:, 0].astype(np.int64) - 1) // step
        boxes = np.stack([(rows[:, 2] + rows[:, 4] / 2) / width, (rows[:, 3] + rows[:, 5] / 2) / height,
                          rows[:, 4] / width, rows[:, 5] / height], axis=1).astype(np.float32)
        cuts = np.flatnonzero(np.diff(frames) != 1) + 1
        for f, b, c in zip(np.split(frames, cuts), np.split(boxes, cuts), np.split(rows[:, 7], cuts)):
            out.append((f * step + 1, b, c.astype(np.int64) - 1) if classes else (f * step + 1, b))
    return out
