"""The real nuScenes fixture (scene-0103, six cameras, 40 keyframes) parses through
detbench/data/mot.py, and its counts match an independent plain-text count and the README."""
from __future__ import annotations

import configparser
import json
from collections import Counter

import numpy as np

from detbench.core.classes import CLASSES
from detbench.data import mot

CAMS = ("CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT", "CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT")
# verified with `wc -l` and `cut -d, -f8 | sort | uniq -c` on the fixture; README: 2,369 boxes in 6 sequences
PINNED_ROWS = {"CAM_BACK": 620, "CAM_BACK_LEFT": 240, "CAM_BACK_RIGHT": 208, "CAM_FRONT": 732,
               "CAM_FRONT_LEFT": 274, "CAM_FRONT_RIGHT": 295}
PINNED_CLASSES = {"car": 1211, "truck": 45, "bus": 0, "trailer": 0, "pedestrian": 1046, "motorcycle": 31,
                  "bicycle": 36}


def _plain_count(path):
    """Rows, boxes per class id, distinct (frame) values and ids, by splitting text only."""
    rows = [line.split(",") for line in path.read_text().splitlines() if line.strip()]
    return len(rows), Counter(int(r[7]) for r in rows), {int(r[0]) for r in rows}, {int(r[1]) for r in rows}


def test_real_fixture_parses_and_counts(real_fixture):
    seq_root = real_fixture / "sequences"
    names = mot.list_sequences(seq_root)
    assert names == [f"scene-0103_{c}" for c in CAMS]

    total_rows, per_class = 0, Counter()
    for cam, name in zip(CAMS, names):
        d = seq_root / name
        table = mot.read_mot(d / "gt" / "gt.txt", kind="gt")
        n, classes, frames, ids = _plain_count(d / "gt" / "gt.txt")
        assert table.shape == (n, 9) and n == PINNED_ROWS[cam]
        assert Counter(table[:, mot.CLASS].astype(int).tolist()) == classes
        assert set(table[:, mot.ID].astype(int).tolist()) == ids

        info = mot.read_seqinfo(d / "seqinfo.ini")
        ini = configparser.ConfigParser()
        ini.read(d / "seqinfo.ini")
        assert (info.frame_rate, info.width, info.height) == (2, 1600, 900)
        assert info.length == int(ini["Sequence"]["seqLength"]) == 40
        assert max(frames) <= info.length and min(frames) >= 1

        frames_json = mot.read_frames_json(d / "frames.json")
        assert len(frames_json) == info.length == len(json.loads((d / "frames.json").read_text()))
        assert [f["frame"] for f in frames_json] == list(range(1, 41))
        stamps = np.array([f["timestamp"] for f in frames_json], dtype=np.int64)
        gaps = np.diff(stamps) / 1e6
        # keyframes at 2 Hz: 0.4-0.6 s apart
        assert gaps.min() > 0.35 and gaps.max() < 0.65 and abs(gaps.mean() - 0.5) < 0.02
        assert all(f["image"].startswith(f"samples/{cam}/") for f in frames_json)
        # the first two keyframes' images ship with the fixture
        assert all((real_fixture / f["image"]).is_file() for f in frames_json[:2])

        boxes = mot.mot_to_boxes(table)
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= 1600 + 1e-6).all()
        assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= 900 + 1e-6).all()

        total_rows += n
        per_class += classes

    assert total_rows == 2369 == sum(PINNED_ROWS.values())
    assert {CLASSES[c - 1]: per_class.get(c, 0) for c in range(1, 8)} == PINNED_CLASSES
    assert sum(PINNED_CLASSES.values()) == 2369
