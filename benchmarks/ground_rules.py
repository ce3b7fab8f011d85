"""``ground`` with given options on the synthetic tune splits, GT-derived detections at three noise levels.

    python benchmarks/ground_rules.py [key=value ...] [--data /work/data/runs/data]
        [--datasets synth6,synth24x6] [--out runs/ground-rules]

How the birth rules of ``ground`` were chosen (benchmarks/README.md, "Calibrated motion with
degraded detections"). Per dataset's ``tune`` split, four detection sets, tracked with the
options given (``--tracker-opt`` style) and scored by ``detbench eval``'s scorer:

- ``gt``: every considered GT row, score 0.95 (``bench_perfect.py``);
- ``noisy``: ``tune_synthetic.py``'s recipe (jitter 0.05, 10 % misses, one false positive a
  frame; seed 0 + sequence index);
- ``deg``: ``bench_cleanup.py``'s tune detections (the same plus its duplicates; seed 1000 +
  sequence index), clean-up off;
- ``degT``: the same with the clean-up ``bench_cleanup.py`` tuned for ``ground`` before the
  birth rules (``nms_fuse=max, nms_merge=wbf, nms_iou=0.5, track_buffer_s=3``) under the options.

Only tune splits: no reported split is read. Printed: one line, HOTA (%) / IDSW per set.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: the clean-up bench_cleanup.py chose for ground on its tune split before the birth rules
DEGRADED_CLEANUP = {"nms_fuse": "max", "nms_merge": "wbf", "nms_iou": 0.5, "track_buffer_s": 3.0}


def detection_sets(gt: Path, out: Path) -> dict[str, tuple[Path, dict]]:
    """{set name: (detection folder, options under the given ones)} for one tune split."""
    import bench_cleanup
    import bench_perfect
    import tune_synthetic

    made = {"gt": lambda o: bench_perfect.write_perfect_detections(gt, o, 0.95),
            "noisy": lambda o: tune_synthetic.write_noisy_detections(gt, o, 0),
            "deg": lambda o: bench_cleanup.write_noisy(gt, o, 1000)}
    folders = {name: out / name for name in made}
    for name, write in made.items():
        if not folders[name].is_dir():
            write(folders[name])
    return {"gt": (folders["gt"], {}), "noisy": (folders["noisy"], {}), "deg": (folders["deg"], {}),
            "degT": (folders["deg"], DEGRADED_CLEANUP)}


def main(argv=None) -> int:
    from detbench.core.fileio import sha256_json
    from detbench.data.layout import PreparedDataset
    from detbench.evaluate.api import evaluate_folders
    from detbench.tracking.run import track_split
    from detbench.tracking.sources import from_external

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("options", nargs="*", help="tracker options, key=value")
    ap.add_argument("--data", type=Path, default=Path("/work/data/runs/data"), help="folder of prepared datasets")
    ap.add_argument("--datasets", default="synth6,synth24x6")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "ground-rules")
    ap.add_argument("--digits", type=int, default=2, help="decimals of HOTA (%%) printed")
    args = ap.parse_args(argv)
    options = dict(kv.split("=", 1) for kv in args.options)
    cells = []
    for name in args.datasets.split(","):
        gt = PreparedDataset(args.data / name).gt_dir("tune")
        for key, (dets, extra) in detection_sets(gt, args.out / "dets" / name).items():
            opts = {**extra, **options}
            out = args.out / "tracks" / name / key / sha256_json(opts)[:12]
            track_split(from_external(dets, gt), "ground", out, opts)
            m = evaluate_folders(gt, out)["overall"]
            cells.append(f"{name}:{key} {100 * m['HOTA']:.{args.digits}f}/{m['IDSW']}")
    print(" ".join(args.options) or "(defaults)", "|", " | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
