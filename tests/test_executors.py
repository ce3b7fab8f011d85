"""`--executor ray` writes what `--executor local` writes, on a local Ray of 2 CPUs (one per session);
Ray missing is one line; a task's bad input is the local one-line error; counts for the task bar."""
from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from detbench.cli import main
from detbench.core.errors import InputError
from detbench.executor_choice import make_executor
from detbench.executors import LocalExecutor, TaskCounts

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from scale_workload import RUN, build_workload  # noqa: E402

VOLATILE = {"created", "git_commit", "versions", "command", "seconds", "cpu_s", "duration", "timings_s",
            "images_per_s"}
WALL = re.compile(r"\d+ s wall, \d+ CPU-s")


def _square(x):
    return x * x


_WARMED: list = []


def _remember(arg):
    _WARMED.append(arg)


def _warmed(_):
    return tuple(_WARMED)


def _fail_on_three(x):
    if x == 3:
        raise InputError(f"item {x}: bad input")
    return x


def _stable(value):
    """A JSON value with its provenance and wall times dropped (what two runs may differ in)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def snapshot(*roots: Path) -> dict[str, object]:
    """Every file under ``roots``: bytes, or for a JSON record its content without provenance, or
    for the sensitivity report its text with the run's wall and CPU seconds masked."""
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.suffix == ".json":
                out[str(p.relative_to(root.parent))] = _stable(json.loads(p.read_text()))
            elif p.name == "sensitivity.md":
                out[str(p.relative_to(root.parent))] = WALL.sub("<times>", p.read_text())
            elif p.is_file():
                out[str(p.relative_to(root.parent))] = p.read_bytes()
    return out


@pytest.fixture
def workload(tmp_path):
    """One val and one tune scene, six real cameras each, two stand-in checkpoints with cached
    GT-derived detections (benchmarks/scale_workload.py)."""
    return build_workload(tmp_path / "data", scenes=1)


def compare_args(data, name, *extra):
    return ["compare", "--run", RUN, "--detectors", "epoch1,epoch2", "--data", str(data), "--no-tuned",
            "--name", name, "--resamples", "50", *extra]


# ------------------------------------------------------------------ the executors themselves
@pytest.mark.parametrize("kind", ["local", "ray"])
def test_map_gathers_every_result_and_counts_tasks(kind, request):
    if kind == "ray":
        request.getfixturevalue("local_ray")
    seen: list[TaskCounts] = []
    with make_executor(kind, 2, progress=seen.append) as ex:
        assert sorted(ex.map(_square, range(7), chunksize=2)) == [x * x for x in range(7)]
        assert sorted(ex.map(_square, [5])) == [25]
    last = seen[-1]
    assert (last.total, last.done, last.failed, last.running) == (8, 8, 0, 0)
    assert max(c.running for c in seen) <= 2


@pytest.mark.parametrize("kind", ["local", "ray"])
def test_a_task_that_raises_fails_the_call_with_its_own_error(kind, request):
    if kind == "ray":
        request.getfixturevalue("local_ray")
    seen: list[TaskCounts] = []
    with make_executor(kind, 2, progress=seen.append) as ex:
        with pytest.raises(InputError, match=r"^item 3: bad input$"):
            list(ex.map(_fail_on_three, range(5)))
    assert seen[-1].failed == 1


def test_every_pool_worker_runs_the_warm_call_before_its_tasks():
    with LocalExecutor(2) as ex:
        ex.warm(_remember, "ready")
        assert set(ex.map(_warmed, range(8))) == {("ready",)}
        ex.warm(_remember, "late")          # a started pool keeps its workers as they are
        assert set(ex.map(_warmed, range(8))) == {("ready",)}
    with LocalExecutor(1) as ex:            # one job: nothing runs ahead, in this process or another
        ex.warm(_remember, "serial")
        assert ex._pool is None and "serial" not in _WARMED


def test_warming_a_worker_never_raises():
    """The comparison's warm call swallows what its tasks would report themselves."""
    from detbench.compare.pipeline import warm_worker

    assert warm_worker(("iou", "no-such-tracker")) is None


class RecordingPool(LocalExecutor):
    """The local pool, remembering what it was asked to warm with (and still warming)."""

    def __init__(self, jobs):
        super().__init__(jobs)
        self.warmed = []

    def warm(self, fn, arg):
        self.warmed.append((f"{fn.__module__}.{fn.__name__}", arg))
        super().warm(fn, arg)


def test_tune_warms_its_workers_after_the_checks(workload):
    from detbench.detect.resolved import resolve
    from detbench.tuning.tune import tune

    epoch1 = resolve("epoch1", workload, "tune", run=RUN)
    with RecordingPool(2) as ex:
        with pytest.raises(InputError):   # a bad option: one line, and no worker started for it
            tune("iou", epoch1, base_options={"no_such_option": 1}, executor=ex)
        assert ex.warmed == [] and ex._pool is None
        grid = {"iou_threshold": [0.3, 0.5]}
        assert tune("iou", epoch1, grid=grid, executor=ex).is_file()
        assert ex.warmed == [("detbench.tuning.tune.warm_worker", ("iou",))]


def test_sensitivity_warms_its_workers_before_the_units_keys(workload, tmp_path):
    """run_units (the study calls it after its input checks) warms with the trackers it runs."""
    from detbench.sensitivity import axes as ax
    from detbench.sensitivity.run import load_split, run_units, tracker_options

    split = load_split(workload / "sequences" / "val")
    options, extra, _ = tracker_options(["iou", "bytetrack"], {}, None)
    units = [("perfect", ax.PERFECT, 0, t) for t in ("iou", "bytetrack")]
    with RecordingPool(2) as ex:
        results, stats = run_units(split, units, options, extra, tmp_path / "cache", 2, None, ex)
    assert ex.warmed == [("detbench.sensitivity.run.warm_worker", ("bytetrack", "iou"))]
    assert stats["computed"] == 2 and stats["failed"] == {}


def test_serial_local_executor_runs_in_this_process():
    with LocalExecutor(1) as ex:
        assert list(ex.map(_square, [1, 2, 3])) == [1, 4, 9]
        assert ex._pool is None


def test_without_ray_the_command_says_how_to_install_it(workload, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)   # `import ray` fails as if it were not installed
    data = workload
    for args in (compare_args(data, "x", "--trackers", "iou"),
                 ["tune", "--tracker", "iou", "--run", RUN, "--detector", "epoch1", "--data", str(data)],
                 ["sensitivity", "--gt", str(data / "sequences" / "val"), "--trackers", "iou"],
                 ["detect", "--run", RUN, "--detector", "epoch1", "--data", str(data)]):
        capsys.readouterr()
        assert main([*args, "--executor", "ray"]) == 2
        err = capsys.readouterr().err.strip()
        assert err == ("error: --executor ray needs Ray, an optional extra: pip install 'detbench[ray]' "
                       "(or, in a checkout, uv sync --extra ray)"), args
    assert not (Path("results") / "x").exists()


def test_ray_address_without_the_ray_executor_is_refused(workload, capsys):
    assert main([*compare_args(workload, "x", "--trackers", "iou"), "--ray-address", "10.0.0.1:6379"]) == 2
    assert "--ray-address 10.0.0.1:6379: it goes with --executor ray" in capsys.readouterr().err


def test_a_cached_detection_is_served_without_importing_torch(workload):
    """The local pool's driver asks ``detect`` for each checkpoint's cache: a hit reads no
    checkpoint, so it must not pay torch's import (seconds, ~600 MiB resident)."""
    import os
    import subprocess

    code = ("import sys\nfrom detbench.detect.shards import ensure_many\n"
            f"found = ensure_many(['epoch1', 'epoch2'], {str(workload)!r}, 'val', run={RUN!r})\n"
            "assert all(r.cache_hit for r in found), found\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert p.returncode == 0, p.stderr


# ------------------------------------------------------------------ the same files either way
def test_compare_on_ray_writes_the_files_of_the_local_pool(workload, tmp_path, local_ray, capsys):
    from detbench.core import paths

    results = tmp_path / "results"
    tracks = paths.runs_root() / "compare" / "same"
    args = compare_args(workload, "same", "--trackers", "iou,bytetrack", "--results-dir", str(results))
    assert main([*args, "--jobs", "2"]) == 0
    local = snapshot(results / "same", tracks)
    shutil.rmtree(results / "same")
    shutil.rmtree(tracks)
    capsys.readouterr()
    assert main([*args, "--executor", "ray"]) == 0
    said = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("reused from earlier runs:"))
    assert "tracking result" not in said and "evaluation" not in said   # computed again, on Ray
    on_ray = snapshot(results / "same", tracks)
    assert sorted(on_ray) == sorted(local)
    assert len([n for n in local if n.endswith(".txt")]) == 2 * 2 * 6   # pairs x sequences
    for name in local:
        assert on_ray[name] == local[name], name


def test_tune_on_ray_writes_the_file_of_the_local_pool(workload, monkeypatch, capsys, local_ray):
    from detbench.core import paths

    grid = {"iou_threshold": [0.3, 0.5], "min_score": [0.3, 0.6]}   # 4 of the 81 points: the same code path
    monkeypatch.setattr("detbench.tuning.tune.tracker_grid", lambda tracker: grid)
    args = ["tune", "--tracker", "iou", "--run", RUN, "--detector", "epoch1", "--data", str(workload)]
    assert main([*args, "--jobs", "2"]) == 0
    stored = list((paths.runs_root() / "tune" / "iou").glob("*.json"))
    assert len(stored) == 1
    local = stored[0].read_bytes()
    shutil.rmtree(paths.runs_root() / "tune")
    capsys.readouterr()
    assert main([*args, "--executor", "ray"]) == 0
    assert "best for iou" in capsys.readouterr().out
    assert stored[0].read_bytes() == local
    assert len(json.loads(local)["rows"]) == 4


def test_sensitivity_on_ray_writes_the_files_of_the_local_pool(workload, tmp_path, local_ray):
    from detbench.core import paths

    results = tmp_path / "results"
    args = ["sensitivity", "--gt", str(workload / "sequences" / "val"), "--trackers", "iou", "--axes", "recall",
            "--values", "recall=1,0.7", "--seeds", "2", "--resamples", "50", "--name", "s",
            "--results-dir", str(results)]
    assert main([*args, "--jobs", "2"]) == 0
    local = snapshot(results / "sensitivity" / "s")
    shutil.rmtree(results)
    shutil.rmtree(paths.runs_root() / "sensitivity" / "cache")
    assert main([*args, "--executor", "ray"]) == 0
    on_ray = snapshot(results / "sensitivity" / "s")
    assert sorted(on_ray) == sorted(local) and len(local) >= 3
    for name in local:
        assert on_ray[name] == local[name], name
    units = json.loads((results / "sensitivity" / "s" / "sensitivity.json").read_text())["units"]
    assert units["computed"] == units["total"] > 0 and units["cached"] == 0


def test_bad_input_in_a_task_is_the_same_one_line_error_either_way(workload, capsys, local_ray):
    from detbench.data.layout import PreparedDataset

    gt = PreparedDataset(workload).gt_file("val", "scene-1000_CAM_BACK")
    gt.write_text(gt.read_text() + "41,7,abc,1,2,3,1,1,1\n")   # a row eval cannot read
    errors = {}
    for extra in (["--jobs", "1"], ["--jobs", "2"], ["--executor", "ray"]):
        capsys.readouterr()
        assert main([*compare_args(workload, "bad", "--trackers", "iou"), *extra]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "Ray" not in err
        errors[extra[-1]] = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors["ray"] == [f"error: {gt}:621: x 'abc' is not a number"]
    assert errors["ray"] == errors["1"] == errors["2"]


# ------------------------------------------------------------------ detection over tasks
def test_shards_are_runs_of_whole_batches():
    from detbench.detect.shards import shard_ranges

    assert shard_ranges(10, 4, 2) == [(0, 8), (8, 10)]            # batches 4+4 | 2
    assert shard_ranges(10, 4, 8) == [(0, 4), (4, 8), (8, 10)]    # never more shards than batches
    assert shard_ranges(9, 2, 1) == [(0, 9)]
    assert shard_ranges(0, 2, 2) == []


def test_detect_on_ray_writes_the_bytes_of_one_process(tmp_path, local_ray, capsys):
    from test_detect import make_dataset, nano_model, save_detector

    from detbench.core import paths
    from detbench.detect.shards import ensure_many
    from detbench.ray_executor import RayExecutor

    data = make_dataset(tmp_path, seqs=("scene-0001_CAM_FRONT", "scene-0002_CAM_BACK", "scene-0003_CAM_FRONT"),
                        frames=3)   # 9 images: batches of 2 -> 5 batches
    for epoch in (1, 2):
        save_detector(paths.train_dir("r1") / f"epoch_{epoch}.pth", nano_model(seed=epoch), epoch)
    args = ["detect", "--run", "r1", "--detector", "epoch1,epoch2", "--data", str(data), "--device", "cpu",
            "--batch-size", "2"]

    def caches() -> dict:
        return {str(p.relative_to(paths.detections_root())): (_stable(json.loads(p.read_text())) if p.suffix == ".json"
                                                              else p.read_bytes())
                for p in paths.detections_root().rglob("*") if p.is_file()}

    assert main(args) == 0                                       # one process
    one_process = caches()
    assert len([n for n in one_process if n.endswith(".npz")]) == 2 * 3
    shutil.rmtree(paths.detections_root())
    seen: list[TaskCounts] = []
    with RayExecutor(progress=seen.append) as ex:              # one checkpoint: a shard per CPU (5 batches: 3 + 2)
        [res] = ensure_many(["epoch1"], data, "val", run="r1", device="cpu", batch_size=2, executor=ex)
    assert not res.cache_hit and seen[-1].total == 2 and seen[-1].done == 2
    capsys.readouterr()
    assert main([*args, "--executor", "ray"]) == 0              # two checkpoints: epoch1 is there, epoch2 a task
    out = capsys.readouterr().out
    assert "cache hit" in out and "wrote" in out
    assert caches() == one_process


# ------------------------------------------------------------------ Ray's chunks
def test_chunks_follow_the_measured_work_and_shrink_at_the_end():
    """One item a task until a task is back; then TASK_SECONDS of measured work a task (0.5 s /
    0.05 s = 10 items), at most a 2 x workers-th of what is left (ceil(8 / 4) = 2 at the end)."""
    from detbench.ray_executor import TASK_SECONDS, Chunker

    assert TASK_SECONDS == 0.5
    chunker = Chunker(list(range(100)), workers=2)
    assert chunker.take() == [0]
    assert chunker.take() == [1]                   # nothing measured yet
    chunker.measured(0.05, 1)
    assert chunker.take() == list(range(2, 12))    # 0.5 / 0.05 = 10 (ceil(98 / 4) = 25 allows it)
    chunker.measured(1.0, 10)                      # 0.1 s an item over 11 items: 1.05 / 11 = 0.095
    assert len(chunker.take()) == 5                # int(0.5 / 0.0955) = 5
    sizes = []
    while (chunk := chunker.take()) is not None:
        sizes.append(len(chunk))
    assert sum(sizes) == 100 - 17
    assert sizes[-7:] == [4, 3, 2, 1, 1, 1, 1]     # 13 left: ceil(13 / 4) = 4, 9: 3, 6: 2, 4: 1, ...


def test_a_fixed_chunk_size_is_kept():
    from detbench.ray_executor import Chunker

    chunker = Chunker(list(range(7)), workers=2, size=3)
    chunker.measured(0.001, 1)
    assert [chunker.take(), chunker.take(), chunker.take(), chunker.take()] == [[0, 1, 2], [3, 4, 5], [6], None]


def test_ray_runs_many_short_items_in_fewer_tasks(local_ray):
    """Items of microseconds: after the first tasks, chunks of a 4th of what is left; every item
    counted once on the task bar, every result gathered."""
    seen: list[TaskCounts] = []
    with make_executor("ray", 2, progress=seen.append) as ex:
        assert sorted(ex.map(_square, range(200))) == [x * x for x in range(200)]
    tasks = sum(1 for a, b in zip(seen, seen[1:]) if b.done > a.done)
    assert (seen[-1].total, seen[-1].done, seen[-1].failed) == (200, 200, 0)
    assert tasks < 40
