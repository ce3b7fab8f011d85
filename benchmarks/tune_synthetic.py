"""A tracker's tuning grid on a split with GT-derived noisy detections: how its defaults were chosen.

    python benchmarks/tune_synthetic.py --tracker ground \
        [--gt /work/data/runs/data/synth6/sequences/tune] [--seed 0] [--out runs/tune-synthetic]

Every sequence under ``--gt`` gets detections from its considered ground truth through
:func:`detbench.data.noisy.noisy_detections` (the README's recipe: jitter 0.05, 10 % misses, one
false positive a frame, seeded per sequence), and ``detbench tune``'s own search
(:func:`detbench.tuning.tune.tune_jobs`: the tracker's ``Params.GRID`` and the clean-up's ``nms_iou``,
81 points, best HOTA then fewest ID switches) runs on them. Printed: every point's HOTA and IDSW,
the best point, and where the tracker's defaults stand.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_noisy_detections(gt_dir: Path, out: Path, seed: int) -> Path:
    """``<out>/<seq>.txt``: seeded GT-derived noisy detections of every sequence of ``gt_dir``."""
    from detbench.data.layout import gt_file, seqinfo_file
    from detbench.data.mot import list_sequences, read_mot, read_seqinfo, write_mot_dets
    from detbench.data.noisy import noisy_detections

    out.mkdir(parents=True, exist_ok=True)
    for i, seq in enumerate(list_sequences(gt_dir)):
        info = read_seqinfo(seqinfo_file(gt_dir / seq))
        gt = read_mot(gt_file(gt_dir / seq), kind="gt")
        write_mot_dets(out / f"{seq}.txt", noisy_detections(gt, info.length, info.width, info.height, seed=seed + i))
    return out


def main(argv=None) -> int:
    from dataclasses import asdict

    from detbench.tracking.sources import from_external
    from detbench.tuning.tune import tune_jobs
    from trackers import tracker_spec

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracker", default="ground")
    ap.add_argument("--gt", type=Path, default=Path("/work/data/runs/data/synth6/sequences/tune"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "tune-synthetic")
    args = ap.parse_args(argv)
    dets = write_noisy_detections(args.gt, args.out / "dets", args.seed)
    result = tune_jobs(from_external(dets, args.gt), args.gt, args.tracker, args.out / "tracks" / args.tracker)
    defaults = {**asdict(tracker_spec(args.tracker).params), **asdict(tracker_spec(args.tracker).cleanup)}
    print(f"{args.gt}: noisy detections (seed {args.seed}); {args.tracker}, {len(result['rows'])} points")
    for row in sorted(result["rows"], key=lambda r: (-r["HOTA"], r["IDSW"])):
        mark = "  <- defaults" if all(defaults[k] == v for k, v in row["options"].items()) else ""
        print(f"  {row['options']}: HOTA {100 * row['HOTA']:.2f} IDSW {row['IDSW']}{mark}")
    print(f"best: {result['best']['options']} (HOTA {100 * result['best']['HOTA']:.2f}, IDSW {result['best']['IDSW']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
