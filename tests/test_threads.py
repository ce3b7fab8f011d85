"""detbench.threads: who decides how many threads each CPU path runs, and that results never
depend on the machine's load."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from detbench import threads


@pytest.mark.parametrize("cores, jobs, share", [(2, 1, 2), (2, 2, 1), (2, 4, 1), (3, 2, 1), (16, 2, 8),
                                                (16, 3, 5), (1, 1, 1), (8, 0, 8)])
def test_worker_threads_is_cores_over_jobs_at_least_one(cores, jobs, share):
    assert threads.worker_threads(cores, jobs) == share


def test_available_cores_follows_the_affinity_mask_not_the_machine():
    code = ("import os; os.sched_setaffinity(0, {0}); "
            "from detbench.threads import available_cores; print(available_cores())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    assert threads.available_cores() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("env, expected", [({"OMP_NUM_THREADS": "3"}, (3, "OMP_NUM_THREADS")),
                                           ({"MKL_NUM_THREADS": "2"}, (2, "MKL_NUM_THREADS")),
                                           ({"OMP_NUM_THREADS": "0", "MKL_NUM_THREADS": "4"}, (4, "MKL_NUM_THREADS")),
                                           ({"OMP_NUM_THREADS": "many"}, None)])
def test_a_thread_variable_is_the_users_setting(monkeypatch, env, expected):
    for var in threads.USER_ENV:
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    torch.set_num_threads(threads._torch_default())  # torch as it starts: not a user setting
    assert threads.user_threads() == expected


def test_torch_set_num_threads_below_the_default_is_the_users_but_detbench_own_is_not(monkeypatch):
    if threads._torch_default() < 2:
        pytest.skip("needs 2 cores: on one core 1 thread is torch's default")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "_applied", None)
    torch.set_num_threads(1)
    assert threads.user_threads() == (1, "torch.set_num_threads")
    assert threads.decide() == threads.Decision(1, "torch.set_num_threads")
    threads.set_torch_threads(1)  # detbench's own choice: not the user's
    assert threads.user_threads() is None
    assert threads.decide() == threads.Decision(threads.available_cores(), threads.BIG_OPS)
    with threads.restored():
        threads.set_torch_threads(2)
    assert torch.get_num_threads() == 1 and threads._applied == 1


def test_an_explicit_threads_argument_wins_over_the_environment():
    assert threads.decide(3).describe() == "threads: 3 (--threads)"  # conftest sets OMP_NUM_THREADS=1
    assert threads.decide(small_ops=True).describe() == "threads: 1 (OMP_NUM_THREADS)"


def test_defaults_one_thread_for_small_ops_one_per_core_for_big_ones_whatever_the_load(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(threads, "user_threads", lambda: None)
    assert threads.decide(small_ops=True) == threads.Decision(1, threads.SMALL_OPS)
    assert threads.decide() == threads.Decision(threads.available_cores(), threads.BIG_OPS)
    assert threads.decide(2, small_ops=True).record() == {"count": 2, "source": "--threads"}
    monkeypatch.setattr(threads, "_worker", (3, False))  # a pool worker's share caps one per core
    assert threads.decide() == threads.Decision(3, "the pool worker's share")
    before = torch.get_num_threads()
    with threads.using(threads.Decision(2, "x")):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before


def test_pool_worker_sets_every_threaded_library_to_its_share(monkeypatch):
    code = ("import os; from detbench import threads; threads.init_worker(1); import torch, cv2; "
            "threads.set_torch_threads(threads.decide(small_ops=True).count); "
            "print(torch.get_num_threads(), torch.get_num_interop_threads(), cv2.getNumThreads(), "
            "threads.user_threads(), threads.limit(), os.environ['OPENBLAS_NUM_THREADS'])")
    monkeypatch.delenv("OMP_NUM_THREADS")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # not the user's setting: the worker's paths use up to its share (1)
    assert out == ["1", "1", "1", "None", "1", "1"]


def test_pool_threads_user_setting_wins(monkeypatch):
    assert threads.pool_threads(2) == (1, True)  # OMP_NUM_THREADS=1 from conftest
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.pool_threads(2) == (2, True)
    assert threads.pool_threads(2, threads=3) == (3, True)
    monkeypatch.delenv("OMP_NUM_THREADS")
    torch.set_num_threads(threads._torch_default())
    assert threads.pool_threads(2) == (threads.worker_threads(threads.available_cores(), 2), False)


def _dense_scene(objects: int, frames: int):
    from detbench.data.noisy import noisy_detections

    rng = np.random.default_rng(0)
    rows = []
    for tid in range(1, objects + 1):
        w = rng.uniform(30, 300)
        x, y, vx, vy = rng.uniform(0, 1300), rng.uniform(0, 600), rng.uniform(-25, 25), rng.uniform(-8, 8)
        rows += [[f, tid, x + vx * f, y + vy * f, w, 0.8 * w, 1, 1, 1] for f in range(1, frames + 1)]
    return noisy_detections(np.array(rows), frames, 1600, 900, seed=0, fp_rate=3.0)


def test_trackssm_tracking_gives_the_same_tracks_on_any_thread_count():
    """Why tracking may run any count (the user's, or 1): the tracks are bit-identical on 1 and 2
    threads and with the count changing every frame, at the paper's size, 30 objects a frame."""
    from trackers import make_tracker
    from trackers.base import Frame

    dets = _dense_scene(30, 3)
    tracks = {}
    for mode in ("1", "2", "alternating"):
        trk = make_tracker("trackssm", {"weights": "random"}, frame_rate=2.0)
        out = []
        for i, d in enumerate(dets):
            torch.set_num_threads(int(mode) if mode != "alternating" else 1 + i % 2)
            out.append(np.asarray(trk.update(d, Frame(index=i, timestamp=i / 2, frame_rate=2.0, width=1600,
                                                       height=900)), dtype=np.float64))
        tracks[mode] = out
    assert all(len(t) > 10 for t in tracks["1"][1:])  # many tracks through the model, not an empty run
    for mode in ("2", "alternating"):
        assert all(np.array_equal(a, b) for a, b in zip(tracks["1"], tracks[mode])), mode


def test_sensitivity_pool_workers_run_their_share(monkeypatch, tmp_path, real_fixture, trained_motion):
    """Each --jobs 2 worker reports the thread counts it ran with: none above its share."""
    from detbench.sensitivity import axes as ax
    from detbench.sensitivity.run import load_split, run_units

    monkeypatch.delenv("OMP_NUM_THREADS")  # the policy, not a user setting
    split = load_split(real_fixture / "sequences", image_roots=(real_fixture,))
    spec = ax.PERFECT
    units = [("perfect", spec, 0, "botsort"), ("perfect", spec, 0, "trackssm")]
    options = {"botsort": {}, "trackssm": {"weights": str(trained_motion[0])}}
    results, stats = run_units(split, units, options, {}, tmp_path / "cache", jobs=2)
    assert stats["computed"] == 2 and not stats["failed"]
    share = threads.worker_threads(threads.available_cores(), 2)
    for (_, _, trk), r in results.items():
        ran = r["threads"]
        assert "torch" in ran and ("cv2" in ran or trk != "botsort"), ran
        assert max(ran.values()) <= share, (trk, ran, share)


def _toy_motion_data(root):
    from test_trackssm_data import _row, _write_seq

    for split in ("train", "val"):
        rows = [_row(f, t, 100 + 20 * f * t, 300, 80, 60) for t in (1, 2) for f in range(1, 9)]
        _write_seq(root / "sequences" / split, f"scene-{split}_CAM_FRONT", rows)
    return root


@pytest.mark.parametrize("flag, env, first", [
    (["--threads", "2"], "1", "threads: 2 (--threads)"),
    ([], "1", "threads: 1 (OMP_NUM_THREADS)"),
    ([], None, f"threads: 1 ({threads.SMALL_OPS})")])
def test_train_motion_says_its_threads_first_and_in_meta_json(tmp_path, monkeypatch, capsys, flag, env, first):
    from detbench.cli import main

    if env is None:
        monkeypatch.delenv("OMP_NUM_THREADS")
        monkeypatch.setattr(threads, "user_threads", lambda: None)  # torch as it starts: no user setting
    data = _toy_motion_data(tmp_path / "toy")
    before = torch.get_num_threads()
    assert main(["train-motion", "--data", str(data), "--steps", "3", "--d-model", "8", "--layers", "1",
                 "--name", "m", *flag]) == 0
    assert capsys.readouterr().out.splitlines()[0] == first
    meta = json.loads((tmp_path / "runs" / "motion" / "m" / "meta.json").read_text())
    count, source = first[len("threads: "):].split(" ", 1)
    assert meta["threads"] == {"count": int(count), "source": source[1:-1]}
    assert meta["metrics"]["threads"] == int(count)
    assert torch.get_num_threads() == before  # the caller's setting is back


def test_train_motion_default_reproduces_bit_exactly_beside_a_busy_process(tmp_path, monkeypatch):
    """The default count is decided from the settings only: a run beside a busy process (which
    made the adaptive count of an earlier design drop to 1 thread) trains the same weights."""
    from detbench.motion.settings import MotionModel, MotionRecipe
    from detbench.motion.train import train_motion

    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(threads, "user_threads", lambda: None)
    data = _toy_motion_data(tmp_path / "toy")
    weights = []
    for busy in (False, True):
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            r = train_motion(data, MotionRecipe(steps=4), MotionModel(d_model=8, layers=1), name=f"m{busy}")
        finally:
            if spinner:
                spinner.kill()
                spinner.wait()
        weights.append(torch.load(r.out_dir / "model.pth", weights_only=True))
        assert r.metrics["threads"] == 1
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_train_says_its_threads_first_and_in_run_json(tmp_path):
    from test_train_data import make_dataset

    from detbench.train.trainer import train

    said = []
    run = train(make_dataset(tmp_path / "ds", 8), name="t", recipe="demo", epochs=3, batch_size=4,
                input_size="64,96", num_workers=0, tensorboard=False, echo=said.append, threads=1)
    assert said[0] == "threads: 1 (--threads)"
    assert json.loads((run / "run.json").read_text())["threads"] == {"count": 1, "source": "--threads"}


def test_a_hanging_test_fails_with_the_stacks_instead_of_hanging(tmp_path):
    """conftest's timeout: a test stuck waiting on a worker that never answers fails."""
    test = tmp_path / "test_stuck.py"
    test.write_text("import multiprocessing as mp\n\nimport torch  # noqa: F401 - loaded while collecting, not timed\n\n"
                    "def test_waits_on_a_worker_that_never_answers():\n"
                    "    mp.get_context('fork').Queue().get()\n")
    (tmp_path / "conftest.py").write_text((Path(__file__).parent / "conftest.py").read_text())
    env = {**os.environ, "DETBENCH_TEST_TIMEOUT_S": "5", "PYTHONPATH": str(Path(__file__).parent.parent)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stdout[-2000:]
    assert "TestTimedOut" in done.stdout and "ran over 5 s" in done.stdout
    assert "1 failed" in done.stdout
