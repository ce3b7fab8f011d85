"""Which boxes a tracker's ID switches happen on: interior, at an image edge, or spanning its height.

    python benchmarks/switch_kinds.py GT_DIR TRACKS_DIR [TRACKS_DIR ...]
    # e.g. runs/perfect/<key>/tracks/botsort runs/perfect/<key>/tracks/botsort_cmc-pose (bench_perfect.py --out)

Every switch TrackEval's CLEAR counts, class-agnostic (``detbench eval``'s own matching:
:func:`detbench.evaluate.clear_matching.clear_switches` on the sequences as they are scored, so
the totals are its IDSW column), classified by the object's GT box at the switch and its
previous considered box (``ground_boxes.py``'s kinds: ``fullheight`` if either spans the image's
height, else ``edge`` if either touches an edge, else ``interior``) and by the keyframes since that
previous box (1: seen in the keyframe before). Printed: one line per tracks folder. An analysis:
nothing is chosen on it.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

KINDS = ("interior", "edge", "fullheight")
GAPS = ("1", "2-4", "5+")


def gap_label(keyframes: int) -> str:
    return "1" if keyframes <= 1 else "2-4" if keyframes <= 4 else "5+"


def switch_kinds(gt_dir: Path, tracks_dir: Path) -> collections.Counter:
    """{(kind, gap label): switches} over the sequences of ``tracks_dir`` against ``gt_dir``."""
    from ground_boxes import box_kind

    from detbench.data import mot
    from detbench.evaluate.clear_matching import clear_switches
    from detbench.evaluate.dataset import load_matched
    from detbench.evaluate.loading import pair_sequences
    from detbench.evaluate.matching import AGNOSTIC

    counts = collections.Counter()
    for files in pair_sequences(gt_dir, tracks_dir):
        info = mot.read_seqinfo(files.seqinfo_path) if files.seqinfo_path else None
        width, height = (info.width, info.height) if info else (1600, 900)
        seq = load_matched(files, per_class=False)
        gt = seq.gt
        for sw in clear_switches(seq, AGNOSTIC):
            rows = gt[(gt[:, mot.ID] == sw.gt_id) & (gt[:, mot.FRAME] <= sw.frame)]
            rows = rows[np.argsort(rows[:, mot.FRAME])][-2:]
            boxes = [np.array([r[2], r[3], r[2] + r[4], r[3] + r[5]]) for r in rows]
            kinds = {box_kind(b, width, height) for b in boxes}
            kind = next(k for k in reversed(KINDS) if k in kinds)
            gap = int(rows[-1, mot.FRAME] - rows[0, mot.FRAME]) if len(rows) == 2 else 1
            counts[kind, gap_label(gap)] += 1
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("gt", type=Path, help="MOTChallenge-layout folder of sequences with gt/gt.txt")
    ap.add_argument("tracks", type=Path, nargs="+", help="folders of <seq>.txt tracks")
    args = ap.parse_args(argv)
    print(f"{'tracks':28s} {'IDSW':>5s} | " + " | ".join(f"{k:>10s}" for k in KINDS) + " | "
          + " | ".join(f"gap {g:>3s}" for g in GAPS))
    for folder in args.tracks:
        c = switch_kinds(args.gt, folder)
        by_kind = [sum(v for (k, _), v in c.items() if k == kind) for kind in KINDS]
        by_gap = [sum(v for (_, g), v in c.items() if g == gap) for gap in GAPS]
        print(f"{folder.name:28s} {sum(c.values()):5d} | " + " | ".join(f"{n:10d}" for n in by_kind) + " | "
              + " | ".join(f"{n:7d}" for n in by_gap))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
