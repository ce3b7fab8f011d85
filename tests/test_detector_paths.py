"""A detector name means one checkpoint of one run, and every command says which: `last` after a
second training run never lands in the first run's tracks folder, and track, detect, tune,
eval-det and compare print the run, checkpoint and detection cache they used."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_detect import save_detector
from test_tune_per_pair import compare_argv, tune_argv, world  # noqa: F401

from detbench.cli import main
from detbench.core import paths
from detbench.runs import detector_ref


def _second_run(mtime: float):
    """Run r2 (other weights than r1's), made the most recent."""
    from test_detect import nano_model

    r2 = paths.train_dir("r2")
    r2.mkdir(parents=True)
    for epoch in (1, 2):
        save_detector(r2 / f"epoch_{epoch}.pth", nano_model(seed=10 + epoch), epoch)
    os.utime(r2, (mtime, mtime))
    return r2


def _used_lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith("detector ")]


def test_track_last_after_a_second_run_gets_its_own_folder_and_says_which(world, capsys):  # noqa: F811
    data, _ = world
    r1 = paths.train_dir("r1")
    os.utime(r1, (1000, 1000))
    argv = ["track", "--tracker", "iou", "--detector", "last", "--data", str(data), "--jobs", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    first = paths.runs_root() / "tracks" / "r1-epoch2" / "iou"
    assert _used_lines(out) == [_used_lines(out)[0]]
    assert f"last = epoch 2 of run r1 ({r1 / 'epoch_2.pth'})" in out
    cache_r1 = json.loads((first / "meta.json").read_text())["cache_dir"]
    assert f"detections {cache_r1} (computed)" in out and f"-> {first}" in out

    _second_run(mtime=2000)                        # a second training run, now the most recent
    assert main(argv) == 0
    out = capsys.readouterr().out
    second = paths.runs_root() / "tracks" / "r2-epoch2" / "iou"
    assert f"last = epoch 2 of run r2 ({paths.train_dir('r2') / 'epoch_2.pth'})" in out and f"-> {second}" in out
    meta1, meta2 = (json.loads((d / "meta.json").read_text()) for d in (first, second))
    assert (meta1["run"], meta2["run"]) == ("r1", "r2") and meta1["cache_dir"] != meta2["cache_dir"]
    assert meta2["checkpoint"] == str(paths.train_dir("r2") / "epoch_2.pth")
    # the first run's tracks are untouched, and `epoch2` of r1 is the same folder as r1's `last`
    assert json.loads((first / "meta.json").read_text()) == meta1
    assert main(["track", "--tracker", "iou", "--detector", "epoch2", "--run", "r1", "--data", str(data),
                 "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"detector epoch 2 of run r1 ({r1 / 'epoch_2.pth'}); detections {cache_r1} (reused)"
    assert "reused (same inputs) 2 sequences" in out and f"-> {first}" in out


def test_detector_labels():
    from test_detect import nano_model

    r1 = paths.train_dir("r1")
    r1.mkdir(parents=True)
    save_detector(r1 / "epoch_3.pth", nano_model(), 3)
    assert detector_ref("last").label() == detector_ref("epoch3", "r1").label() == "r1-epoch3"
    assert detector_ref(str(r1 / "epoch_3.pth")).label() == "r1-epoch3"   # a run's epoch given by path
    outside = paths.runs_root().parent / "weights" / "model.pth"
    outside.parent.mkdir()
    outside.write_bytes((r1 / "epoch_3.pth").read_bytes())
    from detbench.core.fileio import sha256_file

    ref = detector_ref(str(outside))
    assert ref.run is None and ref.label() == f"model-{sha256_file(outside)[:8]}"
    assert ref.describe() == str(outside)


def test_detect_tune_eval_det_and_compare_say_what_they_used(world, capsys):  # noqa: F811
    data, results = world
    r1 = paths.train_dir("r1")
    assert main(["detect", "--detector", "last", "--run", "r1", "--data", str(data), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"detector last = epoch 2 of run r1 ({r1 / 'epoch_2.pth'})"
    assert main(tune_argv(data, "epoch1")) == 0
    out = capsys.readouterr().out
    line = _used_lines(out)
    assert len(line) == 1 and line[0].startswith(f"detector epoch 1 of run r1 ({r1 / 'epoch_1.pth'}); detections ")
    stored = json.loads(Path(out.strip().splitlines()[-1].rsplit("-> ", 1)[1]).read_text())
    assert stored["source"]["run"] == "r1" and stored["source"]["checkpoint"] == str(r1 / "epoch_1.pth")
    assert main(["eval-det", "--detector", "epoch1,epoch2", "--run", "r1", "--data", str(data),
                 "--out", str(results / "ap")]) == 0
    out = capsys.readouterr().out
    assert [ln.split(";")[0] for ln in _used_lines(out)] == [
        f"detector epoch 1 of run r1 ({r1 / 'epoch_1.pth'})", f"detector epoch 2 of run r1 ({r1 / 'epoch_2.pth'})"]
    assert main(compare_argv(data, results, "--no-tuned")) == 0
    out = capsys.readouterr().out
    used = _used_lines(out)
    assert [ln.split(";")[0] for ln in used] == [
        f"detector epoch 1 of run r1 ({r1 / 'epoch_1.pth'})", f"detector epoch 2 of run r1 ({r1 / 'epoch_2.pth'})"]
    assert all("(reused)" in ln for ln in used)   # detect, tune and eval-det computed both caches already
    doc = json.loads((results / "t" / "comparison.json").read_text())
    assert doc["detector_sources"]["epoch2"]["checkpoint"] == str(r1 / "epoch_2.pth")


@pytest.mark.parametrize("name", ["last", "epoch1"])
def test_a_run_without_checkpoints_says_so(name, capsys):
    from detbench.core.errors import InputError

    paths.train_dir("cut").mkdir(parents=True)
    with pytest.raises(InputError) as e:
        detector_ref(name, "cut")
    assert "has no checkpoint yet" in str(e.value) and "available" not in str(e.value)
