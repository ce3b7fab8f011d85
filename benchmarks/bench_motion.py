"""TrackSSM trained by the default ``train-motion``, over several seeds: next-box IoU and time.

    detbench synth /tmp/synth24x6 --scenes 24 --keyframes 40          # all six cameras (the default)
    detbench prepare --dataroot /tmp/synth24x6 --version v1.0-synth --name synth24x6
    python benchmarks/bench_motion.py --data runs/data/synth24x6 --seeds 0 1 2 [--jobs 2] \\
        [--eval-data tests/fixtures/nuscenes-mini-real] [--prefix NAME] [--summarize-only] \\
        [-- extra train-motion args, e.g. --ground]

Runs ``detbench train-motion --data DATA --seed S --name PREFIX-sS --eval-data ...`` for each
seed, ``--jobs`` at a time (default: all at once; each with one torch thread), on the one prepared
dataset (train-motion reads only its ground-truth tracks), then prints per seed and the median over seeds:
next-box IoU of TrackSSM, constant velocity in the image, calibrated constant velocity (on the
ground plane; "-" where a folder has no calibration) and the last box on the val split and on
every ``--eval-data`` folder, TrackSSM's lead over the stronger of the two constant velocities
and training wall and CPU seconds. ``--summarize-only`` reads the
``runs/motion/PREFIX-sS/config.json`` files of an earlier run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def _lead(e: dict) -> float:
    """TrackSSM minus the better constant velocity (calibrated where measured, else the image's)."""
    return e["trackssm_iou"] - max(e["const_velocity_iou"], e.get("calibrated_cv_iou") or 0.0)


def summarize(dirs: list[Path]) -> dict:
    rows = {d.name: json.loads((d / "config.json").read_text())["metrics"] for d in dirs}
    sets = [k for k, v in next(iter(rows.values())).items() if isinstance(v, dict)]
    print("| run | set | windows | TrackSSM | image CV | calibrated CV | last box | TrackSSM - best CV | "
          "train wall s | train CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, m in rows.items():
        for key in sets:
            e = m[key]
            print(f"| {name} | {key} | {e['windows']} | {e['trackssm_iou']:.4f} | {e['const_velocity_iou']:.4f} | "
                  f"{_fmt(e.get('calibrated_cv_iou'))} | {e['last_box_iou']:.4f} | {_lead(e):+.4f} | "
                  f"{m['train_seconds']:.0f} | {m['train_cpu_seconds']:.0f} |")
    med = {}
    for key in sets:
        vals = [m[key] for m in rows.values()]
        med[key] = {f: (None if vals[0].get(f) is None else statistics.median(v[f] for v in vals))
                    for f in ("trackssm_iou", "const_velocity_iou", "calibrated_cv_iou", "last_box_iou")}
        med[key]["trackssm_minus_best_cv"] = statistics.median(_lead(v) for v in vals)
        print(f"| median of {len(rows)} | {key} | {vals[0]['windows']} | {_fmt(med[key]['trackssm_iou'])} | "
              f"{_fmt(med[key]['const_velocity_iou'])} | {_fmt(med[key]['calibrated_cv_iou'])} | "
              f"{_fmt(med[key]['last_box_iou'])} | {med[key]['trackssm_minus_best_cv']:+.4f} | "
              f"{statistics.median(m['train_seconds'] for m in rows.values()):.0f} | "
              f"{statistics.median(m['train_cpu_seconds'] for m in rows.values()):.0f} |")
    return med


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--eval-data", action="append", default=[])
    ap.add_argument("--prefix", default="bench-motion")
    ap.add_argument("--jobs", type=int, default=0, help="train-motion runs at a time (0: all seeds at once)")
    ap.add_argument("--summarize-only", action="store_true")
    args = ap.parse_args(argv)

    from detbench.core.paths import motion_root

    dirs = [motion_root() / f"{args.prefix}-s{s}" for s in args.seeds]
    if not args.summarize_only:
        env = dict(os.environ, OMP_NUM_THREADS="1")
        jobs = args.jobs if args.jobs > 0 else len(dirs)
        running, failed = [], False
        for seed, d in zip(args.seeds, dirs):
            while len(running) >= jobs:
                failed |= bool(running.pop(0).wait())
            cmd = [sys.executable, "-m", "detbench.cli", "train-motion", "--data", args.data, "--seed", str(seed),
                   "--name", d.name, *sum((["--eval-data", e] for e in args.eval_data), []), *extra]
            d.parent.mkdir(parents=True, exist_ok=True)
            with open(f"{d}.log", "w") as log:  # the child keeps its own copy of the descriptor
                running.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
        failed |= any([p.wait() for p in running])
        if failed:
            print("a train-motion run failed; see its log next to the model dir", file=sys.stderr)
            return 1
    summarize(dirs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
