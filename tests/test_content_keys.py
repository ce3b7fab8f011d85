"""Every cache is keyed by the bytes of the files it depends on, never by a path or "latest":
a file replaced in place (same path, new bytes) is recomputed, and the reuse counts say so."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_detect import save_detector
from test_tune_per_pair import compare_argv, stored_tunings, tune_argv, world  # noqa: F401

from detbench.cli import main
from detbench.compare.options import ComparisonOptions, RunContext
from detbench.compare.pipeline import run_comparison
from detbench.detect.resolved import ExternalDetections, resolve, resolve_detectors
from detbench.evaluate.cached import evaluate_cached
from detbench.tracking.run import track_split
from detbench.tracking.sources import from_cache


def motion_model(path, seed):
    from detbench.motion.weights import save_model
    from trackers.trackssm.model import ModelConfig, build_model

    small = ModelConfig(d_model=32, n_enc_layers=2, n_dec_blocks=3, d_state=4, dt_rank=4, ffn_dim=64)
    return save_model(path, build_model(small, seed=seed), {"frame_rate": 2.0})


@pytest.fixture
def cache_jobs(world):
    from detbench.detect.api import ensure_detections

    data, _ = world
    cache = ensure_detections("epoch1", data, "val", run="r1")
    return data, cache, from_cache(cache, data, "val")


def test_trackssm_weights_replaced_in_place_are_recomputed(cache_jobs, tmp_path):
    _, _, jobs = cache_jobs
    weights = motion_model(tmp_path / "motion" / "m", seed=1)
    opts = {"weights": str(weights), "high_thresh": "0.1", "new_track_thresh": "0.1"}
    first = track_split(jobs, "trackssm", tmp_path / "out", opts)
    assert track_split(jobs, "trackssm", tmp_path / "out", opts).get("reused") is True
    motion_model(weights, seed=2)                                # same path, new bytes
    again = track_split(jobs, "trackssm", tmp_path / "out", opts)
    assert "reused" not in again
    assert again["input_files"]["weights/model.pth"] != first["input_files"]["weights/model.pth"]


def test_a_new_latest_motion_model_is_not_served_the_old_tracks(cache_jobs, tmp_path):
    import os

    from detbench.core import paths

    _, _, jobs = cache_jobs
    old = motion_model(paths.motion_root() / "a", seed=1)
    from detbench.motion.weights import with_default_weights

    opts = {"high_thresh": "0.1"}                                # weights=None: the latest model
    track_split(jobs, "trackssm", tmp_path / "out", with_default_weights("trackssm", opts))
    new = motion_model(paths.motion_root() / "b", seed=2)
    t = (old / "model.pth").stat().st_mtime + 10
    os.utime(new / "model.pth", (t, t))                          # b is the latest
    assert "reused" not in track_split(jobs, "trackssm", tmp_path / "out", with_default_weights("trackssm", opts))


def test_compare_recomputes_tracks_when_weights_change_in_place(world, tmp_path):
    data, results = world
    weights = motion_model(tmp_path / "motion" / "m", seed=1)
    options = ComparisonOptions(name="w", n_resamples=20, use_tuned=False,
                                tracker_options={"trackssm": {"weights": str(weights), "high_thresh": "0.1"}})

    def compare():
        return run_comparison(resolve_detectors(["epoch1", "epoch2"], data, run="r1"), ["trackssm"], options,
                              RunContext(results_root=results))

    compare()
    assert compare()["reused"]["tracks"] == 2
    motion_model(weights, seed=2)
    reused = compare()["reused"]
    assert reused["tracks"] == 0 and reused["detections"] == 2     # tracks recomputed, detections reused
    saved = json.loads((results / "w" / "comparison.json").read_text())
    assert all(p["status"] == "ok" for p in saved["pairs"])
    from detbench.core.fileio import sha256_file

    assert {p["input_files"]["weights/model.pth"] for p in saved["pairs"]} == {sha256_file(weights / "model.pth")}


def test_a_detector_checkpoint_replaced_in_place_is_detected_again(world):
    from test_detect import nano_model

    from detbench.core import paths
    from detbench.detect.api import CACHE_STATS

    data, results = world

    def compare():   # the detector resolved anew by each comparison, as by each command
        return run_comparison(resolve_detectors(["epoch1"], data, run="r1"), ["iou"],
                              ComparisonOptions(name="d", n_resamples=20, use_tuned=False),
                              RunContext(results_root=results))

    compare()
    CACHE_STATS.clear()
    save_detector(paths.train_dir("r1") / "epoch_1.pth", nano_model(seed=7), 1)
    reused = compare()["reused"]
    assert CACHE_STATS["miss"] == 1 and reused["detections"] == 0 and reused["tracks"] == 0


def test_ground_truth_and_seqinfo_replaced_in_place_are_evaluated_again(cache_jobs, tmp_path, monkeypatch):
    from detbench.data import mot
    from detbench.evaluate import cached

    data, _, jobs = cache_jobs
    out = tmp_path / "tracks"
    track_split(jobs, "iou", out, {"min_score": "0"})
    gt_dir = data / "sequences" / "val"
    first = evaluate_cached(gt_dir, out)
    assert not first.reused and evaluate_cached(gt_dir, out) == cached.Evaluated(first.metrics, reused=True)
    gt_file = gt_dir / jobs[0].name / "gt" / "gt.txt"
    gt = mot.read_mot(gt_file, kind="gt")
    mot.write_mot(gt_file, gt[gt[:, 0] <= 2])                   # same path, fewer boxes
    second = evaluate_cached(gt_dir, out)
    assert not second.reused and second.metrics["overall"]["FN"] != first.metrics["overall"]["FN"]
    ini = gt_dir / jobs[0].name / "seqinfo.ini"
    ini.write_text(ini.read_text().replace("imWidth=160", "imWidth=161"))
    assert "imWidth=161" in ini.read_text()
    assert not evaluate_cached(gt_dir, out).reused
    monkeypatch.setattr(cached, "evaluation_code_hash", lambda: "changed evaluation code")
    assert not evaluate_cached(gt_dir, out).reused


def test_a_tuning_is_never_served_for_changed_inputs(world, tmp_path, capsys):
    """Tune-split ground truth, the detector checkpoint and TrackSSM weights, each replaced in
    place: the stored tuning no longer matches, so `compare --tuned` names the tune command."""
    from test_detect import nano_model

    from detbench.core import paths

    data, results = world
    assert main(tune_argv(data, "epoch1")) == 0
    assert main(compare_argv(data, results, detectors="epoch1")) == 0
    gt_file = data / "sequences" / "tune" / "scene-0008_CAM_FRONT" / "gt" / "gt.txt"
    gt_file.write_text(gt_file.read_text().splitlines()[0] + "\n")
    capsys.readouterr()
    assert main(compare_argv(data, results, detectors="epoch1")) == 2
    assert "detbench tune --tracker iou --detector epoch1" in capsys.readouterr().err
    assert main(tune_argv(data, "epoch1")) == 0 and main(compare_argv(data, results, detectors="epoch1")) == 0

    save_detector(paths.train_dir("r1") / "epoch_1.pth", nano_model(seed=5), 1)
    assert main(compare_argv(data, results, detectors="epoch1")) == 2

    from detbench.tuning.tune import tune, tune_target

    weights = motion_model(tmp_path / "motion" / "m", seed=1)
    fixed = {"weights": str(weights)}
    grid = {"high_thresh": [0.1], "new_track_thresh": [0.1], "track_buffer_s": [1.0]}
    epoch2 = resolve("epoch2", data, "tune", run="r1")
    tune("trackssm", epoch2, grid=grid, base_options=fixed)
    assert tune_target("trackssm", epoch2, grid=grid, base_options=fixed)["existing"]
    same_bytes = {"weights": str(weights / "model.pth")}           # another path to the same files
    assert tune_target("trackssm", epoch2, grid=grid, base_options=same_bytes)["existing"]
    motion_model(weights, seed=2)
    assert tune_target("trackssm", epoch2, grid=grid, base_options=fixed)["existing"] is None


def test_external_detection_files_key_the_tuning(world, tmp_path):
    from detbench.tuning.tune import tune_target

    data, _ = world
    dets = tmp_path / "dets"
    dets.mkdir()
    for seq in ("scene-0008_CAM_FRONT", "scene-0009_CAM_BACK"):
        (dets / f"{seq}.txt").write_text("1,-1,10,10,20,20,0.9,1\n")
    key = tune_target("iou", ExternalDetections(dets, data, "tune"))["key"]
    (dets / "scene-0008_CAM_FRONT.txt").write_text("1,-1,10,10,20,20,0.8,1\n")
    assert tune_target("iou", ExternalDetections(dets, data, "tune"))["key"] != key
    np.testing.assert_equal(len(stored_tunings()), 0)


def test_a_stored_evaluation_serves_a_checked_request_only_if_it_was_checked(cache_jobs, tmp_path):
    """The cross-check changes no number, so it is not in the key; an unchecked result is not
    served to a caller that asks for the check (it is opt-in), a checked one serves both."""
    data, _, jobs = cache_jobs
    out = tmp_path / "tracks"
    track_split(jobs, "iou", out, {"min_score": "0"})
    gt_dir = data / "sequences" / "val"
    unchecked = evaluate_cached(gt_dir, out).metrics
    assert [(e.metrics == unchecked, e.reused) for e in (evaluate_cached(gt_dir, out, check=True),
                                                          evaluate_cached(gt_dir, out),
                                                          evaluate_cached(gt_dir, out, check=True))] == [
        (True, False), (True, True), (True, True)]
