"""YOLOX-L detection throughput on CUDA at 800x1440, bf16 autocast (fresh weights, 7 classes).

Reports images/s for model only (forward + float32 decode + class-aware NMS on a letterboxed
batch already on the GPU side) per batch size, and end to end (1600x900 JPEG decode + letterbox on
a CPU thread pool + the same) at the largest batch. Also checks bf16 against float32 on the same
batch (mean |score difference| of the raw head). Usage (benchmarks/gpu_check.sh)::

    python benchmarks/gpu_detect.py --batches 1,8,16 --iters 20
    python benchmarks/gpu_detect.py --device cpu --size yolox-nano --input 64x96 --iters 2   # smoke test
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def _sync(device):
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="yolox-l")
    ap.add_argument("--input", default="800x1440", help="model input HxW")
    ap.add_argument("--batches", default="1,8,16")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()

    import torch

    from detbench.core.classes import NUM_CLASSES
    from detbench.detect.infer import Detector, iter_batches
    from detbench.train.models import build_model

    torch.manual_seed(0)
    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SystemExit("gpu_detect: CUDA not available")
        torch.backends.cudnn.benchmark = True
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    h, w = (int(v) for v in args.input.lower().split("x"))
    det = Detector(build_model(args.size, NUM_CLASSES), (h, w), device=args.device, conf=0.01)
    rng = np.random.default_rng(0)
    batches = [int(b) for b in args.batches.split(",")]
    for b in batches:
        x = (rng.random((b, 3, h, w), dtype=np.float32) * 255).astype(np.float32)
        for _ in range(3):
            det.forward(x)
        _sync(args.device)
        t0 = time.perf_counter()
        for _ in range(args.iters):
            det.forward(x)
        _sync(args.device)
        dt = time.perf_counter() - t0
        mem = torch.cuda.max_memory_allocated() / 2**20 if args.device.startswith("cuda") else 0
        print(f"{args.size} {h}x{w} {det.precision} batch {b:3d}: model {b * args.iters / dt:8.1f} img/s "
              f"({1000 * dt / (b * args.iters):.2f} ms/img), peak mem {mem:.0f} MiB")

    # bf16 vs float32 on the same input (head outputs), a sanity check of the autocast path
    x = torch.from_numpy((rng.random((2, 3, h, w), dtype=np.float32) * 255).astype(np.float32)).to(det.device)
    with torch.inference_mode():
        ref = det.model(x).float()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=det.precision == "bf16"):
            low = det.model(x).float()
    diff = (ref[..., 4:].sigmoid() - low[..., 4:].sigmoid()).abs().mean().item()
    print(f"bf16 vs fp32: mean |prob difference| {diff:.2e} over {ref.shape[1]} anchors")

    # end to end with JPEG decode at the largest batch
    b = max(batches)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(16):
            img = cv2.GaussianBlur(rng.integers(0, 255, (900, 1600, 3), dtype=np.uint8), (15, 15), 0)
            paths.append(Path(tmp) / f"{i}.jpg")
            cv2.imwrite(str(paths[-1]), img)
        paths = [paths[i % 16] for i in range(b * max(2, args.iters // 2))]
        _sync(args.device)
        t0 = time.perf_counter()
        for batch in iter_batches(paths, (h, w), b, pin_memory=det.cuda):
            det.finish(*batch)
        _sync(args.device)
        print(f"end to end (1600x900 JPEG, batch {b}): {len(paths) / (time.perf_counter() - t0):.1f} img/s")


if __name__ == "__main__":
    main()
