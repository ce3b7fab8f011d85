"""The library functions behind eval-det, ls, show-tracks, train-motion and track: they return
what the commands print, report through callbacks, and print nothing themselves."""
from __future__ import annotations

import json

import pytest
from test_track import external  # noqa: F401 - fixture
from test_trackssm_data import _row, _write_seq

from detbench.core.errors import InputError


def test_runs_listing_is_data_without_dot_folders(tmp_path, capsys):
    from detbench.core import paths
    from detbench.runs import CacheEntry, TracksEntry, listing

    root = paths.runs_root()
    for d in ("data/ds", "data/.tmp-x", "train/r1", "train/r0", "motion/m", "tracks/e1/iou", "tracks/e1/.y",
              "compare/c/tracks/e2/botsort", "detections/k1", "detections/k2", "detections/k3"):
        (root / d).mkdir(parents=True)
    (root / "train/r1/epoch_2.pth").write_bytes(b"")
    (root / "train/r1/epoch_1.pth").write_bytes(b"")
    (root / "detections/k1/meta.json").write_text(json.dumps({"detector": "epoch1", "options": {"split": "val"}}))
    (root / "detections/k2/meta.json").write_text("{")
    items = {i.kind: i for i in listing()}
    assert list(items) == ["datasets", "runs", "caches", "motion", "tracks", "trackers"]
    assert items["datasets"].entries == ["ds"] and items["datasets"].root == root / "data"
    assert items["runs"].entries == [("r0", []), ("r1", [1, 2])]
    assert items["caches"].entries == [CacheEntry("k1", {"detector": "epoch1", "options": {"split": "val"}}),
                                       CacheEntry("k2", None, True), CacheEntry("k3", None)]
    assert items["tracks"].entries == [TracksEntry("e1", "iou"), TracksEntry("e2", "botsort", "c")]
    assert "iou" in items["trackers"].entries and items["trackers"].root is None
    assert [i.kind for i in listing("checkpoints")] == ["runs"]
    with pytest.raises(InputError, match="unknown kind"):
        listing("everything")
    assert capsys.readouterr() == ("", "")


def test_eval_det_returns_what_it_wrote(tmp_path, capsys):
    from test_detect import make_dataset
    from test_detect_eval import gt_cache

    from detbench.detect.eval_det import eval_det

    data = make_dataset(tmp_path, seqs=("scene-0001_CAM_FRONT", "scene-0002_CAM_BACK"), frames=3)
    good, poor = gt_cache(tmp_path, data, "good", 1.0), gt_cache(tmp_path, data, "poor", 6.0, drop_every=2)
    with pytest.raises(InputError, match="give --detector"):
        eval_det(data)
    r = eval_det(data, caches=[good, poor], out=tmp_path / "out", json_path=tmp_path / "ap.json")
    assert list(r.results) == ["good", "poor"] and r.results["good"]["AP"] > r.results["poor"]["AP"]
    assert r.files == (tmp_path / "out" / "eval.json", tmp_path / "out" / "eval.md")
    assert json.loads((tmp_path / "ap.json").read_text())["detectors"]["good"]["AP"] == r.doc["detectors"]["good"]["AP"]
    r2 = eval_det(str(data), caches=[good, good])   # one label twice: each suffixed with its folder
    assert list(r2.results) == ["good@good"] and r2.out_dir.name == "good@good_good@good_val"
    assert capsys.readouterr() == ("", "")


def test_select_source_and_track(external, tmp_path, capsys):  # noqa: F811
    from detbench.core import paths
    from detbench.tracking.sources import select_source
    from detbench.tracking.track import track

    seq_root, det_dir = external
    src = select_source("iou", dets_dir=det_dir, seq_dir=seq_root)
    assert src.out_dir == paths.tracks_dir("dets", "iou") and len(src.jobs) == len(list(seq_root.iterdir()))
    assert src.extra_meta == {"dets_dir": str(det_dir), "sequences_dir": str(seq_root)}
    for kwargs, msg in (({"dets_dir": det_dir}, "go together"),
                        ({"dets_dir": det_dir, "seq_dir": seq_root, "detector": "epoch1"}, "not both"),
                        ({}, "give --detector")):
        with pytest.raises(InputError, match=msg):
            select_source("iou", **kwargs)
    calls = []
    r = track("iou", {}, dets_dir=det_dir, seq_dir=seq_root, out_dir=tmp_path / "t",
              progress=lambda done, total: calls.append((done, total)))
    n = len(src.jobs)
    assert calls == [(i, n) for i in range(n + 1)] and r.rows > 0 and r.hint is None and not r.reused
    again = track("iou", {}, dets_dir=det_dir, seq_dir=seq_root, out_dir=tmp_path / "t")
    assert again.reused and again.rows == r.rows
    none = track("iou", {"min_score": 1.0}, dets_dir=det_dir, seq_dir=seq_root, out_dir=tmp_path / "t0")
    assert none.rows == 0 and "under min_score=1" in none.hint
    assert capsys.readouterr() == ("", "")


def test_show_tracks_checks_before_drawing(tmp_path, external):  # noqa: F811
    from detbench.render.tracks import show_tracks

    with pytest.raises(InputError, match="--detector and --tracker"):
        show_tracks(tmp_path, "s", detector="epoch1")
    with pytest.raises(InputError, match="no tracking results for sequence 'nope'"):
        show_tracks(tmp_path, "nope", tracks_dir=tmp_path)


def test_train_motion_callbacks_in_order(tmp_path, capsys):
    from detbench.motion.settings import MotionCallbacks, MotionModel, MotionRecipe
    from detbench.motion.train import train_motion

    data = tmp_path / "data" / "toy"
    for split in ("train", "val"):
        rows = [_row(f, t, 100 + 20 * f * t, 300, 80, 60) for t in (1, 2) for f in range(1, 9)]
        _write_seq(data / "sequences" / split, f"scene-{split}_CAM_FRONT", rows)
    events = []
    r = train_motion(data, MotionRecipe(steps=2), MotionModel(d_model=8, layers=1), name="m",
                     callbacks=MotionCallbacks(
                         on_plan=lambda p: events.append(("plan", p.steps, p.train_windows)),
                         progress=lambda s, n, loss, lr: events.append(("step", s, n)),
                         on_metrics=lambda m: events.append(("metrics", sorted(k for k in m if k == "val")))))
    assert events == [("plan", 2, 14), ("step", 0, 2), ("step", 1, 2), ("step", 2, 2), ("metrics", ["val"])]
    assert r.out_dir == tmp_path / "runs" / "motion" / "m" and (r.out_dir / "model.pth").is_file()
    assert len(r.losses) == 2 and r.metrics["val"]["windows"] == 14
    with pytest.raises(InputError, match="not both"):
        train_motion(data, MotionRecipe(steps=2, epochs=1))
    assert capsys.readouterr() == ("", "")
