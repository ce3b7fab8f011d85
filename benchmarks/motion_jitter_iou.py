"""Next-box IoU of trained motion models on val histories as a detector sees them.

    python benchmarks/motion_jitter_iou.py --data runs/data/synth6 runs/motion/synth6-ground \\
        runs/motion/synth6-ground-j [--jitter 0 0.05] [--seed 0]

For each ``--jitter`` level the val split's windows are cut with their history boxes jittered
(:func:`detbench.motion.windows.dataset_windows`, the noise of ``train-motion --jitter``, seeded;
the targets stay exact; 0: exact histories, the figures ``train-motion`` prints) and every model
is scored as ``train-motion`` scores it (:func:`trackers.trackssm.train.evaluate`), beside image
constant velocity, calibrated constant velocity and the last box on the same windows.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from detbench.motion.windows import dataset_windows, split_sequences
    from trackers.trackssm.checkpoint import load
    from trackers.trackssm.train import evaluate

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="prepared dataset with a val split and frames.json cameras")
    ap.add_argument("weights", nargs="+", help="runs/motion/NAME folders")
    ap.add_argument("--jitter", type=float, nargs="+", default=[0.0, 0.05])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    seqs = [s for s in split_sequences(args.data, "val") if s.parent.name == "val"]
    models = [(w, *load(w)) for w in args.weights]
    history, rate = models[0][1].config.history, models[0][2]["frame_rate"]  # the first model's windows
    print("| val histories | windows | model | TrackSSM | image CV | calibrated CV | last box |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for sigma in args.jitter:
        wins = dataset_windows(seqs, history, rate, "val set", calibration="require", jitter=sigma, seed=args.seed)
        for name, model, _ in models:
            m = evaluate(model, wins)
            print(f"| jitter {sigma:g} | {m['windows']} | {name} | {m['trackssm_iou']:.4f} | "
                  f"{m['const_velocity_iou']:.4f} | {m['calibrated_cv_iou']:.4f} | {m['last_box_iou']:.4f} |")


if __name__ == "__main__":
    main()
