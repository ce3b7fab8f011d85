"""``detbench sensitivity`` end to end on a tiny crafted split (IoU tracker), caching and bad input."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from detbench.cli import main
from detbench.data.mot import SeqInfo, write_mot, write_mot_dets, write_seqinfo

FRAMES = 8


def _split(root: Path) -> Path:
    """Two scenes, one camera each; three slow objects per sequence (IoU ~0.9 between frames)."""
    for scene in ("sA", "sB"):
        name = f"{scene}_CAM_FRONT"
        rows = [[f, k + 1, 100 + 400 * k + 5 * f, 300, 120, 90, 1, 1 + k, 1]
                for f in range(1, FRAMES + 1) for k in range(3)]
        write_mot(root / name / "gt" / "gt.txt", np.array(rows, float))
        write_seqinfo(root / name / "seqinfo.ini", SeqInfo(name, 2.0, 1600, 900, FRAMES))
    return root


def _run(args, capsys):
    code = main(["sensitivity", *args])
    return code, capsys.readouterr()


def test_end_to_end_cache_and_detector(tmp_path, capsys):
    gt = _split(tmp_path / "seqs")
    dets = tmp_path / "dets"  # a "detector" that outputs the GT itself, scored 0.9
    for seq in ("sA_CAM_FRONT", "sB_CAM_FRONT"):
        g = np.loadtxt(gt / seq / "gt" / "gt.txt", delimiter=",")
        per = [np.column_stack([g[g[:, 0] == f][:, 2:4], g[g[:, 0] == f][:, 2:4] + g[g[:, 0] == f][:, 4:6],
                                np.full((g[:, 0] == f).sum(), 0.9), g[g[:, 0] == f][:, 7] - 1])
               for f in range(1, FRAMES + 1)]
        write_mot_dets(dets / f"{seq}.txt", per)
    args = ["--gt", str(gt), "--trackers", "iou", "--axes", "recall,fp", "--values", "recall=1,0.5",
            "--values", "fp=0,2", "--seeds", "2", "--jobs", "1", "--name", "t", "--results-dir", str(tmp_path / "res"),
            "--detector", str(dets), "--resamples", "100"]
    code, out = _run(args, capsys)
    assert code == 0, out.err
    res_dir = tmp_path / "res" / "sensitivity" / "t"
    for f in ("sensitivity.md", "sensitivity.csv", "sensitivity.json", "IDSW.png", "HOTA.png", "AssA.png",
              "DetA.png", "MOTA.png"):
        assert (res_dir / f).is_file(), f
    res = json.loads((res_dir / "sensitivity.json").read_text())
    assert [p["key"] for p in res["points"]] == ["perfect", "base", "recall=1", "recall=0.5", "fp=0", "fp=2"]
    assert res["scenes"] == ["sA", "sB"] and res["n_gt_boxes"] == 2 * 3 * FRAMES
    # perfect detections of slow, separate objects: the IoU tracker (no init delay) is perfect
    z = res["zero_point"][0]
    assert z["measured"]["HOTA"] == pytest.approx(1.0) and z["measured"]["IDSW"] == 0 and z["measured"]["FN"] == 0
    assert z["predicted"]["init_fn_2hz"] == 0 and z["predicted"]["gap_idsw"] == 0
    by = {r["point"]: r for r in res["results"]}
    half = [p for p in res["points"] if p["key"] == "recall=0.5"][0]
    assert half["measured"]["recall"] == pytest.approx(0.5, abs=0.03)
    assert by["recall=0.5"]["metrics"]["DetA"]["value"] < by["recall=1"]["metrics"]["DetA"]["value"]
    d = res["detectors"][0]["measured"]
    assert d["recall"] == 1.0 and d["fp"] == 0.0 and d["jitter"] == pytest.approx(0, abs=1e-6) and d["confusion"] == 0
    assert d["score"] is None  # no false boxes: separation undefined
    assert res["units"]["cached"] == 0 and res["units"]["total"] == 1 + 5 * 2
    md = (res_dir / "sensitivity.md").read_text()
    assert "## Zero-degradation point" in md and "![HOTA](HOTA.png)" in md

    code, out = _run(args, capsys)  # the same inputs again: everything from the cache
    assert code == 0
    again = json.loads((res_dir / "sensitivity.json").read_text())
    assert again["units"]["cached"] == again["units"]["total"]
    assert again["results"] == res["results"]


@pytest.mark.parametrize("args, message", [
    (["--gt", "/nonexistent/seqs"], "ground-truth folder not found"),
    (["--values", "recall=1.5"], "recall=1.5 is outside [0, 1]"),
    (["--grid", "recall"], "name exactly two axes"),
    (["--axes", "recall,speed"], "unknown axis speed"),
    (["--trackers", "iou,sort9"], "unknown tracker sort9"),
    (["--detector", "epoch3"], "needs --data"),
    (["--base", "score=0.2"], "score=0.2 is outside [0.5, 1]"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    gt = _split(tmp_path / "seqs")
    full = ["--gt", str(gt), "--trackers", "iou", "--results-dir", str(tmp_path / "res"), *args]
    if args[0] == "--gt":
        full = [*args, "--trackers", "iou", "--results-dir", str(tmp_path / "res")]
    code, out = _run(full, capsys)
    assert code == 2
    lines = [line for line in out.err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], out.err
    assert not (tmp_path / "res").exists()  # nothing half-written


def test_two_dimensional_grid(tmp_path, capsys):
    gt = _split(tmp_path / "seqs")
    code, out = _run(["--gt", str(gt), "--trackers", "iou", "--grid", "recall,jitter", "--values", "recall=1,0.6",
                      "--values", "jitter=0,0.1", "--seeds", "1", "--jobs", "1", "--name", "g",
                      "--results-dir", str(tmp_path / "res"), "--resamples", "50"], capsys)
    assert code == 0, out.err
    res = json.loads((tmp_path / "res" / "sensitivity" / "g" / "sensitivity.json").read_text())
    assert res["grid2d"] == ["recall", "jitter"]
    keys = [p["key"] for p in res["points"]]
    assert keys == ["perfect", "base", "recall=1,jitter=0", "recall=1,jitter=0.1", "recall=0.6,jitter=0",
                    "recall=0.6,jitter=0.1"]
    by = {r["point"]: r["metrics"]["DetA"]["value"] for r in res["results"]}
    assert by["recall=0.6,jitter=0"] < by["recall=1,jitter=0"]
    assert (tmp_path / "res" / "sensitivity" / "g" / "HOTA.png").is_file()


def test_cleanup_adds_a_series_per_tracker(tmp_path, capsys):
    gt = _split(tmp_path / "seqs")
    args = ["--gt", str(gt), "--trackers", "iou", "--axes", "fp", "--values", "fp=0,4", "--seeds", "1",
            "--jobs", "1", "--name", "c", "--results-dir", str(tmp_path / "res"), "--resamples", "50",
            "--cleanup", "nms_iou=0.3"]
    code, out = _run(args, capsys)
    assert code == 0, out.err
    res_dir = tmp_path / "res" / "sensitivity" / "c"
    res = json.loads((res_dir / "sensitivity.json").read_text())
    assert res["trackers"] == ["iou", "iou+cleanup"] and res["cleanup"] == {"nms_iou": "0.3"}
    assert res["tracker_options"]["iou+cleanup"] == {"nms_iou": "0.3"} and res["tracker_options"]["iou"] == {}
    by = {(r["point"], r["tracker"]): r["metrics"] for r in res["results"]}
    assert {t for _, t in by} == {"iou", "iou+cleanup"} and all(by.values())
    # no false box at fp=0 and separate objects: the clean-up changes nothing there
    assert by[("fp=0", "iou")]["HOTA"]["value"] == by[("fp=0", "iou+cleanup")]["HOTA"]["value"]
    assert "iou+cleanup" in (res_dir / "sensitivity.md").read_text()
    assert res["units"]["total"] == 2 * (1 + 3)
    code, out = _run([*args[:-1], "nms_io=0.3"], capsys)
    assert code == 2 and "unknown clean-up option(s) nms_io" in out.err
