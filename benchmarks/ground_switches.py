"""Where a tracker's ID switches on the degraded fixture come from (the `ground` birth-rule analysis).

    python benchmarks/ground_switches.py TRACKS_DIR [--seed 0]

``TRACKS_DIR``: a folder of tracker results on the real fixture with ``bench_cleanup.py``'s
degraded detections (``<out>/tracks/fixture/<tracker>/<key>/``, same ``--seed``). The detections'
sources (true box of which object, duplicate, false box) are regenerated from the seed
(:func:`detbench.data.noisy.noisy_detections` with ``with_source=True``) and each reported box
takes the source of the detection it overlaps most (IoU > 0.3). Per frame, GT boxes are matched
to reported boxes of their class CLEAR-style (IoU >= 0.5, last frame's pairs kept first); every
change of an object's matched track is a switch, classified by what started the new track (its
first box: the object's own detection, another object's, a duplicate, a false box), how old the
new track is, and what the old track does in that frame (unmatched, on another object's box, on
a duplicate). Counts are close to, not equal to, TrackEval's IDSW (its matching also weighs
association scores).
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SOURCE_NAMES = {-1: "a false box", -2: "a duplicate", -9: "no detection"}


def xyxy(rows: np.ndarray) -> np.ndarray:
    return np.column_stack([rows[:, 2], rows[:, 3], rows[:, 2] + rows[:, 4], rows[:, 3] + rows[:, 5]])


def box_sources(tracks: np.ndarray, dets: list, sources: list) -> dict:
    """{(frame, track id): source id of the detection its box overlaps most} (-9: none > 0.3)."""
    from detbench.core.types import iou_matrix

    out = {}
    for f in np.unique(tracks[:, 0]).astype(int):
        t, d = tracks[tracks[:, 0] == f], dets[f - 1]
        iou = iou_matrix(xyxy(t), d[:, :4].astype(np.float64)) if len(d) else np.zeros((len(t), 0))
        for k, row in enumerate(t):
            best = int(iou[k].argmax()) if iou.shape[1] else -1
            out[(f, int(row[1]))] = int(sources[f - 1][best]) if best >= 0 and iou[k, best] > 0.3 else -9
    return out


def switches(gt: np.ndarray, tracks: np.ndarray, length: int, source: dict) -> list[dict]:
    """Every switch of one sequence (module docstring)."""
    from detbench.core.classes import CLASSES
    from detbench.core.types import iou_matrix

    births = {int(i): int(tracks[tracks[:, 1] == i, 0].min()) for i in np.unique(tracks[:, 1])}
    last, out = {}, []
    for f in range(1, length + 1):
        g, t = gt[gt[:, 0] == f], tracks[tracks[:, 0] == f]
        if not len(g) or not len(t):
            continue
        iou = iou_matrix(xyxy(g), xyxy(t))
        cost = np.where((g[:, 7][:, None] == t[:, 7][None, :]) & (iou >= 0.5), 1.0 - iou, 10.0)
        kept = np.array([[last.get(int(a)) == int(b) for b in t[:, 1]] for a in g[:, 1]])
        cost = np.where(kept & (cost < 10), cost - 100, cost)
        for i, j in zip(*linear_sum_assignment(cost)):
            if cost[i, j] >= 10:
                continue
            obj, new = int(g[i, 1]), int(t[j, 1])
            old = last.get(obj)
            last[obj] = new
            if old is None or old == new:
                continue
            first = source[(births[new], new)]
            now = source.get((f, old))
            out.append({
                "class": CLASSES[int(g[i, 7]) - 1],
                "born from": "its own detection" if first == obj else SOURCE_NAMES.get(first, "another object's"),
                "new track": {0: "born this frame", 1: "one frame old"}.get(f - births[new], "older"),
                "old track": ("unmatched" if now is None else "on a duplicate" if now == -2
                              else "on another object's box" if now >= 0 and now != obj else "on other"),
            })
    return out


def main(argv=None) -> int:
    import bench_cleanup

    from detbench.data.layout import PreparedDataset, gt_file, seqinfo_file
    from detbench.data.mot import list_sequences, read_mot, read_seqinfo
    from detbench.data.noisy import noisy_detections

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tracks", type=Path, help="tracker results on the degraded fixture (MOT files per sequence)")
    ap.add_argument("--seed", type=int, default=0, help="bench_cleanup.py's --seed")
    args = ap.parse_args(argv)
    root = PreparedDataset(bench_cleanup.FIXTURE).sequences_root
    found = []
    for k, seq in enumerate(list_sequences(root)):  # bench_cleanup.write_noisy's seeds: seed + index
        gt = read_mot(gt_file(root / seq), kind="gt")
        info = read_seqinfo(seqinfo_file(root / seq))
        dets, sources = noisy_detections(gt, info.length, info.width, info.height, seed=args.seed + k,
                                         with_source=True, **bench_cleanup.DUPLICATES)
        tracks = read_mot(args.tracks / f"{seq}.txt")
        for s in switches(gt, tracks, info.length, box_sources(tracks, dets, sources)):
            found.append({**s, "camera": seq.split("_", 1)[1]})
    print(f"{len(found)} switches")
    for key in ("class", "camera", "born from", "new track", "old track"):
        counts = collections.Counter(s[key] for s in found)
        print(f"  {key}: " + ", ".join(f"{v} {k}" for k, v in counts.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
