"""Trackers on ground truth as detections: what association alone loses at 2 Hz.

    python benchmarks/bench_perfect.py [--gt DIR] [--trackers iou,botsort,botsort:cmc=pose,...]
        [--images DIR] [--score 0.95] [--json out.json] [--out runs/perfect]

Every considered ground-truth row of every sequence under ``--gt`` (default: the real fixture,
``tests/fixtures/nuscenes-mini-real/sequences``; or a prepared split's ``sequences/<split>``)
becomes a detection with score ``--score`` and its own class, written as MOT detection files;
each tracker (``NAME`` or ``NAME:key=value,key=value``; ``--tracker-opt`` style options) tracks
them through ``detbench.tracking.run.track_split`` (frames with their timestamps, images and
camera calibration from frames.json, as ``detbench track --dets --sequences`` does) and the
results are scored by ``detbench eval``'s own scorer, per class and class-agnostic. Image paths
in frames.json are looked up under ``--images`` (default: for a prepared split
``runs/data/<name>/sequences/<split>``, the dataset's ``dataroot``, so BoT-SORT's image CMC
really runs; else beside the sequences, as ``detbench track --sequences`` does). Printed:
HOTA, DetA, AssA, IDSW, MOTA per tracker and mode, and the seconds each tracking run took.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detbench.data.layout import PreparedDataset, gt_file  # noqa: E402
from detbench.data.mot import list_sequences, read_mot  # noqa: E402

FIXTURE = PreparedDataset(ROOT / "tests" / "fixtures" / "nuscenes-mini-real").sequences_root
FIELDS = ("HOTA", "DetA", "AssA", "IDSW", "MOTA")


def write_perfect_detections(gt_dir: Path, out: Path, score: float) -> Path:
    """``<out>/<seq>.txt``: every considered GT row as ``frame,-1,x,y,w,h,score,class``."""
    out.mkdir(parents=True, exist_ok=True)
    for seq in list_sequences(gt_dir):
        gt = read_mot(gt_file(gt_dir / seq), kind="gt")
        lines = [f"{int(r[0])},-1,{r[2]:.3f},{r[3]:.3f},{r[4]:.3f},{r[5]:.3f},{score},{int(r[7])}\n" for r in gt]
        (out / f"{seq}.txt").write_text("".join(lines))
    return out


def parse_tracker(text: str) -> tuple[str, str, dict]:
    """``"botsort:cmc=pose,box_buffer=0.3"`` -> (label, name, options)."""
    name, _, rest = text.partition(":")
    options = dict(kv.split("=", 1) for kv in rest.split(",") if kv)
    return text, name, options


def default_images(gt_dir: Path) -> Path | None:
    """The dataroot of the prepared dataset whose ``sequences/<split>`` folder ``gt_dir`` is."""
    from detbench.data.layout import PreparedDataset

    data = PreparedDataset(gt_dir.resolve().parent.parent)
    if data.exists() and data.gt_dir(gt_dir.name) == gt_dir.resolve() and data.meta.get("dataroot"):
        return Path(data.meta["dataroot"])
    return None


def jobs_with_images(gt_dir: Path, dets: Path, images: Path | None) -> list:
    """``from_external`` jobs, their frames' image paths also looked up under ``images``."""
    import dataclasses

    from detbench.tracking.sources import from_external, read_frame_records

    jobs = from_external(dets, gt_dir)
    if images is None:
        return jobs
    return [dataclasses.replace(j, images=read_frame_records(gt_dir / j.name, j.info, [images]).images)
            if not any(j.images) else j for j in jobs]


@contextlib.contextmanager
def perfect_jobs(gt_dir: Path, score: float = 0.95):
    """``from_external`` jobs of ``gt_dir``'s sequences with every considered GT row as a detection
    (:func:`write_perfect_detections`), written to a temporary folder that lives for the block."""
    from detbench.tracking.sources import from_external

    with tempfile.TemporaryDirectory() as tmp:
        yield from_external(write_perfect_detections(gt_dir, Path(tmp), score), gt_dir)


def score_tracker(gt_dir: Path, jobs: list, out: Path, tracker: str, options: dict) -> dict:
    from detbench.evaluate.api import evaluate_folders
    from detbench.tracking.run import track_split

    t0 = time.perf_counter()
    track_split(jobs, tracker, out, options, force=True)
    seconds = time.perf_counter() - t0
    row = {"seconds": round(seconds, 2)}
    for mode in ("per-class", "agnostic"):
        m = evaluate_folders(gt_dir, out, classes=mode)["overall"]
        row[mode] = {k: m[k] for k in FIELDS}
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gt", type=Path, default=FIXTURE, help="MOTChallenge-layout folder of sequences with gt/gt.txt")
    ap.add_argument("--trackers", default="iou,botsort,bytetrack,ocsort",
                    help="comma-separated; options after a colon, e.g. botsort:cmc=pose;ocsort:cmc=pose (use ';' "
                         "between trackers when options hold commas)")
    ap.add_argument("--images", type=Path, help="folder the frames.json image paths are relative to "
                    "(default: a prepared split's dataroot)")
    ap.add_argument("--score", type=float, default=0.95)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "perfect")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    sep = ";" if ";" in args.trackers else ","
    specs = [parse_tracker(t) for t in args.trackers.split(sep) if t]
    import hashlib

    # one folder per split: detections of another split left there would be refused as unknown sequences
    out = args.out / hashlib.sha256(str(args.gt.resolve()).encode()).hexdigest()[:12]
    dets = write_perfect_detections(args.gt, out / "dets", args.score)
    jobs = jobs_with_images(args.gt, dets, args.images or default_images(args.gt))
    results = {}
    frames = sum(j.info.length for j in jobs)
    with_image = sum(1 for j in jobs for im in j.images if im)
    print(f"{args.gt}: ground truth as detections (score {args.score}); HOTA/DetA/AssA/MOTA in %; "
          f"{with_image} of {frames} frames have an image")
    print(f"{'tracker':40s} {'mode':9s} " + " ".join(f"{f:>7s}" for f in FIELDS) + "   s")
    for label, name, options in specs:
        safe = label.replace(":", "_").replace(",", "_").replace("=", "-")
        row = score_tracker(args.gt, jobs, out / "tracks" / safe, name, options)
        results[label] = row
        for mode in ("per-class", "agnostic"):
            m = row[mode]
            cells = [f"{100 * m[f]:7.2f}" if f != "IDSW" else f"{int(m[f]):7d}" for f in FIELDS]
            print(f"{label:40s} {mode:9s} " + " ".join(cells) + f" {row['seconds']:5.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    np.set_printoptions(suppress=True)
    main()
