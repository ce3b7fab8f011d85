"""A tracker (``ground`` by default) with given options on the synthetic tune splits, GT-derived detections.

    python benchmarks/ground_rules.py [key=value ...] [--tracker ground] [--sets gt,noisy,deg,degT]
        [--data /work/data/runs/data] [--datasets synth6,synth24x6] [--out runs/ground-rules]

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

Every set's frames carry their images as ``bench_perfect.py`` gives them (the dataset's
dataroot), so a tracker that reads images (BoT-SORT's default sparse-flow CMC) really reads them.
``--tracker`` scores any registered tracker (``deg`` and ``degT`` are ``ground``'s; another
tracker's default sets are ``gt,noisy``). Only tune splits: no reported split is read. Printed:
one line, HOTA (%) / IDSW per set, then the criterion's figures: the sum of HOTA over the ``gt``
and ``noisy`` sets and their IDSW summed (the best sum wins, then the fewest IDSW).
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
    """{set name: (detection folder, options under the given ones)} for one tune split
    (``degT``'s options are ``ground``'s)."""
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


def score_sets(tracker: str, options: dict, data: Path, datasets: list[str], sets: list[str], out: Path,
               force: bool = False) -> list[tuple[str, float, int]]:
    """[(``dataset:set``, HOTA, IDSW)] of ``tracker`` with ``options`` on each dataset's tune split,
    tracks under ``out``/tracks/<dataset>/<set>/<options' hash> (``force``: tracked again even
    when the folder holds a run of the same inputs, for code switched in-process)."""
    from bench_perfect import default_images, jobs_with_images

    from detbench.core.fileio import sha256_json
    from detbench.data.layout import PreparedDataset
    from detbench.evaluate.api import evaluate_folders
    from detbench.tracking.run import track_split

    cells = []
    for name in datasets:
        gt = PreparedDataset(data / name).gt_dir("tune")
        available = detection_sets(gt, out / "dets" / name)
        for key in sets:
            dets, extra = available[key]
            opts = {**extra, **options}
            folder = out / "tracks" / name / key / sha256_json({"tracker": tracker, **opts})[:12]
            track_split(jobs_with_images(gt, dets, default_images(gt)), tracker, folder, opts, force=force)
            m = evaluate_folders(gt, folder)["overall"]
            cells.append((f"{name}:{key}", 100 * m["HOTA"], int(m["IDSW"])))
    return cells


def criterion(cells: list[tuple[str, float, int]]) -> tuple[float, int]:
    """(HOTA sum, IDSW sum) over the ``gt`` and ``noisy`` sets of ``cells``."""
    chosen = [c for c in cells if c[0].split(":")[1] in ("gt", "noisy")]
    return sum(c[1] for c in chosen), sum(c[2] for c in chosen)


def format_cells(cells: list[tuple[str, float, int]], digits: int) -> str:
    hota, idsw = criterion(cells)
    return (" | ".join(f"{name} {h:.{digits}f}/{i}" for name, h, i in cells)
            + f" || gt+noisy HOTA sum {hota:.{digits}f}, IDSW {idsw}")


def main(argv=None) -> int:
    from detbench.core.options import parse_key_values

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("options", nargs="*", help="tracker options, key=value")
    ap.add_argument("--tracker", default="ground", help="a registered tracker's name")
    ap.add_argument("--sets", help="comma-separated of gt, noisy, deg, degT (default: all four for ground, "
                    "else gt,noisy)")
    ap.add_argument("--data", type=Path, default=Path("/work/data/runs/data"), help="folder of prepared datasets")
    ap.add_argument("--datasets", default="synth6,synth24x6")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "ground-rules")
    ap.add_argument("--digits", type=int, default=2, help="decimals of HOTA (%%) printed")
    args = ap.parse_args(argv)
    options = parse_key_values(args.options, "option")
    sets = (args.sets or ("gt,noisy,deg,degT" if args.tracker == "ground" else "gt,noisy")).split(",")
    cells = score_sets(args.tracker, options, args.data, args.datasets.split(","), sets, args.out)
    label = " ".join(args.options) or "(defaults)"
    print(label if args.tracker == "ground" else f"{args.tracker} {label}", "|", format_cells(cells, args.digits),
          flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
