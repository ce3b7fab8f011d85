"""Letterbox: scale an image by one ratio to fit the model input, pad bottom/right with 114.

This is YOLOX's evaluation transform: ``r = min(in_h / h, in_w / w)``, the image resized to
``(int(w * r), int(h * r))`` and placed at the top-left of an ``in_h x in_w`` canvas filled with
114, channels kept in the order given (detbench reads BGR with OpenCV, like YOLOX training),
values 0..255 without mean/std. Because the content starts at (0, 0), a box predicted in input
pixels maps back to original pixels by dividing by ``r`` alone (no offset).
"""
from __future__ import annotations

import cv2
import numpy as np

PAD_VALUE = 114


def letterbox_ratio(height: int, width: int, input_size: tuple[int, int]) -> float:
    """The single scale factor that fits a ``height x width`` image into ``input_size`` (h, w)."""
    return min(input_size[0] / height, input_size[1] / width)


def letterbox(image: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """HxWx3 uint8 image -> (in_h x in_w x 3 uint8 canvas, ratio)."""
    h, w = image.shape[:2]
    r = letterbox_ratio(h, w, input_size)
    new_w, new_h = int(w * r), int(h * r)
    canvas = np.full((input_size[0], input_size[1], 3), PAD_VALUE, dtype=np.uint8)
    resized = image if (new_w, new_h) == (w, h) else cv2.resize(image, (new_w, new_h),
                                                                  interpolation=cv2.INTER_LINEAR)
    canvas[:new_h, :new_w] = resized
    return canvas, r


def to_chw_float(canvas: np.ndarray) -> np.ndarray:
    """HWC uint8 -> CHW float32 (0..255), the model's input layout."""
    return np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32)


def unletterbox_boxes(boxes: np.ndarray, ratio: float, width: int, height: int) -> np.ndarray:
    """xyxy boxes in model-input pixels -> original-image pixels (divide by ratio, clip to image)."""
    out = np.asarray(boxes, dtype=np.float32)[:, :4] / np.float32(ratio)
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
    return out
