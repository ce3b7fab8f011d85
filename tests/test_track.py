"""``detbench track``: every registered tracker from external files and from a detection cache;
``--jobs 2`` writes the same bytes as ``--jobs 1``; failures are recorded, not hidden."""
from __future__ import annotations

import json
import shutil

import pytest

from detbench.cli import main
from detbench.data.mot import SeqInfo, read_mot, write_mot, write_mot_dets, write_seqinfo
from detbench.data.noisy import noisy_detections
from detbench.evaluate.api import evaluate_folders
from detbench.tracking.run import TrackingFailed, track_cache, track_split
from detbench.tracking.sources import from_external
from trackers import TRACKERS

SEQS = ("scene-0103_CAM_BACK_LEFT", "scene-0103_CAM_FRONT")
FRAMES = 8  # the first 8 keyframes (4 s at 2 Hz) keep the test fast


def options_for(name):
    return {"weights": "random"} if name.startswith("trackssm") else {}  # plumbing only: speed, not quality


@pytest.fixture
def external(real_fixture, tmp_path):
    """A MOTChallenge sequences folder (GT cut to FRAMES frames) + GT-derived noisy detections."""
    seq_root, det_dir = tmp_path / "sequences", tmp_path / "dets"
    for i, seq in enumerate(SEQS):
        src = real_fixture / "sequences" / seq
        gt = read_mot(src / "gt" / "gt.txt", kind="gt")
        gt = gt[gt[:, 0] <= FRAMES]
        frames = json.loads((src / "frames.json").read_text())[:FRAMES]
        (seq_root / seq / "gt").mkdir(parents=True)
        write_mot(seq_root / seq / "gt" / "gt.txt", gt)
        write_seqinfo(seq_root / seq / "seqinfo.ini", SeqInfo(seq, 2.0, 1600, 900, FRAMES))
        (seq_root / seq / "frames.json").write_text(json.dumps(frames))
        dets = noisy_detections(gt, FRAMES, 1600, 900, seed=i, drop=0.1, fp_rate=1.0)
        write_mot_dets(det_dir / f"{seq}.txt", dets)
    return seq_root, det_dir


@pytest.mark.parametrize("tracker", sorted(TRACKERS))
def test_every_tracker_from_external_files(external, tmp_path, tracker):
    seq_root, det_dir = external
    out = tmp_path / "out"
    meta = track_split(from_external(det_dir, seq_root), tracker, out, options_for(tracker))
    assert sorted(meta["sequences"]) == sorted(SEQS)
    assert all(s["status"] == "ok" for s in meta["sequences"].values())
    on_disk = json.loads((out / "meta.json").read_text())
    assert on_disk["inputs_hash"] == meta["inputs_hash"] and on_disk["tracker"] == tracker
    for seq in SEQS:
        rows = read_mot(out / f"{seq}.txt")  # valid MOT: integer frames, unique ids per frame ...
        assert len(rows) == meta["sequences"][seq]["rows"]
        assert rows.size == 0 or (1 <= rows[:, 0].min() and rows[:, 0].max() <= FRAMES)
    result = evaluate_folders(seq_root, out, check=True)  # includes the motmetrics cross-check
    assert result["overall"]["TP"] + result["overall"]["FN"] == sum(
        len(read_mot(seq_root / s / "gt" / "gt.txt")) for s in SEQS)


def test_jobs_do_not_change_results_and_runs_are_reused(external, tmp_path):
    seq_root, det_dir = external
    jobs = from_external(det_dir, seq_root)
    track_split(jobs, "iou", tmp_path / "one", n_jobs=1)
    track_split(jobs, "iou", tmp_path / "two", n_jobs=2)
    for seq in SEQS:
        assert (tmp_path / "one" / f"{seq}.txt").read_bytes() == (tmp_path / "two" / f"{seq}.txt").read_bytes()
    again = track_split(jobs, "iou", tmp_path / "one", n_jobs=1)
    assert again.get("reused") is True
    changed = track_split(jobs, "iou", tmp_path / "one", {"max_age_s": "2.5"})
    assert "reused" not in changed and changed["params"]["max_age_s"] == 2.5


def test_a_failing_sequence_is_recorded_and_the_others_finish(external, tmp_path, capsys, monkeypatch):
    """A tracker that breaks on one sequence (bad input files never get this far: they stop the
    run before any tracking, tests/test_user_errors.py)."""
    from detbench.tracking import run as run_mod

    seq_root, det_dir = external
    real = run_mod.track_sequence

    def breaks_on_first(job, tracker, options=None):
        if job.name == SEQS[0]:
            raise RuntimeError("tracker blew up")
        return real(job, tracker, options)

    monkeypatch.setattr(run_mod, "track_sequence", breaks_on_first)
    out = tmp_path / "out"
    with pytest.raises(TrackingFailed, match=SEQS[0]):
        track_split(from_external(det_dir, seq_root), "iou", out)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["sequences"][SEQS[0]]["status"] == "failed"
    assert "tracker blew up" in meta["sequences"][SEQS[0]]["error"]
    assert meta["sequences"][SEQS[1]]["status"] == "ok" and (out / f"{SEQS[1]}.txt").is_file()
    rc = main(["track", "--tracker", "iou", "--dets", str(det_dir), "--sequences", str(seq_root),
               "--out", str(tmp_path / "cli"), "--jobs", "1"])
    assert rc == 1 and "failed on 1 of 2" in capsys.readouterr().err


def test_cli_from_external_files(external, tmp_path, capsys):
    seq_root, det_dir = external
    rc = main(["track", "--tracker", "iou", "--dets", str(det_dir), "--sequences", str(seq_root),
               "--out", str(tmp_path / "cli"), "--tracker-opt", "min_score=0.4", "--jobs", "1"])
    assert rc == 0 and "wrote 2 sequences" in capsys.readouterr().out
    meta = json.loads((tmp_path / "cli" / "meta.json").read_text())
    assert meta["params"]["min_score"] == 0.4
    rc = main(["track", "--tracker", "iou", "--dets", str(det_dir), "--sequences", str(seq_root),
               "--out", str(tmp_path / "cli"), "--tracker-opt", "nonsense=1"])
    assert rc == 2 and "unknown option" in capsys.readouterr().err


def _fake_cache(tmp_path, seq_root, det_dir):
    """A prepared-dataset skeleton and a detection cache written with the cache module's API."""
    from detbench.data.mot import read_mot_dets
    from detbench.detect.cache import pack_sequence, write_cache

    data = tmp_path / "data"
    shutil.copytree(seq_root, data / "sequences" / "val")
    (data / "meta.json").write_text(json.dumps({"dataroot": str(tmp_path), "sequences": {"val": list(SEQS)}}))
    blobs = {s: pack_sequence(read_mot_dets(det_dir / f"{s}.txt", FRAMES), list(range(1, FRAMES + 1)),
                              [0] * FRAMES) for s in SEQS}
    return data, write_cache(tmp_path / "cache", {"detector": "test", "split": "val"}, blobs)


@pytest.mark.parametrize("tracker", sorted(TRACKERS))
def test_every_tracker_from_the_detection_cache(external, tmp_path, tracker):
    seq_root, det_dir = external
    data, cache = _fake_cache(tmp_path, seq_root, det_dir)
    out = track_cache(cache, data, "val", tracker, options_for(tracker), detector="epoch1")
    assert out == tmp_path / "runs" / "tracks" / "epoch1" / tracker
    # the same detections through the cache and through external files give the same tracks
    ext = tmp_path / "ext"
    track_split(from_external(det_dir, seq_root), tracker, ext, options_for(tracker))
    for seq in SEQS:
        assert (out / f"{seq}.txt").read_bytes() == (ext / f"{seq}.txt").read_bytes()


def test_missing_cache_without_a_checkpoint_is_an_input_error(external, tmp_path, capsys):
    seq_root, det_dir = external
    data, _ = _fake_cache(tmp_path, seq_root, det_dir)
    rc = main(["track", "--tracker", "iou", "--detector", "epoch30", "--data", str(data)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1


def test_bad_external_inputs(external, tmp_path, capsys):
    seq_root, det_dir = external
    (det_dir / "stranger.txt").write_text("")
    assert main(["track", "--tracker", "iou", "--dets", str(det_dir), "--sequences", str(seq_root)]) == 2
    assert "stranger" in capsys.readouterr().err
    (det_dir / "stranger.txt").unlink()
    (det_dir / f"{SEQS[1]}.txt").unlink()
    assert main(["track", "--tracker", "iou", "--dets", str(det_dir), "--sequences", str(seq_root)]) == 2
    assert SEQS[1] in capsys.readouterr().err
    assert main(["track", "--tracker", "iou", "--dets", str(det_dir)]) == 2
    assert "--sequences" in capsys.readouterr().err
