"""Detection throughput on CPU: YOLOX-nano (7 classes, fresh weights) at the demo input size.

Measures (1) model only: forward + float32 decode + class-aware NMS on letterboxed batches,
(2) end to end: JPEG decode + letterbox (thread pool) + the same, on 1600x900 JPEGs, exactly the
path ``detbench detect`` takes. Usage::

    python benchmarks/bench_detect.py [--input 256x448] [--batch 8] [--images 48] [--threads 1]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default="256x448", help="model input HxW")
    ap.add_argument("--size", default="yolox-nano")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    import torch

    from detbench.core.classes import NUM_CLASSES
    from detbench.detect.infer import Detector, iter_batches
    from detbench.train.models import build_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    h, w = (int(v) for v in args.input.lower().split("x"))
    det = Detector(build_model(args.size, NUM_CLASSES), (h, w), device=args.device, conf=0.01)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(min(args.images, 16)):  # 16 distinct JPEGs, reused to reach --images
            img = cv2.GaussianBlur(rng.integers(0, 255, (900, 1600, 3), dtype=np.uint8), (15, 15), 0)
            paths.append(Path(tmp) / f"{i}.jpg")
            cv2.imwrite(str(paths[-1]), img)
        paths = [paths[i % len(paths)] for i in range(args.images)]

        batches = list(iter_batches(paths[:args.batch], (h, w), args.batch))
        det.finish(*batches[0])  # warm-up
        n = 0
        t0 = time.perf_counter()
        while n < args.images:
            det.finish(*batches[0])
            n += args.batch
        model_rate = n / (time.perf_counter() - t0)

        t0 = time.perf_counter()
        for batch in iter_batches(paths, (h, w), args.batch, pin_memory=det.cuda):
            det.finish(*batch)
        e2e_rate = len(paths) / (time.perf_counter() - t0)
    print(f"{args.size} {h}x{w} batch {args.batch} {args.device} threads {args.threads} ({det.precision}):"
          f" model {model_rate:.1f} img/s, end to end (1600x900 JPEG) {e2e_rate:.1f} img/s")


if __name__ == "__main__":
    main()
