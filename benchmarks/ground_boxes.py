"""How well `ground`'s predicted image box fits the box its object gets next: each `image_box` rule.

    python benchmarks/ground_boxes.py GT_DIR [key=value ...]      # e.g. /work/data/runs/data/synth6/sequences/tune

Each considered GT row becomes a detection (score 0.95, ``bench_perfect.py``). The tracker (with
the options given) is replayed frame by frame; before each update, every live track with a ground
state predicts its box in the frame under each ``image_box`` rule, from the same state; where the
track then takes an object's box, the IoU of each prediction with that box is recorded. Printed
per kind of box (``interior``; ``edge``: touching an image edge; ``fullheight``: spanning the
image's height, an object beside the ego vehicle straddling the camera's plane): the count, the
mean IoU and the share with IoU >= 0.2 (``match_iou``) per rule. An analysis: nothing is chosen on it.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def touches_edge(box, width: int, height: int) -> bool:
    """One xyxy box within ``EDGE_PX`` of an edge of a ``width`` x ``height`` image."""
    from detbench.core.geometry import EDGE_PX

    return box[0] <= EDGE_PX or box[1] <= EDGE_PX or box[2] >= width - EDGE_PX or box[3] >= height - EDGE_PX


def spans_height(box, height: int) -> bool:
    """One xyxy box reaching both the top and the bottom edge (within ``EDGE_PX``): an object beside
    the ego vehicle straddling the camera's plane."""
    from detbench.core.geometry import EDGE_PX

    return box[1] <= EDGE_PX and box[3] >= height - EDGE_PX


def box_kind(box: np.ndarray, width: int, height: int) -> str:
    """``fullheight``, ``edge`` or ``interior`` for one xyxy box in a ``width`` x ``height`` image."""
    if spans_height(box, height):
        return "fullheight"
    return "edge" if touches_edge(box, width, height) else "interior"


def replay(job, params, rules: tuple[str, ...]) -> list[tuple[str, tuple[float, ...]]]:
    """[(box kind, IoU per rule)] of every (track, detection) pair the tracker made in one
    sequence where the track had a ground state before the frame."""
    from detbench.core.types import iou_matrix
    from detbench.tracking.sources import frame_of
    from trackers.ground.tracker import GroundTracker

    trk = GroundTracker(params, job.info.frame_rate)
    rows = []
    for i, d in enumerate(job.read_detections().frames):
        frame = frame_of(job, i)
        cam = frame.camera()
        _, x, p, boxes = trk._predicted(frame, cam)
        heading = trk._ego_heading(cam)
        preds = []
        for rule in rules:
            trk.params = dataclasses.replace(params, image_box=rule)
            preds.append(trk._boxes_in(cam, x, p, boxes, heading))
        trk.params = params
        ids, on_ground = trk.ids.copy(), trk.on_ground.copy()
        out = trk.update(d, frame)
        for r in out:
            j = np.flatnonzero(ids == int(r[4]))
            if not len(j) or not on_ground[j[0]]:
                continue
            box = np.asarray(r[:4], dtype=float)[None]
            ious = tuple(float(np.nan_to_num(iou_matrix(pred[j[0]:j[0] + 1], box))[0, 0]) for pred in preds)
            rows.append((box_kind(box[0], cam.width, cam.height), ious))
    return rows


def main(argv=None) -> int:
    from bench_perfect import perfect_jobs

    from detbench.core.options import parse_key_values
    from detbench.tracking.run import as_spec
    from trackers.ground.tracker import IMAGE_BOXES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gt", type=Path, help="MOTChallenge-layout folder of sequences with gt/gt.txt")
    ap.add_argument("options", nargs="*", help="ground's options, key=value (the replayed tracker's)")
    args = ap.parse_args(argv)
    params = as_spec("ground", parse_key_values(args.options, "option")).params
    with perfect_jobs(args.gt) as jobs:
        rows = [row for job in jobs for row in replay(job, params, IMAGE_BOXES)]
    by_kind = collections.defaultdict(list)
    for kind, ious in rows:
        by_kind[kind].append(ious)
        by_kind["all"].append(ious)
    print("kind | pairs | " + " | ".join(f"{r}: mean IoU, IoU >= 0.2" for r in IMAGE_BOXES))
    for kind in ("interior", "edge", "fullheight", "all"):
        a = np.asarray(by_kind[kind]).reshape(-1, len(IMAGE_BOXES))
        cells = " | ".join(f"{a[:, k].mean():.3f}, {(a[:, k] >= 0.2).mean():.3f}" if len(a) else "-"
                           for k in range(len(IMAGE_BOXES)))
        print(f"{kind} | {len(a)} | {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
