"""benchmarks/ground_oracle.py: the objects' true positions behind a prepared split's GT boxes,
and the count of reappearances no lost-track buffer of that length can bridge."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from ground_oracle import idsw_hota, oracle_measurements, reappearances, true_positions  # noqa: E402


def test_reappearances_count_gaps_longer_than_the_buffer(tmp_path):
    seq = tmp_path / "s_CAM_FRONT"
    (seq / "gt").mkdir(parents=True)
    rows = [(f, 1) for f in (1, 2, 8)]          # 5 keyframes missed: counted
    rows += [(f, 2) for f in (1, 6, 7)]         # 4 missed: a 4-keyframe buffer bridges it
    rows += [(f, 3) for f in (1, 7, 13)]        # twice 5 missed: counted twice
    rows += [(f, 4) for f in (1, 20)]           # ignored rows (consider 0) in between are gaps too
    text = "".join(f"{f},{i},10,10,20,20,1,1,1\n" for f, i in rows) + "9,4,10,10,20,20,0,1,1\n"
    (seq / "gt" / "gt.txt").write_text(text)
    assert reappearances(tmp_path, 4) == 4
    assert reappearances(tmp_path, 3) == 5
    assert reappearances(tmp_path, 20) == 0


def test_each_box_gets_its_own_objects_position(synth_root, tmp_path, monkeypatch):
    """The position found for a GT box is the footprint of the annotation whose 3D centre
    projects into that box (a cuboid's centre projects inside the hull of its corners): the
    instance numbering is prepare's. Checked on boxes clear of the image's edges."""
    from detbench.core.geometry import EDGE_PX
    from detbench.data.prepare import prepare

    monkeypatch.setenv("DETBENCH_RUNS", str(tmp_path / "runs"))
    out, _ = prepare(synth_root, "v1.0-synth", name="oracle")
    anns = json.loads((synth_root / "v1.0-synth" / "sample_annotation.json").read_text())
    checked = 0
    for split_dir in sorted(p for p in (out / "sequences").iterdir() if p.is_dir()):
        table = true_positions(split_dir, synth_root, "v1.0-synth")
        for frames_json in split_dir.glob("*/frames.json"):
            for f in json.loads(frames_json.read_text()):
                k, pose = np.array(f["intrinsics"]), np.array(f["cam2global"])
                centres = {(round(a["translation"][0], 6), round(a["translation"][1], 6)): np.array(a["translation"])
                           for a in anns if a["sample_token"] == f["sample_token"]}
                for box, xy in table[tuple(round(pose[r, 3], 4) for r in range(3)) + (f["frame"] - 1,)]:
                    if box[0] <= EDGE_PX or box[1] <= EDGE_PX or box[2] >= 1600 - EDGE_PX or box[3] >= 900 - EDGE_PX:
                        continue
                    centre = centres[(round(xy[0], 6), round(xy[1], 6))]
                    cam = np.linalg.inv(pose) @ np.append(centre, 1.0)
                    u, v, w = k @ cam[:3]
                    assert w > 0 and box[0] - 1 <= u / w <= box[2] + 1 and box[1] - 1 <= v / w <= box[3] + 1
                    checked += 1
    assert checked >= 20


def test_the_oracle_run_measures_every_detection(synth_root, tmp_path, monkeypatch):
    """Under :func:`oracle_measurements` every detection finds its GT box (else LookupError) and
    `ground` tracks the split."""
    from bench_perfect import perfect_jobs

    from detbench.data.prepare import prepare

    monkeypatch.setenv("DETBENCH_RUNS", str(tmp_path / "runs"))
    out, _ = prepare(synth_root, "v1.0-synth", name="oracle")
    split_dir = next(p for p in sorted((out / "sequences").iterdir()) if p.is_dir())
    with perfect_jobs(split_dir) as jobs, oracle_measurements(true_positions(split_dir, synth_root, "v1.0-synth"), 0.1):
        idsw, hota = idsw_hota(split_dir, jobs, {})
    assert idsw >= 0 and 0.9 <= hota <= 1.0
