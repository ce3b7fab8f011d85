"""benchmarks/switch_kinds.py on a hand-made sequence: each switch's box kind and gap."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from switch_kinds import switch_kinds  # noqa: E402

INTERIOR = (700, 400, 60, 40)      # x, y, w, h in a 1600 x 900 image
FULL = (100, 0, 300, 900)          # spans the image's height
EDGE = (0, 500, 80, 60)            # touches the left edge


def _rows(rows):
    return "".join(f"{f},{i},{x},{y},{w},{h},1,1,1\n" for f, i, (x, y, w, h) in rows)


def test_kinds_and_gaps_of_hand_made_switches(tmp_path):
    gt_dir, tracks = tmp_path / "gt", tmp_path / "tracks"
    (gt_dir / "s_CAM_FRONT" / "gt").mkdir(parents=True)
    tracks.mkdir()
    gt = [(f, 1, INTERIOR) for f in (1, 2, 3)] + [(f, 2, FULL) for f in (1, 2, 3)] + [(f, 3, EDGE) for f in (1, 7)]
    res = [(1, 10, INTERIOR), (2, 10, INTERIOR), (3, 11, INTERIOR),    # object 1: 10 -> 11, seen the keyframe before
           (1, 20, FULL), (3, 21, FULL),                               # object 2: unmatched at 2, then 20 -> 21
           (1, 30, EDGE), (7, 31, EDGE)]                               # object 3: unseen for 5 keyframes, 30 -> 31
    (gt_dir / "s_CAM_FRONT" / "gt" / "gt.txt").write_text(_rows(gt))
    (tracks / "s_CAM_FRONT.txt").write_text(_rows(res))
    assert dict(switch_kinds(gt_dir, tracks)) == {("interior", "1"): 1, ("fullheight", "1"): 1, ("edge", "5+"): 1}


def test_a_kept_identity_is_no_switch(tmp_path):
    gt_dir, tracks = tmp_path / "gt", tmp_path / "tracks"
    (gt_dir / "s_CAM_FRONT" / "gt").mkdir(parents=True)
    tracks.mkdir()
    (gt_dir / "s_CAM_FRONT" / "gt" / "gt.txt").write_text(_rows([(f, 1, INTERIOR) for f in (1, 2, 3)]))
    (tracks / "s_CAM_FRONT.txt").write_text(_rows([(f, 7, INTERIOR) for f in (1, 2, 3)]))
    assert not switch_kinds(gt_dir, tracks)
