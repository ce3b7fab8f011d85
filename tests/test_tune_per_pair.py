"""Tunings belong to one (tracker, detector checkpoint, dataset, tune split): `compare --tuned`
runs each pair with its own, stops naming the missing `detbench tune` command, `--tune` runs it,
`--no-tuned` keeps the defaults, and comparison.json/md say which options each pair ran with."""
from __future__ import annotations

import json
import re
import shlex
import shutil

import numpy as np
import pytest

from detbench.cli import main
from detbench.data import mot

VAL = ("scene-0001_CAM_FRONT", "scene-0002_CAM_BACK")
TUNE = ("scene-0008_CAM_FRONT", "scene-0009_CAM_BACK")
SMALL_GRID = {"min_score": [0.0, 0.3], "iou_threshold": [0.3], "max_age_s": [1.0]}


def _gt(sdir, seq, shift):
    rows = [[f, i + 1, 10 + 5 * f + 60 * i, 20 + shift, 30, 30, 1, i + 1, 1] for f in range(1, 5) for i in range(2)]
    mot.write_mot(sdir / "gt" / "gt.txt", np.array(rows, dtype=float))
    mot.write_seqinfo(sdir / "seqinfo.ini", mot.SeqInfo(seq, 2.0, 160, 90, 4))


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A prepared dataset with `val` and `tune` splits (4 keyframes each) and run r1 with two
    seeded random-weight nano checkpoints epoch_1, epoch_2; the IoU tracker's grid made small."""
    from test_detect import make_dataset, nano_model, save_detector

    from detbench.core import paths

    data = make_dataset(tmp_path, seqs=VAL, frames=4)
    meta = json.loads((data / "meta.json").read_text())
    for src, dst in zip(VAL, TUNE):   # the tune split reuses the val images under other names
        shutil.copytree(data / "sequences" / "val" / src, data / "sequences" / "tune" / dst)
    meta["sequences"]["tune"] = list(TUNE)
    (data / "meta.json").write_text(json.dumps(meta))
    for split, seqs in (("val", VAL), ("tune", TUNE)):
        for k, seq in enumerate(seqs):
            (data / "sequences" / split / seq / "gt").mkdir(exist_ok=True)
            _gt(data / "sequences" / split / seq, seq, k)
    run_dir = paths.train_dir("r1")
    run_dir.mkdir(parents=True)
    for epoch in (1, 2):
        save_detector(run_dir / f"epoch_{epoch}.pth", nano_model(seed=epoch), epoch)
    from trackers.cleanup import CleanupParams
    from trackers.iou import IouParams

    monkeypatch.setattr(IouParams, "GRID", dict(SMALL_GRID))   # the grid sits with the tracker's Params
    monkeypatch.setattr(CleanupParams, "GRID", {})              # and the clean-up's is added to it
    return data, tmp_path / "results"


def compare_argv(data, results, *extra, detectors="epoch1,epoch2", name="t"):
    return ["compare", "--detectors", detectors, "--trackers", "iou", "--run", "r1", "--data", str(data),
            "--name", name, "--results-dir", str(results), "--resamples", "20", *extra]


def tune_argv(data, detector):
    return ["tune", "--tracker", "iou", "--detector", detector, "--run", "r1", "--data", str(data),
            "--split", "tune", "--device", "cpu"]


def stored_tunings():
    from detbench.tuning.tunings import tune_root

    return sorted(tune_root("iou").glob("*.json"))


def test_each_pair_runs_with_the_setting_tuned_for_it(world):
    from detbench.core import paths

    data, results = world
    assert main(tune_argv(data, "epoch1")) == 0 and main(tune_argv(data, "epoch2")) == 0
    files = stored_tunings()
    assert [f.name.split("__")[0] for f in files] == ["r1-epoch1", "r1-epoch2"]   # readable names
    stored = {f.name.split("__")[0]: json.loads(f.read_text()) for f in files}
    assert stored["r1-epoch1"]["key"] != stored["r1-epoch2"]["key"]
    sha = {k: v["inputs"]["detections"]["checkpoint_sha256"] for k, v in stored.items()}
    assert sha["r1-epoch1"] != sha["r1-epoch2"]
    # give epoch1's tuning a setting no grid point has: only its own pair may run with it
    best1 = dict(stored["r1-epoch1"]["best"]["options"], min_score=0.05)
    stored["r1-epoch1"]["best"]["options"] = best1
    files[0].write_text(json.dumps(stored["r1-epoch1"]))

    assert main(compare_argv(data, results, "--tuned")) == 0
    saved = json.loads((results / "t" / "comparison.json").read_text())
    pairs = {p["detector"]: p for p in saved["pairs"]}
    assert pairs["epoch1"]["options"] == best1
    assert pairs["epoch2"]["options"] == stored["r1-epoch2"]["best"]["options"]
    assert pairs["epoch1"]["tuning"]["file"] == str(files[0]) and pairs["epoch2"]["tuning"]["file"] == str(files[1])
    own = ("iou_threshold", "min_score", "max_age_s")
    assert {k: pairs["epoch1"]["params"][k] for k in own} == {"iou_threshold": 0.3, "min_score": 0.05,
                                                               "max_age_s": 1.0}   # the tuned grid
    assert pairs["epoch1"]["params"]["nms_iou"] == best1.get("nms_iou", 1.0)   # the clean-up, recorded
    assert saved["tuning"] == {"mode": "tuned", "split": "tune"}
    # the tracks really ran with it, and the markdown says so per pair
    tracks = paths.runs_root() / "compare" / "t" / "tracks"
    track_meta = json.loads((tracks / "epoch1" / "iou" / "meta.json").read_text())
    assert track_meta["params"]["min_score"] == 0.05
    md = (results / "t" / "comparison.md").read_text()
    assert "## Options per pair" in md
    assert "| epoch1 | iou | tuned (HOTA" in md and "min_score=0.05" in md


def test_a_missing_tuning_stops_with_exit_2_naming_the_exact_command(world, capsys):
    data, results = world
    assert main(tune_argv(data, "epoch2")) == 0
    capsys.readouterr()
    assert main(compare_argv(data, results)) == 2        # --tuned is the default
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "epoch1 x iou" in err and "epoch2 x iou" not in err
    command = err.split("`")[1]
    assert command == shlex.join(["detbench", *tune_argv(data, "epoch1")])
    assert not (results / "t").exists()                     # nothing half-written
    assert main(shlex.split(command)[1:]) == 0              # the named command is the missing one
    assert main(compare_argv(data, results)) == 0


def test_compare_refuses_a_tune_split_that_shares_a_scene_with_the_reported_one(world, capsys):
    """Disjoint by scenes, not by split names: a tune sequence of a val scene (another camera) stops
    compare --tuned with exit 2 and one line naming the scene, before any work."""
    data, results = world
    shutil.copytree(data / "sequences" / "val" / VAL[0], data / "sequences" / "tune" / "scene-0001_CAM_BACK_LEFT")
    capsys.readouterr()
    assert main(compare_argv(data, results)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--tune-split 'tune' and the reporting split 'val' share scene 'scene-0001'" in err
    assert not (results / "t").exists()
    assert main(compare_argv(data, results, "--tune-split", "val")) == 2    # the reporting split itself
    assert "--tune-split 'val' is the reporting split" in capsys.readouterr().err


def test_compare_tune_runs_only_the_missing_tunings(world, capsys):
    data, results = world
    assert main(tune_argv(data, "epoch1")) == 0
    before = stored_tunings()[0].stat().st_mtime_ns
    capsys.readouterr()
    assert main(compare_argv(data, results, "--tune")) == 0
    assert re.search(r"^reused from earlier runs: 1 tuning(,|$)", capsys.readouterr().out, re.M)
    files = stored_tunings()
    assert [f.name.split("__")[0] for f in files] == ["r1-epoch1", "r1-epoch2"]
    assert files[0].stat().st_mtime_ns == before            # the existing one was used, not redone
    saved = json.loads((results / "t" / "comparison.json").read_text())
    assert [p["tuning"]["file"] for p in saved["pairs"]] == [str(f) for f in files]
    assert main(compare_argv(data, results, "--tune", "--no-tuned")) == 2


def test_no_tuned_runs_the_defaults_and_says_so(world):
    data, results = world
    assert main(compare_argv(data, results, "--no-tuned")) == 0
    saved = json.loads((results / "t" / "comparison.json").read_text())
    assert all(p["options"] == {} and p["tuning"] == {"mode": "untuned"} for p in saved["pairs"])
    assert saved["pairs"][0]["params"] == {"iou_threshold": 0.3, "min_score": 0.3, "max_age_s": 2.0,
                                           "cost": "iou", "motion": "none", "class_gate": True,   # today's
                                           "nms_iou": 1.0, "nms_fuse": "max", "nms_merge": "top",
                                           "min_box_px": 0.0, "recal_band": 0.0, "box_buffer": 0.0}  # clean-up off
    assert "untuned defaults" in (results / "t" / "comparison.md").read_text()
    assert not stored_tunings()


def test_a_fixed_option_keeps_tunings_apart_and_the_grid_cannot_be_fixed(world, capsys):
    from detbench.core.errors import InputError
    from detbench.detect.resolved import resolve
    from detbench.tuning.tune import tune

    data, _ = world
    epoch1 = resolve("epoch1", data, "tune", run="r1")
    with pytest.raises(InputError, match="searched by the tuning grid"):
        tune("iou", epoch1, base_options={"min_score": "0.2"})
    GRID = {"min_score": [0.0], "iou_threshold": [0.3]}
    a = tune("iou", epoch1, grid=GRID)
    b = tune("iou", epoch1, grid=GRID, base_options={"max_age_s": "3"})  # not the default 2.0 s
    assert a != b and json.loads(a.read_text())["key"] != json.loads(b.read_text())["key"]
