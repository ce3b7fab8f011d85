"""One ``trackssm`` track's state (:class:`Track`) and the box conversions the tracker's model reads.

A track keeps its boxes as pixel xyxy, newest last; the model reads them normalised by the image
size as cx, cy, w, h (:func:`to_cxcywh`, :func:`to_xyxy`).
"""
from __future__ import annotations

import numpy as np

#: a track's ``state``
TRACKED, LOST, NEW = 0, 1, 2


class Track:
    __slots__ = ("tid", "cls", "score", "boxes", "state", "lost_for", "length", "det_box", "log_height", "heights")

    def __init__(self, box_xyxy, score, cls):
        self.tid = 0
        self.cls = int(cls)
        self.score = float(score)
        self.boxes = [np.asarray(box_xyxy, np.float64)]  # pixels xyxy, newest last (<= history + 1)
        self.state = NEW
        self.lost_for = 0
        self.length = 1
        self.det_box = self.boxes[0]
        self.log_height = 0.0  # mean log physical height over the ``heights`` measured (the ground pass's)
        self.heights = 0

    def measure_height(self, obs, j: int) -> None:
        """Fold detection ``j``'s physical height into the running mean where ``obs`` (the ground
        pass's measurements, None: none taken) says it measures the object's
        (``height_known``: a ground contact, the box not cut at the top or bottom)."""
        if obs is not None and obs.height_known[j]:
            self.heights += 1
            self.log_height += (np.log(obs.size[j, 1]) - self.log_height) / self.heights


def to_cxcywh(b: np.ndarray, w: float, h: float) -> np.ndarray:
    return np.stack([(b[:, 0] + b[:, 2]) / 2 / w, (b[:, 1] + b[:, 3]) / 2 / h,
                     (b[:, 2] - b[:, 0]) / w, (b[:, 3] - b[:, 1]) / h], axis=1)


def to_xyxy(c: np.ndarray, w: float, h: float) -> np.ndarray:
    cx, cy, bw, bh = c[:, 0] * w, c[:, 1] * h, c[:, 2] * w, c[:, 3] * h
    return np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
