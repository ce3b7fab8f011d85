"""Where `ground`'s ID switches on ground truth as detections come from (the association analysis).

    python benchmarks/ground_swaps.py GT_DIR [key=value ...]      # e.g. tests/fixtures/nuscenes-mini-real/sequences

Each considered GT row becomes a detection (score 0.95, ``bench_perfect.py``), so every detection
knows its object. The tracker is replayed frame by frame; whenever an object's track id changes
from the one it had when last tracked, the switch is classified by the new track (``restart``:
born this frame; ``swap``: an older track that had followed something else) and by the old track
in that frame (``old unmatched``, ``old took other obj``, ``old dropped``), with the old track's
age (detections taken), its ground cost ``d2 + log det S`` and image IoU to the object's
detection (as the tracker's options score them, the overlap bonus and the size term
excluded), and its cost to the detection it took; and which near-object cases it involves (a box
cut by an image edge, spanning the image's height, crossing from one side edge to the other).
Counts are close to, not equal to, TrackEval's IDSW (its matching also weighs association scores).
"""
from __future__ import annotations

import argparse
import collections
import copy
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def replay(job, gt: np.ndarray, params) -> list[tuple]:
    """The switches of one sequence (module docstring), one tuple each."""
    from detbench.tracking.sources import frame_of
    from trackers.ground.associate import ground_costs, image_overlaps
    from trackers.ground.measure import observe
    from trackers.ground.tracker import GroundTracker

    trk = GroundTracker(params, job.info.frame_rate)
    last, age, rows, seen = {}, collections.Counter(), [], {}
    for i, d in enumerate(job.read_detections().frames):
        g, frame = gt[gt[:, 0] == i + 1], frame_of(job, i)
        before = copy.deepcopy(trk)
        out = trk.update(d, frame)
        track_of = {int(r[7]): int(r[4]) for r in out}
        det_of = {t: k for k, t in track_of.items()}
        cam = frame.camera()
        _, x, p, boxes = before._predicted(frame, cam)
        obs = observe(cam, d[:, :4].astype(float), d[:, 5].astype(int), params.noise, params.extent_noise, params.height_depth)
        pred = before._boxes_in(cam, x, p, boxes, before._ego_heading(cam))

        def cost(j, k, on_ground=before.on_ground, x=x, p=p, obs=obs):
            if not (on_ground[j] and obs.valid[k]):
                return float("nan")
            return float(ground_costs(x[j:j + 1], p[j:j + 1], obs.xy[k:k + 1], obs.cov[k:k + 1])[0, 0])

        for k, r in enumerate(g):
            obj, t = int(r[1]), track_of.get(k)
            box = r[2:6].astype(float)
            box = np.array([box[0], box[1], box[0] + box[2], box[1] + box[3]])
            prev, seen[obj] = seen.get(obj), (i, box)
            if t is None:
                continue
            age[t] += 1
            if obj in last and last[obj] != t:
                old = last[obj]
                kind = "restart" if age[t] == 1 else "swap"
                if old in before.ids:
                    j = int(np.flatnonzero(before.ids == old)[0])
                    took = det_of.get(old)
                    what = "old unmatched" if took is None else "old took other obj"
                    iou = float(image_overlaps(pred[j:j + 1], d[k:k + 1, :4].astype(float), obs.cut[k:k + 1])[0, 0])
                    rows.append((job.name, i, obj, int(r[7]), f"{kind} / {what}", age[old], round(cost(j, k), 1),
                                 round(iou, 2), round(cost(j, took), 1) if took is not None else float("nan"),
                                 edge_classes(box, prev, i, cam, job.info.frame_rate)))
                else:
                    rows.append((job.name, i, obj, int(r[7]), f"{kind} / old dropped", age[old], float("nan"),
                                 float("nan"), float("nan"), edge_classes(box, prev, i, cam, job.info.frame_rate)))
            last[obj] = t
    return rows


def edge_classes(box: np.ndarray, prev, i: int, cam, frame_rate: float) -> str:
    """Which near-object cases a switch involves (``,``-joined, ``-`` for none): ``edge`` the
    object's GT box (xyxy) in the switch's frame ``i`` or its previous one (``prev``: (frame
    index, box) or None) touches an image edge; ``fullheight`` one of them spans the image's
    height (an object beside the ego vehicle straddling the camera's plane); ``crossing`` the
    previous box touched one side edge and this one the other within 0.5 s."""
    from ground_boxes import spans_height, touches_edge

    from detbench.core.geometry import EDGE_PX

    w, h = cam.width, cam.height
    boxes = [box] + ([prev[1]] if prev is not None else [])
    out = []
    if any(touches_edge(b, w, h) for b in boxes):
        out.append("edge")
    if any(spans_height(b, h) for b in boxes):
        out.append("fullheight")
    if prev is not None and (i - prev[0]) / frame_rate <= 0.5 + 1e-9:
        left, right = (lambda b: b[0] <= EDGE_PX), (lambda b: b[2] >= w - EDGE_PX)
        if (left(prev[1]) and right(box) and not left(box)) or (right(prev[1]) and left(box) and not right(box)):
            out.append("crossing")
    return ",".join(out) or "-"


def main(argv=None) -> int:
    from bench_perfect import perfect_jobs

    from detbench.core.options import parse_key_values
    from detbench.data.layout import gt_file
    from detbench.data.mot import read_mot
    from detbench.tracking.run import as_spec

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gt", type=Path, help="MOTChallenge-layout folder of sequences with gt/gt.txt")
    ap.add_argument("options", nargs="*", help="ground's options, key=value")
    args = ap.parse_args(argv)
    params = as_spec("ground", parse_key_values(args.options, "option")).params
    with perfect_jobs(args.gt) as jobs:
        rows = [row for job in jobs for row in replay(job, read_mot(gt_file(args.gt / job.name), kind="gt"), params)]
    print(f"{len(rows)} switches:", collections.Counter(r[4] for r in rows).most_common())
    print("by GT class (1-based):", collections.Counter((r[3], r[4]) for r in rows).most_common())
    print("by sequence:", collections.Counter(r[0] for r in rows).most_common())
    print("near-object cases (a switch may be in several):",
          sorted(collections.Counter(c for r in rows for c in r[9].split(",")).items()))
    print("old track's age (detections, 5 = 5 or more):", sorted(collections.Counter(min(r[5], 5) for r in rows).items()))
    print("sequence, frame index, object, class, kind, old age, old cost, old IoU, old's cost to what it took, cases")
    for r in rows:
        print(*r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
