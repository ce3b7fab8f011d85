"""Adding a tracker (docs/contracts.md, "Adding a tracker"): a dummy registered in the registry
alone runs through track_split (its spec built once, in the workers too), the tracks cache key,
tune's grid (from its Params.GRID) and appears in every `--tracker` / `--trackers` help."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
from click.testing import CliRunner

from trackers.base import BUFFER_GRID_S


@dataclass(frozen=True)
class DummyParams:
    GRID: ClassVar[dict[str, list]] = {"min_score": [0.1, 0.3, 0.5], "shift_px": [0.0, 1.0, 2.0],
                                       "max_age_s": list(BUFFER_GRID_S)}
    BUFFER_OPTION: ClassVar[str] = "max_age_s"

    min_score: float = 0.3
    shift_px: float = 0.0
    max_age_s: float = 2.0


class DummyTracker:
    """Every detection scoring at least min_score is track (its row + 1): the dummy of the test."""

    DESCRIPTION = "a dummy that reports every detection as its own track"
    Params = DummyParams

    def __init__(self, params, frame_rate=2.0):
        self.params = params
        self.frame_rate = frame_rate

    def reset(self):
        pass

    def update(self, dets, frame=None):
        from detbench.core.types import as_tracks

        d = np.asarray(dets, dtype=np.float32).reshape(-1, 6)
        rows = np.flatnonzero(d[:, 4] >= self.params.min_score)
        out = [[*(d[r, :4] + self.params.shift_px), r + 1, d[r, 4], d[r, 5], r] for r in rows]
        return as_tracks(np.asarray(out, dtype=np.float32).reshape(-1, 8))


@pytest.fixture
def dummy(monkeypatch, tmp_path):
    """The dummy registered, and two sequences (4 frames, one object) with GT and detections."""
    import trackers
    from detbench.data import mot

    monkeypatch.setitem(trackers.TRACKERS, "dummy", "test_tracker_registry:DummyTracker")
    seqs, dets = tmp_path / "seqs", tmp_path / "dets"
    dets.mkdir()
    for name in ("s1", "s2"):
        sdir = seqs / name
        (sdir / "gt").mkdir(parents=True)
        mot.write_seqinfo(sdir / "seqinfo.ini", mot.SeqInfo(name, 2.0, 160, 90, 4))
        mot.write_mot(sdir / "gt" / "gt.txt",
                      np.array([[f, 1, 10 + 5 * f, 20, 30, 30, 1, 1, 1] for f in range(1, 5)], dtype=float))
        (dets / f"{name}.txt").write_text("".join(f"{f},-1,{10 + 5 * f},20,30,30,0.9,1\n" for f in range(1, 5)))
    return seqs, dets


def test_a_registered_dummy_tracks_and_keys_its_cache(dummy, tmp_path):
    from detbench.tracking.run import inputs_hash, track_split, tracker_files
    from detbench.tracking.sources import from_external
    from trackers import tracker_spec

    seqs, dets = dummy
    jobs = from_external(dets, seqs)
    spec = tracker_spec("dummy", {"min_score": "0.5"})
    assert spec.cls is DummyTracker and spec.params == DummyParams(min_score=0.5)
    assert spec.source_file() == __file__   # the class's own file is part of the key
    meta = track_split(jobs, "dummy", tmp_path / "out", {"min_score": "0.5"})
    assert meta["tracker"] == "dummy" and meta["sequences"]["s1"] == {**meta["sequences"]["s1"], "status": "ok",
                                                                     "rows": 4}
    assert meta["params"] == {"min_score": 0.5, "shift_px": 0.0, "max_age_s": 2.0, "nms_iou": 1.0,
                              "nms_fuse": "max", "nms_merge": "top", "min_box_px": 0.0, "recal_band": 0.0,
                              "box_buffer": 0.0}
    assert meta["inputs_hash"] == inputs_hash(jobs, spec, tracker_files(spec))
    again = track_split(jobs, spec, tmp_path / "out")       # a spec is accepted as it is
    assert again.get("reused") and again["inputs_hash"] == meta["inputs_hash"]
    other = track_split(jobs, "dummy", tmp_path / "out2", {"min_score": "0.5", "shift_px": "1"})
    assert other["inputs_hash"] != meta["inputs_hash"]
    pooled = track_split(jobs, "dummy", tmp_path / "out3", {"min_score": "0.5"}, n_jobs=2)  # workers get the spec
    assert pooled["inputs_hash"] == meta["inputs_hash"] and pooled["sequences"]["s2"]["status"] == "ok"
    assert (tmp_path / "out3" / "s2.txt").read_text() == (tmp_path / "out" / "s2.txt").read_text()


def test_a_registered_dummy_is_tuned_over_its_params_grid(dummy, tmp_path):
    from detbench.tracking.sources import from_external
    from detbench.tuning.tune import grid_points, tracker_grid, tunable_trackers, tune_jobs

    seqs, dets = dummy
    grid = tracker_grid("dummy")
    assert grid == {**DummyParams.GRID, "nms_iou": [1.0, 0.7, 0.5]} and len(grid_points("dummy")) == 81
    assert "dummy" in tunable_trackers()
    small = {"min_score": [0.5, 0.95], "shift_px": [0.0], "max_age_s": [2.0]}
    result = tune_jobs(from_external(dets, seqs), seqs, "dummy", tmp_path / "work", small)
    assert len(result["rows"]) == 2 and result["best"]["options"]["min_score"] == 0.5   # 0.95: no track at all
    assert result["best"]["HOTA"] > result["rows"][1]["HOTA"]


@pytest.mark.parametrize("command,flag", [("track", "--tracker"), ("tune", "--tracker"),
                                          ("compare", "--trackers"), ("sensitivity", "--trackers")])
def test_a_registered_dummy_is_in_the_tracker_help(dummy, command, flag):
    import re

    from detbench.cli import cli

    out = CliRunner().invoke(cli, [command, "--help"]).output
    text = re.sub(r"\s+", " ", re.sub(r"-\n\s*", "-", out))   # unwrapped
    help_of_flag = text[text.index(flag + " "):]
    assert "dummy (a dummy that reports every detection as its own track)" in help_of_flag
    assert "iou (greedy class-aware IoU matching" in help_of_flag


@pytest.mark.parametrize("variant,base", [("botsort-pose", "botsort"), ("bytetrack-pose", "bytetrack"),
                                          ("ocsort-pose", "ocsort")])
def test_a_pose_variant_is_its_tracker_with_cmc_pose_which_the_user_may_override(variant, base):
    from trackers import tracker_spec

    plain, pose = tracker_spec(base), tracker_spec(variant)
    assert pose.cls is plain.cls and pose.params.cmc == "pose" and pose.options == {"cmc": "pose"}
    assert pose.needs_calibration and not plain.needs_calibration
    assert pose.description == plain.description + "; with cmc=pose"
    overridden = tracker_spec(variant, {"cmc": "none"})
    assert overridden.params.cmc == "none" and not overridden.needs_calibration
