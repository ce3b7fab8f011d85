"""Every bad input gives one line naming the file / option and the problem, exit 2,
no traceback, nothing half-written; no dead ends (an interrupted first epoch, a run's default)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from detbench.cli import main


def run_cli(capsys, *argv):
    """(exit code, stdout, stderr) of ``detbench ARGV`` in this process."""
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, *needles):
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# --------------------------------------------------------------------------- tracker options
@pytest.fixture
def external(tmp_path, real_fixture):
    """Two real sequences cut to 4 frames, with their ground truth as external detections."""
    from detbench.data.mot import SeqInfo, read_mot, write_mot, write_mot_dets, write_seqinfo
    from detbench.data.noisy import noisy_detections

    seq_root, det_dir = tmp_path / "sequences", tmp_path / "dets"
    for seq in ("scene-0103_CAM_FRONT",):
        src = real_fixture / "sequences" / seq
        gt = read_mot(src / "gt" / "gt.txt", kind="gt")
        gt = gt[gt[:, 0] <= 4]
        (seq_root / seq / "gt").mkdir(parents=True)
        write_mot(seq_root / seq / "gt" / "gt.txt", gt)
        write_seqinfo(seq_root / seq / "seqinfo.ini", SeqInfo(seq, 2.0, 1600, 900, 4))
        (seq_root / seq / "frames.json").write_text(json.dumps(json.loads((src / "frames.json").read_text())[:4]))
        write_mot_dets(det_dir / f"{seq}.txt", noisy_detections(gt, 4, 1600, 900, seed=0))
    return seq_root, det_dir


@pytest.mark.parametrize("tracker,opt,needle", [
    ("botsort", "track_buffer_s=-1", "track_buffer_s"),
    ("botsort", "track_buffer_s=1e400", "track_buffer_s"),
    ("botsort", "cmc=xyz", "cmc"),
    ("botsort", "new_track_thresh=2", "new_track_thresh"),
    ("botsort", "track_high_thresh=nan", "track_high_thresh"),
    ("bytetrack", "track_thresh=-0.5", "track_thresh"),
    ("iou", "max_age_s=inf", "max_age_s"),
    ("ocsort", "min_hits=-1", "min_hits"),
    ("trackssm", "new_track_thresh=1.5", "new_track_thresh"),
    ("botsort", "device=cuda:7", "device"),
])
def test_bad_tracker_option_values_fail_before_any_work(capsys, external, tmp_path, tracker, opt, needle):
    seq_root, det_dir = external
    out = tmp_path / "out"
    if needle == "device":
        pytest.importorskip("torch")
        import torch

        if torch.cuda.device_count() > 7:
            pytest.skip("this machine has a cuda:7")
    rc, _, err = run_cli(capsys, "track", "--tracker", tracker, "--dets", str(det_dir), "--sequences",
                         str(seq_root), "--out", str(out), "--tracker-opt", opt, "--jobs", "1")
    line = assert_one_line_error(rc, err, needle)
    assert "meta.json" not in line
    assert not out.exists()  # no failed meta.json left behind


def test_trackssm_weights_that_are_not_a_model(capsys, external, tmp_path):
    seq_root, det_dir = external
    bogus = tmp_path / "bogus"
    bogus.mkdir()
    (bogus / "model.pth").write_bytes(b"not a torch file")
    (bogus / "config.json").write_text(json.dumps({"model": {}}))
    out = tmp_path / "out"
    rc, _, err = run_cli(capsys, "track", "--tracker", "trackssm", "--dets", str(det_dir), "--sequences",
                         str(seq_root), "--out", str(out), "--tracker-opt", f"weights={bogus}", "--jobs", "1")
    line = assert_one_line_error(rc, err, "weights", str(bogus))
    assert "meta.json" not in line and not out.exists()


def test_device_without_cuda_is_one_line(capsys, tmp_path):
    import torch

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    from detbench.core.devices import check_device
    from detbench.core.errors import InputError

    with pytest.raises(InputError, match="--device 'cuda:7'"):
        check_device("cuda:7")
    with pytest.raises(InputError, match="not a device"):
        check_device("gpu")
    assert check_device("cpu") == "cpu"
    rc, _, err = run_cli(capsys, "train", "--data", str(tmp_path), "--device", "cuda:7")
    assert_one_line_error(rc, err, "--device", "cuda:7")


# --------------------------------------------------------------------------- paths that trap a newcomer
@pytest.mark.parametrize("extra", [[], ["--recipe", "clean_v2"], ["--recipe", "demo", "--model", "yolox-l"],
                                   ["--recipe", "demo", "--set", "input_size=1600,2880"]])
def test_a_gpu_sized_training_on_the_cpu_is_refused_with_what_to_run_instead(tmp_path, capsys, extra):
    """`train --data D` alone would start YOLOX-L at 800x1440 on the CPU (days): one line saying
    what to run instead, with the committed base's real path; nothing written."""
    from detbench.base_weights import WEIGHTS
    from detbench.train.cpu_guard import DEMO_BASE

    data = tmp_path / "data"
    rc, out, err = run_cli(capsys, "train", "--data", str(data), *extra)
    line = assert_one_line_error(rc, err, "a GPU job", f"detbench train --data {data} --recipe demo --init {DEMO_BASE}",
                                 "--device cuda", "--allow-cpu")
    assert out == "" and not (tmp_path / "runs").exists()
    assert WEIGHTS.is_file() and WEIGHTS == Path(__file__).resolve().parents[1] / DEMO_BASE
    if not extra:
        assert "stable_v3 trains yolox-l at 800x1440 (~438 GFLOPs per image, batch 32, 30 epochs)" in line
    # --allow-cpu passes the check (the next one fails: the dataset is missing); a CPU-sized recipe needs no flag
    for argv in (["--allow-cpu", *extra], ["--recipe", "demo"], ["--recipe", "demo", "--model", "tiny"]):
        rc, _, err = run_cli(capsys, "train", "--data", str(data), *argv)
        assert_one_line_error(rc, err, "meta.json")


def test_a_run_without_a_checkpoint_is_named_as_such(tmp_path, capsys):
    """`detect --detector last` on a run with no checkpoint said "(available: none, last, ...)"."""
    from detbench.core import paths

    paths.train_dir("cut").mkdir(parents=True)
    for name in ("last", "epoch1"):
        rc, _, err = run_cli(capsys, "detect", "--detector", name, "--run", "cut", "--data", str(tmp_path))
        line = assert_one_line_error(rc, err, f"detector {name!r}: run ", "has no checkpoint yet",
                                     "--resume --name cut")
        assert "available" not in line and "none" not in line


# --------------------------------------------------------------------------- training dead ends
TINY = dict(recipe="demo", epochs=3, batch_size=4, input_size="64,96", num_workers=0,
            tensorboard=False, echo=lambda *_: None)


def test_run_interrupted_in_epoch_1_restarts_and_is_never_the_default(tmp_path, capsys):
    from test_train_data import make_dataset
    from test_train_run import train_killed_after

    from detbench.core.errors import InputError
    from detbench.runs import latest_run, resolve_detector
    from detbench.train.trainer import train

    data = make_dataset(tmp_path / "ds", 8)
    good = train(data, name="good", **TINY)
    os.utime(good, (1, 1))  # older than the interrupted run below
    cut, _ = train_killed_after(1, data, name="cut", **TINY)  # "killed" in epoch 1: no latest.pth
    assert not (cut / "latest.pth").exists() and not list(cut.glob("epoch_*.pth"))
    assert latest_run() == good and resolve_detector("last") == good / "epoch_3.pth"
    with pytest.raises(InputError, match="stopped before its first checkpoint.*--resume --name cut"):
        train(data, name="cut", **TINY)
    said = []
    train(data, name="cut", resume=True, tensorboard=False, echo=said.append)
    assert any("no latest.pth" in s and "restarting it from step 0" in s for s in said)
    assert (cut / "epoch_3.pth").is_file()
    steps = [json.loads(ln)["step"] for ln in (cut / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
    # --resume with another --model is an error, not ignored
    with pytest.raises(InputError, match="cannot switch it to --model yolox-s"):
        train(data, name="cut", resume=True, model="yolox-s", tensorboard=False,
              echo=lambda *_: None)


def test_corrupt_image_stop_is_one_line_and_resumable(tmp_path, capsys, monkeypatch):
    from test_train_data import make_dataset

    data = make_dataset(tmp_path / "ds", 8)
    bad = data / "images" / "003.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    monkeypatch.setenv("DETBENCH_RUNS", str(tmp_path / "runs"))
    args = ["train", "--data", str(data), "--recipe", "demo", "--epochs", "3", "--batch-size", "4",
            "--set", "input_size=64,96", "--set", "num_workers=1", "--name", "r"]
    rc, _, err = run_cli(capsys, *args, "--on-bad-image", "stop")
    assert_one_line_error(rc, err, str(bad), "cannot be decoded", "--resume --name r")
    shutil.copy(data / "images" / "002.jpg", bad)  # fixed: the run goes on
    rc, out, err = run_cli(capsys, *args[:-2], "--resume", "--name", "r")
    assert rc == 0, err
    assert (tmp_path / "runs" / "train" / "r" / "epoch_3.pth").is_file()


def test_corrupt_image_skip_names_the_files(tmp_path):
    from test_train_data import make_dataset

    from detbench.train.trainer import train

    data = make_dataset(tmp_path / "ds", 8)
    bad = data / "images" / "003.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    said = []
    train(data, name="s", **dict(TINY, echo=said.append))
    summary = [s for s in said if "image reads failed" in s]
    assert summary and str(bad) in summary[0]


# --------------------------------------------------------------------------- nuScenes table contents
@pytest.fixture(scope="module")
def minidb_master(tmp_path_factory):
    from nusc_minidb import write_min_db

    return write_min_db(tmp_path_factory.mktemp("minidb"), scenes=2, keyframes=2)


def _edit_table(root, table, fn):
    from nusc_minidb import VERSION

    path = root / VERSION / f"{table}.json"
    records = json.loads(path.read_text())
    fn(records)
    path.write_text(json.dumps(records))
    return path


@pytest.mark.parametrize("case,needles", [
    ("annotation_without_translation", ("sample_annotation.json", "has no 'translation'")),
    ("ego_pose_with_strings", ("ego_pose.json", "translation must be 3 numbers")),
    ("truncated_table", ("sample_data.json", "not valid JSON")),
    ("empty_table", ("instance.json", "not valid JSON")),
    ("table_not_a_list", ("visibility.json", "not a JSON list")),
])
def test_bad_table_contents_name_the_table(case, needles, minidb_master, tmp_path, capsys):
    from nusc_minidb import VERSION

    root = tmp_path / "db"
    shutil.copytree(minidb_master, root)
    if case == "annotation_without_translation":
        _edit_table(root, "sample_annotation", lambda r: r[1].pop("translation"))
    elif case == "ego_pose_with_strings":
        _edit_table(root, "ego_pose", lambda r: r[0].update(translation=["1.0", "2", "x"]))
    elif case == "truncated_table":
        p = root / VERSION / "sample_data.json"
        p.write_text(p.read_text()[:200])
    elif case == "empty_table":
        (root / VERSION / "instance.json").write_text("")
    elif case == "table_not_a_list":
        (root / VERSION / "visibility.json").write_text('{"token": "1"}')
    rc, _, err = run_cli(capsys, "prepare", "--dataroot", str(root), "--version", VERSION, "--name", "x")
    assert_one_line_error(rc, err, *needles)
    assert not (tmp_path / "runs" / "data").exists() or not list((tmp_path / "runs" / "data").iterdir())


def test_bad_sizes_and_missing_images_are_reported(minidb_master, tmp_path, capsys):
    from nusc_minidb import VERSION

    root = tmp_path / "db"
    shutil.copytree(minidb_master, root)

    def bad_sizes(records):
        records[0]["size"] = [float("nan"), 1.0, 1.0]
        records[1]["size"] = [-1.0, 4.0, 1.5]
    _edit_table(root, "sample_annotation", bad_sizes)
    rc, _, err = run_cli(capsys, "prepare", "--dataroot", str(root), "--version", VERSION, "--name", "x")
    assert rc == 0, err
    assert "Traceback" not in err
    assert any("sample_annotation.json: 2 of" in ln and "not positive and finite" in ln for ln in err.splitlines())
    # the hand-placed database has tables but no images: prepare says so, naming them
    assert any("keyframe images are missing" in ln and "samples/" in ln for ln in err.splitlines())


# --------------------------------------------------------------------------- permissions
@pytest.fixture(params=["read_only_folder", "file_in_the_way"])
def unwritable(request, tmp_path):
    """A folder path this process really cannot write under, as root too.

    Root ignores mode bits, so ``chmod 555`` alone would test nothing there. ``read_only_folder``:
    mode 555 for a normal user; for root an immutable folder (``chattr +i``, which stops root as
    well; where the file system has no such attribute, the file-in-the-way case stands in).
    ``file_in_the_way``: the path's parent is a regular file, so nothing can be created under it,
    whoever runs the test.
    """
    import subprocess

    if request.param == "read_only_folder":
        d = tmp_path / "ro"
        d.mkdir()
        if os.geteuid() != 0:
            d.chmod(0o555)
            yield d
            d.chmod(0o755)
            return
        if subprocess.run(["chattr", "+i", str(d)], capture_output=True).returncode == 0:
            try:
                yield d
            finally:
                subprocess.run(["chattr", "-i", str(d)], capture_output=True)
            return
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    yield blocker


def test_runs_folder_not_writable(unwritable, minidb_master, capsys, monkeypatch):
    from nusc_minidb import VERSION

    monkeypatch.setenv("DETBENCH_RUNS", str(unwritable / "runs"))
    rc, _, err = run_cli(capsys, "prepare", "--dataroot", str(minidb_master), "--version", VERSION)
    assert_one_line_error(rc, err, str(unwritable), "cannot write")


def test_synth_into_a_read_only_parent(unwritable, capsys):
    rc, out, err = run_cli(capsys, "synth", str(unwritable / "synth"), "--scenes", "1", "--keyframes", "2")
    assert_one_line_error(rc, err, str(unwritable / "synth"), "cannot write")
    assert not (unwritable / "synth").exists()


def test_eval_json_into_a_read_only_folder_fails_before_the_table(unwritable, real_fixture, capsys):
    seqs = real_fixture / "sequences"
    rc, out, err = run_cli(capsys, "eval", "--gt", str(seqs), "--results", str(seqs), "--json",
                           str(unwritable / "metrics.json"))
    assert_one_line_error(rc, err, str(unwritable / "metrics.json"), "cannot write")
    assert out == ""  # checked before any work: no table printed for nothing


def test_os_errors_are_one_line(capsys, monkeypatch, tmp_path):
    """Whatever still meets an unwritable folder (no command can pre-check everything) is one line."""
    import click

    from detbench import cli

    @click.command("boom")
    def boom():
        (tmp_path / "a-file").write_text("")
        (tmp_path / "a-file" / "x").mkdir()

    monkeypatch.setitem(cli.COMMANDS, "boom", ("synth", ""))
    monkeypatch.setattr(cli.LazyGroup, "get_command", lambda self, ctx, name: boom)
    rc, _, err = run_cli(capsys, "boom")
    assert_one_line_error(rc, err, str(tmp_path / "a-file" / "x"), "Not a directory")


def test_artifact_folders_follow_the_umask(tmp_path):
    from detbench.core.fileio import atomic_dir

    old = os.umask(0o027)
    try:
        with atomic_dir(tmp_path / "art") as d:
            (d / "x.txt").write_text("1")
    finally:
        os.umask(old)
    assert (tmp_path / "art").stat().st_mode & 0o777 == 0o750


# --------------------------------------------------------------------------- evaluation inputs
def _one_sequence(tmp_path, real_fixture, gt_text=None, res_text=None):
    seq = "scene-0103_CAM_FRONT"
    gt_root, res = tmp_path / "gt", tmp_path / "res"
    shutil.copytree(real_fixture / "sequences" / seq, gt_root / seq)
    res.mkdir()
    shutil.copy(gt_root / seq / "gt" / "gt.txt", res / f"{seq}.txt")
    if gt_text is not None:
        (gt_root / seq / "gt" / "gt.txt").write_text(gt_text)
    if res_text is not None:
        (res / f"{seq}.txt").write_text(res_text)
    return gt_root, res, seq


def test_empty_ground_truth_is_an_error_not_mota_minus_14400(tmp_path, real_fixture, capsys):
    gt_root, res, seq = _one_sequence(tmp_path, real_fixture, gt_text="")
    rc, out, err = run_cli(capsys, "eval", "--gt", str(gt_root), "--results", str(res))
    assert_one_line_error(rc, err, str(gt_root / seq / "gt" / "gt.txt"), "every gt.txt is empty")
    assert out == ""


@pytest.mark.parametrize("which", ["gt", "results"])
def test_negative_track_ids_are_rejected(tmp_path, real_fixture, capsys, which):
    row = "1,-3,100,100,50,50,1,1,1\n"
    gt_root, res, seq = _one_sequence(tmp_path, real_fixture, **{f"{'gt' if which == 'gt' else 'res'}_text": row})
    path = gt_root / seq / "gt" / "gt.txt" if which == "gt" else res / f"{seq}.txt"
    rc, _, err = run_cli(capsys, "eval", "--gt", str(gt_root), "--results", str(res))
    assert_one_line_error(rc, err, f"{path}:1", "id -3 is negative")


def test_zero_track_boxes_says_which_thresholds_are_too_high(capsys, external, tmp_path):
    """Like `track --detector epoch6 --tracker botsort` after the demo: every score under the defaults."""
    from detbench.data.mot import read_mot_dets, write_mot_dets

    seq_root, det_dir = external
    for f in det_dir.glob("*.txt"):
        dets = read_mot_dets(f)
        for d in dets:
            d[:, 4] = 0.2
        write_mot_dets(f, dets)
    rc, out, err = run_cli(capsys, "track", "--tracker", "botsort", "--dets", str(det_dir), "--sequences",
                           str(seq_root), "--out", str(tmp_path / "out"), "--jobs", "1",
                           "--tracker-opt", "cmc=none")
    assert rc == 0 and "0 track boxes" in out
    warning = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert len(warning) == 1
    n = sum(len(d) for f in det_dir.glob("*.txt") for d in read_mot_dets(f))
    for needle in (f"{n} detections", f"{n} under new_track_thresh=0.6", f"{n} under track_high_thresh=0.5",
                   "--tracker-opt", "detbench tune --tracker botsort"):
        assert needle in warning[0], (needle, warning[0])


# --------------------------------------------------------------------------- detect: one computation per key
def test_two_detects_of_one_cache_key_compute_once(tmp_path, capsys):
    import threading
    import time

    from test_detect import load_checkpoint, make_dataset, nano_model, save_checkpoint

    from detbench.detect.api import ensure_detections_for

    data_dir = make_dataset(tmp_path / "data", frames=2)
    ckpt = save_checkpoint(tmp_path / "epoch_1.pth", nano_model())
    loading, loads = threading.Event(), []

    def slow_load(path, device="cpu"):
        loads.append(path)
        loading.set()
        time.sleep(1.0)  # the second caller arrives while this one computes
        return load_checkpoint(path, device)

    results = []

    def call():
        results.append(ensure_detections_for(ckpt, slow_load, data_dir, "val", detector="epoch1"))

    first = threading.Thread(target=call)
    first.start()
    assert loading.wait(60)
    second = threading.Thread(target=call)
    second.start()
    first.join()
    second.join()
    assert len(loads) == 1  # the second waited for the lock, then reused the cache
    assert sorted(r.cache_hit for r in results) == [False, True]
    assert results[0].cache_dir == results[1].cache_dir
    assert "waiting for another detect" in capsys.readouterr().err


# --------------------------------------------------------------------------- output noise
def test_import_detbench_disables_no_package_and_filters_yolox_future_warning():
    """`import detbench` leaves every package importable (no None entry in sys.modules: torch can
    still compile with triton) and filters only YOLOX's own autocast FutureWarning."""
    import subprocess
    import sys

    code = ("import sys, warnings, importlib.util\n"
            "import detbench, detbench.cli\n"
            "blocked = sorted(k for k, v in sys.modules.items() if v is None)\n"
            "assert not blocked, blocked\n"
            "import yolox.models, torchvision.ops\n"
            "import torch.utils._triton as tt\n"
            "assert (importlib.util.find_spec('triton') is None) or (tt.has_triton_package() "
            "and sys.modules['triton'] is not None), 'triton is blocked'\n"
            "with warnings.catch_warnings(record=True) as seen:\n"
            "    warnings.warn_explicit('`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
            "`torch.amp.autocast(\"cuda\", args...)` instead.', FutureWarning, 'yolo_head.py', 472, "
            "module='yolox.models.yolo_head')\n"
            "assert not seen, seen\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "FutureWarning" not in p.stderr


@pytest.mark.parametrize("keep", [False, True])
def test_the_command_prints_no_nanobind_leak_report_at_exit(keep):
    """A `detbench` process that imported torchvision (so triton's nanobind extension) and holds a
    nanobind object until the end, the way a library cache does: nanobind reports it at teardown,
    and the command keeps that report off stderr (DETBENCH_KEEP_TEARDOWN_STDERR=1 shows it, which
    is how this test knows it would see it)."""
    import os
    import subprocess
    import sys

    pytest.importorskip("triton._C.libtriton")
    code = ("import ctypes, sys, torchvision.ops\n"
            "import triton._C.libtriton as lib\n"
            "ctypes.pythonapi.Py_IncRef(ctypes.py_object(lib.ir.context()))   # alive until the end\n"
            "from detbench.cli import main\n"
            "sys.argv = ['detbench', 'eval', '--gt', 'no/such/folder', '--results', 'no/such/folder']\n"
            "sys.exit(main())\n")
    env = {k: v for k, v in os.environ.items() if k != "DETBENCH_KEEP_TEARDOWN_STDERR"}
    if keep:
        env["DETBENCH_KEEP_TEARDOWN_STDERR"] = "1"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert p.returncode == 2 and p.stderr.startswith("error: ")   # the command's own line is kept
    assert ("nanobind: leaked" in p.stderr) == keep, p.stderr
    if not keep:
        assert len(p.stderr.splitlines()) == 1, p.stderr


@pytest.mark.parametrize("argv", [
    ["detect", "--detector", "epoch9", "--data", "DATA"],
    ["eval-det", "--detector", "epoch1,epoch9", "--data", "DATA"],
    ["track", "--tracker", "iou", "--detector", "epoch9", "--data", "DATA"],
])
def test_a_wrong_detector_name_fails_before_torch_is_imported(tmp_path, argv):
    """Error paths are fast: names are resolved before the heavy imports (torch: seconds)."""
    import subprocess
    import sys

    (tmp_path / "data").mkdir()
    (tmp_path / "runs" / "train" / "r1").mkdir(parents=True)
    (tmp_path / "runs" / "train" / "r1" / "epoch_1.pth").write_bytes(b"")
    argv = [str(tmp_path / "data") if a == "DATA" else a for a in argv]
    code = ("import sys\nfrom detbench.cli import main\n"
            f"rc = main({argv!r})\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n"
            "sys.exit(rc)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, DETBENCH_RUNS=str(tmp_path / "runs")))
    assert p.returncode == 2, p.stderr
    assert_one_line_error(p.returncode, p.stderr, "epoch9", "available: epoch1")


# --------------------------------------------------------------------------- outputs never overwrite inputs
def _snapshot(root) -> dict:
    """Every file under ``root`` (or ``root`` itself) with its bytes: what must not change."""
    from pathlib import Path

    root = Path(root)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p): p.read_bytes() for p in files}


@pytest.fixture
def workspace(tmp_path, external, minidb_master, monkeypatch):
    """One folder of every kind a command reads, for the overlap checks below: external detections
    and sequences, a prepared-dataset skeleton, a detection cache, tracking results, a training
    run with a log, a checkpoint file and a nuScenes database."""
    from test_analyze import write_run

    seq_root, det_dir = external
    seq = next(p.name for p in seq_root.iterdir())
    data = tmp_path / "data"
    (data / "sequences" / "val").mkdir(parents=True)
    shutil.copytree(seq_root / seq, data / "sequences" / "val" / seq)
    (data / "images").mkdir()
    (data / "meta.json").write_text(json.dumps({"dataroot": str(data / "images"),
                                                "sequences": {"val": [seq]}}))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "meta.json").write_text("{}")
    tracks = tmp_path / "tracks"
    tracks.mkdir()
    shutil.copy(seq_root / seq / "gt" / "gt.txt", tracks / f"{seq}.txt")
    runs = tmp_path / "runs"
    write_run(runs, "r1")
    ckpt = tmp_path / "ckpt.pth"
    ckpt.write_bytes(b"not loaded before the output is checked")
    db = tmp_path / "db"
    shutil.copytree(minidb_master, db)
    gt_under_results = tmp_path / "res" / "sensitivity" / "fixture-gt"
    shutil.copytree(seq_root, gt_under_results)
    monkeypatch.setenv("DETBENCH_RUNS", str(runs))
    return dict(seqs=seq_root, dets=det_dir, seq=seq, data=data, cache=cache, tracks=tracks, runs=runs,
                run=runs / "train" / "r1", ckpt=ckpt, db=db, tmp=tmp_path, gt=gt_under_results)


def _overlap_case(name, w):
    """(argv, the input that must stay untouched, what the one error line must say)."""
    from nusc_minidb import VERSION

    s = {k: str(v) for k, v in w.items()}
    track = ["track", "--tracker", "iou", "--dets", s["dets"], "--sequences", s["seqs"], "--jobs", "1"]
    return {
        "track --out = --dets": (track + ["--out", s["dets"]], w["dets"], "it is the input --dets"),
        "track --out holds --dets": (track + ["--out", s["tmp"]], w["dets"], "it holds the input --dets"),
        "track --out in --sequences": (track + ["--out", s["seqs"] + "/trk"], w["seqs"],
                                       "it is inside the input --sequences"),
        "eval --json = a result file": (["eval", "--gt", s["seqs"], "--results", s["tracks"], "--json",
                                         str(w["tracks"] / f"{w['seq']}.txt")], w["tracks"], "it is the input results file"),
        "prepare --out = --dataroot": (["prepare", "--dataroot", s["db"], "--version", VERSION, "--out", s["db"]],
                                       w["db"], "it is the input --dataroot"),
        "analyze --out = run": (["analyze", s["run"], "--out", s["run"]], w["run"], "it is the input run"),
        "analyze --out holds run": (["analyze", s["run"], "--out", str(w["run"].parent)], w["run"],
                                    "it holds the input run"),
        "show-tracks --out = --tracks": (["show-tracks", "--tracks", s["tracks"], "--data", s["data"], "--seq", s["seq"],
                                          "--out", s["tracks"]], w["tracks"], "it is the input --tracks"),
        "show-dets --out = --data": (["show-dets", "--cache", s["cache"], "--data", s["data"], "--seq", s["seq"],
                                      "--out", s["data"]], w["data"], "it is the input --data"),
        "eval-det --out = --cache": (["eval-det", "--cache", s["cache"], "--data", s["data"], "--out", s["cache"]],
                                     w["cache"], "it is the input --cache"),
        "detect --export-mot in --data": (["detect", "--detector", s["ckpt"], "--data", s["data"], "--export-mot",
                                           s["data"] + "/mot"], w["data"], "it is inside the input --data"),
        "compare results = --data": (["compare", "--detectors", s["ckpt"], "--trackers", "iou", "--data", s["data"],
                                      "--results-dir", s["tmp"], "--name", "data", "--no-tuned"], w["data"],
                                     "it is the input --data"),
        "sensitivity results = --gt": (["sensitivity", "--gt", s["gt"], "--trackers", "iou", "--results-dir",
                                        str(w["tmp"] / "res"), "--name", "fixture-gt"], w["gt"], "it is the input --gt"),
        "train run holds --init": (["train", "--data", s["data"], "--name", "r1", "--init", str(w["run"] / "epoch_1.pth")],
                                   w["run"], "it holds the input --init"),
        "train-motion out = --data": (["train-motion", "--data", s["data"], "--name", s["data"]], w["data"],
                                      "it is the input --data"),
        "export -o = DETECTOR": (["export", s["ckpt"], "-o", s["ckpt"]], w["ckpt"], "it is the input DETECTOR"),
    }[name]


OVERLAP_CASES = ["track --out = --dets", "track --out holds --dets", "track --out in --sequences",
                 "eval --json = a result file", "prepare --out = --dataroot", "analyze --out = run",
                 "analyze --out holds run", "show-tracks --out = --tracks", "show-dets --out = --data",
                 "eval-det --out = --cache", "detect --export-mot in --data", "compare results = --data",
                 "sensitivity results = --gt", "train run holds --init", "train-motion out = --data",
                 "export -o = DETECTOR"]


@pytest.mark.parametrize("case", OVERLAP_CASES)
def test_no_command_writes_over_its_inputs(case, workspace, capsys):
    """`track --out D --dets D` replaced the user's detections with the tracks (exit 0): every
    command that writes refuses an output that is, holds or lies inside an input, in one wording,
    before any work."""
    argv, protected, relation = _overlap_case(case, workspace)
    (workspace["run"] / "epoch_1.pth").write_bytes(b"a checkpoint of run r1")
    before = _snapshot(protected)
    rc, out, err = run_cli(capsys, *argv)
    assert_one_line_error(rc, err, ": cannot write the ", relation)
    assert _snapshot(protected) == before


def test_output_check_compares_real_paths(tmp_path):
    """Another spelling of the same folder (a symbolic link, ``..``) is the same folder; a sibling
    whose name only starts like the input's is not inside it."""
    from detbench.core.errors import InputError
    from detbench.core.fileio import ensure_writable

    dets = tmp_path / "dets"
    dets.mkdir()
    (tmp_path / "link").symlink_to(dets)
    for out in (tmp_path / "link", dets / ".." / "dets", tmp_path / "link" / "sub"):
        with pytest.raises(InputError, match="cannot write the tracks here: it (is|is inside) the input --dets"):
            ensure_writable(out, "tracks", inputs={"--dets": dets})
    ensure_writable(tmp_path / "dets2", "tracks", inputs={"--dets": dets})  # a sibling is fine
    ensure_writable(dets / "analysis", "report", inputs={"--dets": dets}, inside_ok=True)
    ensure_writable(dets / "analysis", "report", inputs={"--dets": dets, "other": None}, inside_ok=("--dets",))


def test_compare_results_dir_unwritable_fails_before_any_work(unwritable, workspace, capsys):
    s = {k: str(v) for k, v in workspace.items()}
    rc, out, err = run_cli(capsys, "compare", "--detectors", s["ckpt"], "--trackers", "iou", "--data", s["data"],
                           "--results-dir", str(unwritable / "results"), "--no-tuned")
    assert_one_line_error(rc, err, str(unwritable / "results"), "cannot write the comparison here")
    assert not (workspace["runs"] / "detections").exists()  # nothing detected or tracked first


# --------------------------------------------------------------------------- every detection file, before tracking
@pytest.fixture
def two_sequences(tmp_path, real_fixture):
    """Two real sequences cut to 4 frames, with classed external detections (noisy ground truth)."""
    from detbench.data.mot import SeqInfo, read_mot, write_mot, write_mot_dets, write_seqinfo
    from detbench.data.noisy import noisy_detections

    seq_root, det_dir = tmp_path / "sequences", tmp_path / "dets"
    for i, seq in enumerate(("scene-0103_CAM_BACK", "scene-0103_CAM_FRONT")):
        gt = read_mot(real_fixture / "sequences" / seq / "gt" / "gt.txt", kind="gt")
        gt = gt[gt[:, 0] <= 4]
        (seq_root / seq / "gt").mkdir(parents=True)
        write_mot(seq_root / seq / "gt" / "gt.txt", gt)
        write_seqinfo(seq_root / seq / "seqinfo.ini", SeqInfo(seq, 2.0, 1600, 900, 4))
        write_mot_dets(det_dir / f"{seq}.txt", noisy_detections(gt, 4, 1600, 900, seed=i))
    return seq_root, det_dir


@pytest.mark.parametrize("row,problem", [
    ("2,-1,100,100,-30,40,0.9,1", "box size -30x40 is negative"),
    ("2,-1,100,100,30,-4,0.9,1", "box size 30x-4 is negative"),
    ("2,-1,100,100,30,40,nan,1", "score is 'nan', not a finite number"),
    ("2,-1,100,100,30,40,1.5,1", "score 1.5 is outside 0..1"),
    ("2,-1,100,100,30,40,0.9,12", "class 12 is outside 1..7"),
    ("2,-1,100,100,30,40,0.9,-1", "no class (-1) here, but a class on the rows above"),
    ("9,-1,100,100,30,40,0.9,1", "frame 9 is beyond the sequence length 4"),
    ("2,-1,100,100,30,40,0.9,1,x", "column 9 'x' is not a number"),
])
def test_a_bad_detection_row_stops_track_before_anything_is_written(two_sequences, tmp_path, capsys, row, problem):
    """Today a NaN score or class 12 in the last file made `track` exit 1 after writing the other
    sequences and meta.json, and a negative size was tracked silently: every file is read first."""
    seq_root, det_dir = two_sequences
    bad = det_dir / "scene-0103_CAM_FRONT.txt"  # sorted last: the other sequence would be tracked first
    lineno = len(bad.read_text().splitlines()) + 1
    bad.write_text(bad.read_text() + row + "\n")
    out = tmp_path / "out"
    rc, _, err = run_cli(capsys, "track", "--tracker", "iou", "--dets", str(det_dir), "--sequences", str(seq_root),
                         "--out", str(out), "--jobs", "2")
    assert_one_line_error(rc, err, f"{bad}:{lineno}: ", problem)
    assert not out.exists() and not list(tmp_path.glob(".out*"))


# --------------------------------------------------------------------------- options checked when parsed
@pytest.mark.parametrize("argv,needle", [
    (["compare", "--detectors", "a", "--data", "D", "--resamples", "-5"], "--resamples"),
    (["compare", "--detectors", "a", "--data", "D", "--resamples", "0"], "--resamples"),
    (["compare", "--detectors", "a", "--data", "D", "--seed", "-1"], "--seed"),
    (["compare", "--detectors", "a", "--data", "D", "--jobs", "0"], "--jobs"),
    (["detect", "--detector", "a", "--data", "D", "--conf", "-1"], "--conf"),
    (["detect", "--detector", "a", "--data", "D", "--nms", "nan"], "--nms"),
    (["eval-det", "--data", "D", "--score-thr", "1.5"], "--score-thr"),
    (["eval", "--gt", "G", "--results", "R", "--iou", "0"], "--iou"),
    (["eval", "--gt", "G", "--results", "R", "--jobs", "0"], "--jobs"),
    (["track", "--tracker", "iou", "--jobs", "-2"], "--jobs"),
    (["train", "--data", "D", "--epochs", "0"], "--epochs"),
    (["train", "--data", "D", "--batch-size", "-8"], "--batch-size"),
    (["train", "--data", "D", "--set", "lr=nan"], "lr nan is not a finite number"),
    (["train", "--data", "D", "--set", "flip_prob=2"], "flip_prob 2.0 is outside 0..1"),
    (["train-motion", "--data", "D", "--lr", "nan"], "--lr"),
    (["train-motion", "--data", "D", "--seed", "-3"], "--seed"),
    (["prepare", "--dataroot", "R", "--version", "v", "--min-size", "inf"], "--min-size"),
    (["prepare", "--dataroot", "R", "--version", "v", "--min-visibility", "7"], "--min-visibility"),
    (["show-tracks", "--data", "D", "--seq", "s", "--scale", "0"], "--scale"),
    (["synth", "OUT", "--seed", "-1"], "--seed"),
    (["sensitivity", "--gt", "G", "--seed", "-1"], "--seed"),
    (["demo", "--seed", "-1"], "--seed"),
])
def test_numeric_options_are_checked_when_parsed(argv, needle, capsys, tmp_path):
    """`compare --resamples -5` printed a traceback after all the tracking; `--resamples 0`,
    `detect --conf -1` and `train --set lr=nan` were accepted: one line and exit 2, before any work."""
    rc, out, err = run_cli(capsys, *[str(tmp_path / a) if a in ("D", "G", "R", "OUT") else a for a in argv])
    assert_one_line_error(rc, err, needle)
    assert out == "" and not (tmp_path / "runs").exists()
