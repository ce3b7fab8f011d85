"""Draw detections over a sequence's images: PNG per frame, or one MP4 video."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from detbench.core.classes import CLASSES
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_dir

# BGR colour per class index (car, truck, bus, trailer, pedestrian, motorcycle, bicycle)
COLORS = [(255, 128, 0), (0, 128, 255), (0, 200, 255), (128, 0, 255), (0, 220, 0), (255, 0, 200), (200, 200, 0)]


def draw_detections(image: np.ndarray, dets: np.ndarray, score_thr: float = 0.3, thickness: int = 2) -> np.ndarray:
    """A copy of ``image`` (BGR) with boxes of score >= thr, coloured by class, labelled ``class score``."""
    out = image.copy()
    for d in dets[dets[:, 4] >= score_thr] if len(dets) else []:
        x1, y1, x2, y2 = (int(round(v)) for v in d[:4])
        cls = int(d[5])
        color = COLORS[cls % len(COLORS)]
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thickness)
        label = f"{CLASSES[cls] if cls < len(CLASSES) else cls} {d[4]:.2f}"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
        ty = max(y1, th + 2)
        cv2.rectangle(out, (x1, ty - th - 2), (x1 + tw + 2, ty), color, -1)
        cv2.putText(out, label, (x1 + 1, ty - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def render_detections(images: list[Path], dets_per_frame: list[np.ndarray], out: Path, score_thr: float = 0.3,
                      video: bool = False, fps: float = 2.0, first_frame: int = 1) -> list[Path]:
    """Write ``out/<frame:06d>.png`` per frame, or ``out`` as an MP4 when ``video``; return what was written."""
    from detbench.detect.infer import load_image

    if len(images) != len(dets_per_frame):
        raise ValueError("images and detections differ in length")
    if video:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.stem}.tmp{out.suffix or '.mp4'}")
        writer = None
        try:
            for path, dets in zip(images, dets_per_frame):
                frame = draw_detections(load_image(path), dets, score_thr)
                if writer is None:
                    h, w = frame.shape[:2]
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                    if not writer.isOpened():
                        raise InputError(f"{out}: OpenCV cannot write an MP4 video here")
                writer.write(frame)
        finally:
            if writer is not None:
                writer.release()
        tmp.replace(out)
        return [out]
    written = []
    with atomic_dir(out) as tmp:
        for i, (path, dets) in enumerate(zip(images, dets_per_frame)):
            name = f"{first_frame + i:06d}.png"
            cv2.imwrite(str(tmp / name), draw_detections(load_image(path), dets, score_thr))
            written.append(out / name)
    return written
