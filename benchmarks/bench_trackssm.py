"""TrackSSM tracker speed at nuScenes density, beside BoT-SORT (boxmot), same detections, same run.

    python benchmarks/bench_trackssm.py [--frames 40] [--repeats 3] [--densities 10 30 60]
                                        [--weights random|PATH] [--device cpu|cuda] [--threads 1]

Detections: the scene of ``benchmarks/bench_trackers.py`` (``density`` objects of random classes
moving linearly on a 1600x900 image, through ``noisy_detections`` with 0.1 * density false
positives per frame), seeded. frames/s = frames / wall time of ``update`` over the sequence
(tracker construction excluded), median of ``repeats``. BoT-SORT runs with ``cmc=none`` (no
images) so both see detections only. Speed does not depend on whether the weights are trained,
so ``--weights random`` (the default) measures the same network.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def fps(name: str, options: dict, dets: list, repeats: int) -> tuple[float, float]:
    from trackers import make_tracker
    from trackers.base import Frame

    times, tracks = [], 0.0
    for _ in range(repeats):
        trk = make_tracker(name, options, frame_rate=2.0)
        t0 = time.perf_counter()
        n = 0
        for i, d in enumerate(dets):
            n += len(trk.update(d, Frame(index=i, timestamp=i / 2, frame_rate=2.0)))
        times.append(time.perf_counter() - t0)
        tracks = n / len(dets)
    return len(dets) / statistics.median(times), tracks


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--densities", type=int, nargs="+", default=[10, 30, 60])
    ap.add_argument("--weights", default="random")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import importlib.util

    import torch
    from bench_trackers import scene

    torch.set_num_threads(args.threads)
    have_botsort = importlib.util.find_spec("trackers.botsort") is not None
    print(f"torch {torch.__version__}, {args.threads} thread(s), trackssm on {args.device}, "
          f"{args.frames} frames, median of {args.repeats}")
    print("| dets/frame (objects) | trackssm frames/s | botsort frames/s | tracks out/frame (trackssm, botsort) |")
    print("|---|---|---|---|")
    for density in args.densities:
        dets = scene(density, args.frames, seed=density)
        mean_dets = sum(len(d) for d in dets) / len(dets)
        ssm, n_ssm = fps("trackssm", {"weights": args.weights, "device": args.device}, dets, args.repeats)
        if have_botsort:
            bot, n_bot = fps("botsort", {"cmc": "none"}, dets, args.repeats)
            bot_s = f"{bot:.1f}"
        else:
            bot_s, n_bot = "n/a (trackers/botsort.py missing)", float("nan")
        print(f"| {mean_dets:.0f} ({density}) | {ssm:.1f} | {bot_s} | {n_ssm:.1f}, {n_bot:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
