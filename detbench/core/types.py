"""Frame-level array contracts shared by detection, tracking and evaluation.

Detections: float32 array (N, 6) ``x1, y1, x2, y2, score, class`` in original-image pixels,
class as the 0-based index into :data:`detbench.core.classes.CLASSES`.

Tracks: float32 array (M, 8) ``x1, y1, x2, y2, track_id, score, class, det_index`` where
``det_index`` is the row of the detection the track was updated with this frame (-1 if none).
"""
from __future__ import annotations

import numpy as np

# Detection columns
DX1, DY1, DX2, DY2, DSCORE, DCLS = range(6)
DET_COLS = 6
# Track columns
TX1, TY1, TX2, TY2, TID, TSCORE, TCLS, TDET = range(8)
TRACK_COLS = 8


def empty_detections() -> np.ndarray:
    return np.zeros((0, DET_COLS), dtype=np.float32)


def empty_tracks() -> np.ndarray:
    return np.zeros((0, TRACK_COLS), dtype=np.float32)


def as_detections(arr) -> np.ndarray:
    """Coerce to a (N, 6) float32 detection array, raising ValueError on a wrong shape."""
    a = np.asarray(arr, dtype=np.float32)
    if a.size == 0:
        return empty_detections()
    if a.ndim != 2 or a.shape[1] != DET_COLS:
        raise ValueError(f"detections must have shape (N, 6), got {a.shape}")
    return a


def as_tracks(arr) -> np.ndarray:
    """Coerce to a (M, 8) float32 track array, raising ValueError on a wrong shape."""
    a = np.asarray(arr, dtype=np.float32)
    if a.size == 0:
        return empty_tracks()
    if a.ndim != 2 or a.shape[1] != TRACK_COLS:
        raise ValueError(f"tracks must have shape (M, 8), got {a.shape}")
    return a


def valid_detection_mask(dets: np.ndarray) -> np.ndarray:
    """Rows that are finite, have positive width and height and a score in [0, 1]."""
    if len(dets) == 0:
        return np.zeros(0, dtype=bool)
    finite = np.isfinite(dets).all(axis=1)
    with np.errstate(invalid="ignore"):
        size_ok = (dets[:, DX2] > dets[:, DX1]) & (dets[:, DY2] > dets[:, DY1])
        score_ok = (dets[:, DSCORE] >= 0) & (dets[:, DSCORE] <= 1)
    return finite & size_ok & score_ok


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of xyxy boxes a (N, >=4) and b (M, >=4) -> (N, M) float64."""
    a = np.asarray(a, dtype=np.float64)[:, :4].reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64)[:, :4].reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou
