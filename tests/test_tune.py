"""`detbench tune` tunes on the tuning split and never reads the reporting split."""
from __future__ import annotations

import builtins
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from detbench.cli import main
from detbench.core.errors import InputError
from detbench.data import mot
from detbench.data.noisy import noisy_detections
from detbench.detect.resolved import ExternalDetections
from detbench.tuning.tune import tune

SEQS = ("scene-0103_CAM_FRONT", "scene-0103_CAM_BACK")


@pytest.fixture
def data_dir(tmp_path, real_fixture):
    """A prepared-dataset layout: the fixture's two sequences as `tune`, two others as `val`, renamed
    to another scene (scene-0916): a tune and a reporting split never share a scene."""
    data = tmp_path / "data"
    dets = tmp_path / "dets"
    dets.mkdir()
    for split, names in (("tune", SEQS), ("val", ("scene-0103_CAM_FRONT_LEFT", "scene-0103_CAM_BACK_LEFT"))):
        for name in names:
            src = real_fixture / "sequences" / name
            dst = data / "sequences" / split / (name if split == "tune" else name.replace("scene-0103", "scene-0916"))
            (dst / "gt").mkdir(parents=True)
            shutil.copy(src / "gt" / "gt.txt", dst / "gt" / "gt.txt")
            shutil.copy(src / "seqinfo.ini", dst / "seqinfo.ini")
            if split == "tune":
                gt = mot.read_mot(src / "gt" / "gt.txt", kind="gt")
                mot.write_mot_dets(dets / f"{name}.txt", noisy_detections(gt, 40, 1600, 900, seed=1))
    return data, dets


def test_tune_never_opens_the_reporting_split(data_dir, monkeypatch):
    data, dets = data_dir
    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        opened.append(os.fspath(file) if isinstance(file, (str, os.PathLike)) else str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    grid = {"min_score": [0.2, 0.5], "iou_threshold": [0.3]}
    out = tune("iou", ExternalDetections(dets, data, "tune"), "val", grid=grid)
    monkeypatch.undo()
    assert any("/sequences/tune/" in p for p in opened)          # the spy sees the files tune reads
    assert not any("/sequences/val" in p for p in opened)
    result = json.loads(Path(out).read_text())
    assert len(result["rows"]) == 2 and result["split"] == "tune"
    best = max(result["rows"], key=lambda r: (round(r["HOTA"], 6), -r["IDSW"]))
    assert result["best"] == best


def test_tune_refuses_the_reporting_split(data_dir):
    data, dets = data_dir
    with pytest.raises(InputError, match="reporting split"):
        tune("iou", ExternalDetections(dets, data, "val"), "val")
    assert main(["tune", "--tracker", "iou", "--detector", "epoch1", "--data", str(data), "--split", "val"]) == 2


def test_tune_refuses_a_reporting_split_that_shares_a_scene(data_dir):
    """Disjoint by scenes, not by split names: a `val` camera of a scene that `tune` holds is enough."""
    data, dets = data_dir
    shutil.copytree(data / "sequences" / "tune" / SEQS[0], data / "sequences" / "val" / "scene-0103_CAM_BACK_RIGHT")
    with pytest.raises(InputError, match=r"--split 'tune' and the reporting split 'val' share scene 'scene-0103' "
                                         r"\(1 shared scene\(s\)\)"):
        tune("iou", ExternalDetections(dets, data, "tune"), "val")
    tune("iou", ExternalDetections(dets, data, "tune"), "nosuch",   # no such split: shares nothing
         grid={"min_score": [0.3], "iou_threshold": [0.3]})


def test_tune_unknown_tracker_grid(data_dir):
    data, dets = data_dir
    with pytest.raises(InputError, match="no tuning grid"):
        tune("nosuch", ExternalDetections(dets, data, "tune"))


def test_every_grid_names_real_options_of_its_tracker():
    from dataclasses import fields

    from detbench.tuning.tune import tracker_grid, tunable_trackers
    from trackers import TRACKERS, tracker_class

    assert set(tunable_trackers()) == set(TRACKERS)  # every registered tracker gets the same care
    GRIDS = {name: tracker_grid(name) for name in TRACKERS}   # each from its tracker's Params.GRID
    from trackers.cleanup import CLEANUP_KEYS

    for name, grid in GRIDS.items():
        valid = {f.name for f in fields(tracker_class(name).Params)} | set(CLEANUP_KEYS)
        assert set(grid) <= valid, (name, set(grid) - valid)
        assert len(grid) == 4 and all(len(v) == 3 for v in grid.values())
        assert grid["nms_iou"] == [1.0, 0.7, 0.5]  # the clean-up is searched with every tracker, alike


def test_every_registered_trackers_defaults_lie_on_its_grid():
    """Tuning can always keep the defaults: every grid key's default value (the tracker's own
    Params, the clean-up's CleanupParams) is one of the grid's values, for every registered tracker."""
    from trackers import TRACKERS, tracker_class, tune_grid
    from trackers.cleanup import CleanupParams

    assert CleanupParams.GRID and all(getattr(CleanupParams(), k) in v for k, v in CleanupParams.GRID.items())
    off_grid = {}
    for name in TRACKERS:
        cls = tracker_class(name)
        defaults = {**vars(cls.Params()), **vars(CleanupParams())}
        grid = tune_grid(cls)
        assert grid, name
        off_grid.update({f"{name}.{k}": (defaults[k], v) for k, v in grid.items() if defaults[k] not in v})
    assert not off_grid, off_grid


def test_every_grid_has_the_same_size_and_holds_the_lost_track_buffer():
    from dataclasses import fields

    from detbench.tuning.tune import grid_points, tracker_grid
    from trackers import TRACKERS, tracker_class

    GRIDS = {name: tracker_grid(name) for name in TRACKERS}
    assert {name: len(grid_points(name)) for name in GRIDS} == {name: 81 for name in GRIDS}
    for name, grid in GRIDS.items():
        option = tracker_class(name).Params.BUFFER_OPTION
        field = {f.name: f for f in fields(tracker_class(name).Params)}[option]
        assert option.endswith("_s") and isinstance(field.default, float)   # a lifetime in seconds
        assert grid[option] == [1.0, 2.0, 3.0]
