"""Tracker speed on CPU at nuScenes density: frames/s per tracker, with and without CMC, and the
BoT-SORT adapter's overhead against boxmot's BotSort called directly (same detections, same run).

    python benchmarks/bench_trackers.py [--frames 60] [--repeats 3] [--densities 10 30 60]

Detections: a synthetic 1600x900 scene of ``density`` objects of random classes moving
linearly (up to 25 px per frame), through :func:`detbench.data.noisy.noisy_detections`
(jitter 0.05, drop 0.1, 0.1 * density false positives per frame), seeded. Every frame carries a
camera calibration (a forward camera 1.5 m up, driving 5 m/s) for trackers that need one
(``ground``); boxes below the horizon then have ground contacts, those above are image-only. CMC runs on a
blurred random texture panned by (12, 5) px per frame (20 images, cycled). Figures are medians
of ``repeats`` runs; ``overhead`` = adapter time / direct time on single-class detections
(all rows relabelled car), adapter and direct interleaved in each repeat.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from detbench.data.noisy import noisy_detections  # noqa: E402

W, H = 1600, 900


def scene(density: int, frames: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = []
    for tid in range(1, density + 1):
        w = rng.uniform(30, 300)
        h = w * rng.uniform(0.5, 1.5)
        x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
        vx, vy = rng.uniform(-25, 25), rng.uniform(-8, 8)
        cls = rng.choice(7, p=[0.5, 0.1, 0.05, 0.05, 0.2, 0.05, 0.05]) + 1
        for f in range(1, frames + 1):
            px = (x + vx * f) % (W - w)  # wrap around: density stays constant
            py = (y + vy * f) % (H - h)
            rows.append([f, tid, px, py, w, h, 1, cls, 1])
    return noisy_detections(np.array(rows), frames, W, H, seed=seed, jitter=0.05, drop=0.1,
                            fp_rate=0.1 * density)


def panning_images(n: int = 20) -> list[np.ndarray]:
    import cv2

    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 256, (H // 8, W // 8, 3), dtype=np.uint8), (W, H))
    base = cv2.GaussianBlur(base, (0, 0), 2)
    return [cv2.warpAffine(base, np.float32([[1, 0, 12 * f], [0, 1, 5 * f]]), (W, H),
                           borderMode=cv2.BORDER_REFLECT) for f in range(n)]


#: every frame's calibration: nuScenes CAM_FRONT intrinsics, a camera 1.5 m above the ground
#: driving forward at 5 m/s (trackers that need calibration read it, the others ignore it)
INTRINSICS = np.array([[1266.4, 0.0, 816.3], [0.0, 1266.4, 491.5], [0.0, 0.0, 1.0]])


def cam2global(t: float) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3] = [[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]  # optical axis along +x
    pose[:3, 3] = (5.0 * t, 0.0, 1.5)
    return pose


def time_ours(name, options, dets, images=None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) to track ``dets``; on a shared machine the
    CPU time is what one core would take."""
    from trackers import make_tracker
    from trackers.base import Frame

    tracker = make_tracker(name, options, frame_rate=2.0)
    frames = [Frame(index=i, timestamp=i / 2, frame_rate=2.0, intrinsics=INTRINSICS, cam2global=cam2global(i / 2),
                    image=None if images is None else images[i % len(images)]) for i in range(len(dets))]
    t0, c0 = time.perf_counter(), time.process_time()
    for d, fr in zip(dets, frames):
        tracker.update(d, fr)
    return time.perf_counter() - t0, time.process_time() - c0


def time_direct(dets) -> float:
    from boxmot import BotSort

    tracker = BotSort(use_cmc=False, use_embeddings=False, frame_rate=2)  # = botsort cmc=none, 1.5 s
    t0 = time.perf_counter()
    for d in dets:
        tracker.update(d)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    from trackers import TRACKERS
    from trackers.boxmot_common import quiet_boxmot

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--densities", type=int, nargs="+", default=[10, 30, 60])
    ap.add_argument("--skip", nargs="*", default=[], help="tracker names to leave out")
    args = ap.parse_args(argv)
    quiet_boxmot()
    from boxmot import BotSort, ByteTrack, OcSort  # noqa: F401  (import once, outside the timings)
    images = panning_images()
    configs = [("iou", "iou", {}, False), ("botsort (cmc none)", "botsort", {"cmc": "none"}, False),
               ("botsort (cmc sof)", "botsort", {"cmc": "sof"}, True),
               ("bytetrack", "bytetrack", {}, False), ("ocsort", "ocsort", {}, False),
               ("ground", "ground", {}, False)]
    if "trackssm" in TRACKERS:
        configs.append(("trackssm (random weights)", "trackssm", {"weights": "random"}, False))
    configs = [c for c in configs if c[1] not in args.skip]
    table = {}
    for density in args.densities:
        dets = scene(density, args.frames, seed=density)
        n_dets = np.mean([len(d) for d in dets])
        for label, name, options, with_images in configs:
            try:
                runs = [time_ours(name, options, dets, images if with_images else None)
                        for _ in range(args.repeats)]
            except (ImportError, AttributeError) as e:
                print(f"{label}: not available ({type(e).__name__}: {e})")
                continue
            table.setdefault(label, {})[density] = args.frames / statistics.median(r[0] for r in runs)
            cpu = args.frames / statistics.median(r[1] for r in runs)
            print(f"  {label} @ {density}: {table[label][density]:.0f} frames/s ({cpu:.0f} per CPU-second)", flush=True)
        single = [d.copy() for d in dets]
        for d in single:
            d[:, 5] = 0
        ratios, direct_fps = [], []
        for _ in range(args.repeats):
            t_direct = time_direct(single)
            t_ours = time_ours("botsort", {"cmc": "none", "track_buffer_s": 1.5}, single)[0]
            ratios.append(t_ours / t_direct)
            direct_fps.append(args.frames / t_direct)
        table.setdefault("boxmot BotSort direct (1 class)", {})[density] = statistics.median(direct_fps)
        table.setdefault("adapter overhead (time ratio, 1 class)", {})[density] = statistics.median(ratios)
        print(f"density {density}: {n_dets:.1f} detections/frame on average", flush=True)
    cols = args.densities
    print(f"\nframes/s on CPU, {args.frames} frames, median of {args.repeats}")
    print("| tracker | " + " | ".join(f"{c} objects" for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for label, row in table.items():
        fmt = "{:.2f}" if "ratio" in label else "{:.0f}"
        print(f"| {label} | " + " | ".join(fmt.format(row[c]) if c in row else "-" for c in cols) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
