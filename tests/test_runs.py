"""detbench.runs: one rule for which folders are runs (dot-folders never are), epoch names, the
default run, and `detbench ls` listing through the same rule."""
from __future__ import annotations

import os

import pytest

from detbench import runs
from detbench.cli import main
from detbench.core import paths
from detbench.core.errors import InputError


def _run(name: str, *epochs: int, mtime: float = 1000.0, extra=()):
    d = paths.train_dir(name)
    d.mkdir(parents=True)
    for e in epochs:
        (d / f"epoch_{e}.pth").write_bytes(b"x")
    for f in extra:
        (d / f).write_bytes(b"x")
    os.utime(d, (mtime, mtime))
    return d


@pytest.mark.parametrize("name,epoch", [("epoch3", 3), ("epoch_3", 3), ("epoch_12.pth", 12),
                                        ("runs/train/r/epoch_7.pth", 7), ("epoch3.pth", 3),
                                        ("last", None), ("latest.pth", None), ("epoch_best.pth", None),
                                        ("epoch_3_old", None), ("myepoch3", None)])
def test_parse_epoch_name(name, epoch):
    assert runs.parse_epoch_name(name) == epoch


def test_epoch_files_are_epoch_n_only():
    d = _run("r", 10, 2, extra=("latest.pth", "epoch_best.pth", "epoch_3_old.pth"))
    assert runs.epoch_files(d) == {2: d / "epoch_2.pth", 10: d / "epoch_10.pth"}
    assert runs.run_detectors("r") == ["epoch2", "epoch10"]
    assert runs.resolve_detector("last", "r") == d / "epoch_10.pth"
    assert runs.resolve_detector("epoch_2", "r") == d / "epoch_2.pth"


def test_dot_folders_are_never_runs(capsys):
    old = _run("old", 1, mtime=1000.0)
    _run(".old.tmp-1234", 1, 2, mtime=5000.0)     # an unfinished atomic write, newer and with checkpoints
    _run("empty", mtime=6000.0)                     # newer, but no checkpoint yet
    assert runs.run_dirs(paths.train_root()) == [paths.train_dir("empty"), old]
    assert runs.latest_run() == old
    assert runs.resolve_detector("last") == old / "epoch_1.pth"
    assert runs.run_detectors(None) == ["epoch1"]
    assert main(["ls", "runs"]) == 0
    out = capsys.readouterr().out
    assert "  old: epoch1" in out and "  empty: no checkpoints" in out and ".old" not in out


def test_no_run_with_a_checkpoint_is_an_input_error():
    with pytest.raises(InputError, match="no training runs"):
        runs.latest_run()
    _run(".hidden", 1)
    with pytest.raises(InputError, match="no training runs"):
        runs.latest_run()
    _run("cut")
    with pytest.raises(InputError, match="no training run has a checkpoint yet.*cut"):
        runs.latest_run()


def test_ls_shows_each_caches_run_threshold_and_options_and_the_demos_runs(tmp_path, capsys):
    """A cache line names its run, checkpoint, split, score threshold and options (it used to
    show `<key> epoch1 split=val`), and the runs inside each runs/demo/<invocation>/ are listed."""
    from test_detect import make_dataset, nano_model, save_detector

    data = make_dataset(tmp_path)
    r1 = paths.train_dir("r1")
    r1.mkdir(parents=True)
    save_detector(r1 / "epoch_1.pth", nano_model(), 1)
    assert main(["detect", "--detector", "last", "--data", str(data), "--conf", "0.05", "--cameras", "CAM_FRONT"]) == 0
    key = next(paths.detections_root().iterdir()).name
    demo = paths.demo_root() / "20260101-120000-seed0-abc123"
    (demo / "train" / "head").mkdir(parents=True)
    (demo / "train" / "head" / "epoch_20.pth").write_bytes(b"x")
    (demo / "motion" / "demo").mkdir(parents=True)
    capsys.readouterr()
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith(key))
    assert f"run r1 epoch1 ({r1 / 'epoch_1.pth'})" in line
    for shown in ("split=val", "conf=0.05", "nms=0.65", "max_det=300", "frames=keyframes", "cameras=CAM_FRONT",
                  "input=64x96", "precision=fp32", "3 images"):
        assert shown in line, (shown, line)
    lines = out.splitlines()
    at = lines.index(f"demo {demo.name} ({demo}):")
    assert lines[at + 1:at + 5] == [f"  training runs ({demo / 'train'}):", "    head: epoch20",
                                    f"  motion models ({demo / 'motion'}):", "    demo"]
    assert main(["ls", "caches"]) == 0
    assert "demo " not in capsys.readouterr().out   # the demo has no caches: nothing listed for it
