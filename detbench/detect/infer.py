"""Batched YOLOX inference: images (BGR, original size) -> (N, 6) detections in original pixels.

The model runs on raw head outputs (``head.decode_in_inference = False``) so the decode below
runs in float32 even when the network runs under bf16 autocast on CUDA (bf16 box coordinates
would be quantised to several pixels at 1440 px). Decode: ``xy = (raw_xy + grid) * stride``,
``wh = exp(raw_wh) * stride``; score = objectness x best class probability; boxes with
``score >= conf`` go through class-aware NMS (``torchvision.ops.batched_nms``); at most
``max_det`` boxes per image, highest score first. Boxes are mapped back through the letterbox
(:func:`detbench.detect.letterbox.unletterbox_boxes`), clipped to the image, and empty boxes
dropped.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from detbench.core.errors import InputError
from detbench.core.types import empty_detections
from detbench.detect.letterbox import letterbox, to_chw_float, unletterbox_boxes
from detbench.threads import available_cores


def load_image(path: str | Path) -> np.ndarray:
    """Read an image as BGR uint8, raising InputError when it is missing or does not decode."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: image file not found")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"{path}: image fails to decode (not a readable JPEG/PNG)")
    return img


def precision_for(device: str) -> str:
    """bf16 autocast on CUDA, float32 elsewhere."""
    return "bf16" if str(device).startswith("cuda") else "fp32"


def decode_raw(raw, hw: list[tuple[int, int]], strides: list[int]):
    """Raw head output (B, A, 5 + C) -> (B, A, 5 + C) float32 with cx, cy, w, h in input pixels."""
    import torch

    raw = raw.float()
    grids, stride_col = [], []
    for (h, w), s in zip(hw, strides):
        ys, xs = torch.meshgrid(torch.arange(h, device=raw.device), torch.arange(w, device=raw.device),
                                indexing="ij")
        grids.append(torch.stack((xs, ys), dim=-1).reshape(-1, 2))
        stride_col.append(torch.full((h * w, 1), float(s), device=raw.device))
    grid = torch.cat(grids).float()
    stride = torch.cat(stride_col)
    xy = (raw[..., :2] + grid) * stride
    wh = torch.exp(raw[..., 2:4]) * stride
    return torch.cat([xy, wh, raw[..., 4:]], dim=-1)


def select_boxes(pred, conf: float, nms: float, max_det: int = 300) -> list[np.ndarray]:
    """Decoded (B, A, 5 + C) -> per image (N, 6) ``x1, y1, x2, y2, score, class`` in input pixels."""
    import torch
    from torchvision.ops import batched_nms

    out = []
    for p in pred:
        cls_prob, cls_idx = p[:, 5:].max(dim=1)
        score = p[:, 4] * cls_prob
        keep = score >= conf
        p, score, cls_idx = p[keep], score[keep], cls_idx[keep]
        if len(p) == 0:
            out.append(empty_detections())
            continue
        boxes = torch.cat([p[:, :2] - p[:, 2:4] / 2, p[:, :2] + p[:, 2:4] / 2], dim=1)
        kept = batched_nms(boxes, score, cls_idx, nms)[:max_det]  # sorted by score, descending
        dets = torch.cat([boxes[kept], score[kept, None], cls_idx[kept, None].float()], dim=1)
        out.append(dets.cpu().numpy().astype(np.float32))
    return out


class Detector:
    """A YOLOX model plus its input size and thresholds; call it on a list of BGR images."""

    def __init__(self, model, input_size: tuple[int, int], device: str = "cpu", conf: float = 0.01,
                 nms: float = 0.65, max_det: int = 300, compile: bool = False):
        import torch

        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.model.head.decode_in_inference = False
        self.head = self.model.head
        self.cuda = self.device.type == "cuda"
        if self.cuda:  # NHWC convolutions, the fastest algorithm per input shape
            self.model.to(memory_format=torch.channels_last)
            torch.backends.cudnn.benchmark = True
        self.net = torch.compile(self.model) if compile else self.model
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.conf, self.nms, self.max_det = float(conf), float(nms), int(max_det)
        self.precision = precision_for(str(device))

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        canvas, r = letterbox(image, self.input_size)
        return to_chw_float(canvas), r

    def forward(self, batch) -> list[np.ndarray]:
        """(B, 3, H, W) float32 letterboxed batch (array or tensor) -> per image (N, 6) in input pixels."""
        import torch

        x = (batch if torch.is_tensor(batch) else torch.from_numpy(batch)).to(self.device, non_blocking=True)
        if self.cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        amp = (torch.autocast("cuda", dtype=torch.bfloat16) if self.precision == "bf16"
               else contextlib.nullcontext())
        with torch.inference_mode(), amp:
            raw = self.net(x)
        head = self.head
        pred = decode_raw(raw, [tuple(s) for s in head.hw], list(head.strides))
        return select_boxes(pred, self.conf, self.nms, self.max_det)

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Original BGR images -> per image (N, 6) detections in original pixels."""
        prepped = [self.preprocess(im) for im in images]
        return self.finish(np.stack([p[0] for p in prepped]), [p[1] for p in prepped],
                           [im.shape[:2] for im in images])

    def finish(self, batch: np.ndarray, ratios: list[float], shapes: list[tuple[int, int]]) -> list[np.ndarray]:
        """Forward a preprocessed batch and map each image's boxes back to its original pixels."""
        out = []
        for dets, r, (h, w) in zip(self.forward(batch), ratios, shapes):
            if len(dets):
                dets[:, :4] = unletterbox_boxes(dets, r, w, h)
                dets = dets[(dets[:, 2] > dets[:, 0]) & (dets[:, 3] > dets[:, 1])]
            out.append(dets)
        return out


class LetterboxedImages:
    """Map-style dataset: index -> (CHW float32 tensor of the letterboxed image, ratio, (h, w))."""

    def __init__(self, paths: list[Path], input_size: tuple[int, int]):
        self.paths, self.input_size = list(paths), input_size

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index: int):
        import torch

        img = load_image(self.paths[index])
        canvas, r = letterbox(img, self.input_size)
        return torch.from_numpy(to_chw_float(canvas)), r, img.shape[:2]


def _collate(items):
    import torch

    return torch.stack([i[0] for i in items]), [i[1] for i in items], [tuple(i[2]) for i in items]


def iter_batches(paths: Iterable[Path], input_size: tuple[int, int], batch_size: int,
                 workers: int | None = None, pin_memory: bool = False) -> Iterator[tuple]:
    """Decode + letterbox in DataLoader worker processes (two batches per worker prefetched) and yield
    ``(batch (B, 3, H, W) float32 tensor, ratios, original (h, w))`` in order; ``pin_memory`` for a
    CUDA device (asynchronous copies). ``workers=0``: in this process."""
    import torch

    paths = list(paths)
    if workers is None:
        workers = min(8, available_cores())
    workers = min(workers, max(1, -(-len(paths) // batch_size))) if paths else 0
    loader = torch.utils.data.DataLoader(
        LetterboxedImages(paths, input_size), batch_size=batch_size, shuffle=False, num_workers=workers,
        collate_fn=_collate, pin_memory=pin_memory, prefetch_factor=2 if workers else None)
    try:
        yield from loader
    except InputError as e:  # raised in a worker: arrives with the worker's traceback; keep its line
        head = f"{InputError.__module__}.{InputError.__qualname__}: "   # wherever errors.py lives
        line = next((ln for ln in str(e).splitlines() if ln.startswith(head)), None)
        raise InputError(line.split(": ", 1)[1] if line else str(e).splitlines()[-1]) from None
