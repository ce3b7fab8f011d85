"""Shared test set-up: seeded, single-threaded torch, artifacts under a temporary runs root."""
from __future__ import annotations

import faulthandler
import os
import random
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

import detbench  # noqa: F401 - its warning filter (YOLOX autocast FutureWarning) before anything imports yolox
from detbench.teardown import quiet_teardown

# This process, like the `detbench` command, ends without triton's nanobind "leaked ..." report
# (the README commands that tests/test_readme.py runs in-process leave 4 triton IR attributes to it):
# detbench/teardown.py. Nothing is disabled; it only points stderr at /dev/null after the last atexit.
quiet_teardown()

# Real nuScenes ground truth and images (scene-0103, CC BY-NC-SA 4.0: see its README.md), kept
# inside the repository so every test runs in any clone.
REAL_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "nuscenes-mini-real"


# A test that runs longer than this fails instead of hanging the suite (a forked worker stuck on
# a lock that its parent's thread pool held at the fork is the usual cause). Generous: the slowest
# tests take ~1 minute on 2 busy cores. DETBENCH_TEST_TIMEOUT_S changes it (0: off).
TEST_TIMEOUT_S = float(os.environ.get("DETBENCH_TEST_TIMEOUT_S", "600"))


class TestTimedOut(Exception):
    pass


@pytest.fixture(autouse=True)
def _fail_instead_of_hanging(request):
    """SIGALRM after TEST_TIMEOUT_S raises in the test (after printing every thread's stack); if
    the main thread is stuck where Python cannot raise (inside C code), faulthandler prints the
    stacks 60 s later and ends pytest with exit status 1: the suite fails, never hangs."""
    if not TEST_TIMEOUT_S or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        faulthandler.dump_traceback(all_threads=True)
        raise TestTimedOut(f"{request.node.nodeid} ran over {TEST_TIMEOUT_S:.0f} s (DETBENCH_TEST_TIMEOUT_S): "
                           "a hang? every thread's stack is above")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIMEOUT_S)
    faulthandler.dump_traceback_later(TEST_TIMEOUT_S + 60, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def _seed_and_isolate(tmp_path, monkeypatch):
    random.seed(0)
    np.random.seed(0)
    monkeypatch.setenv("DETBENCH_RUNS", str(tmp_path / "runs"))
    yield


@pytest.fixture(autouse=True)
def _one_torch_thread(monkeypatch):
    """Tiny models run fastest (and reproducibly) on one thread; two OpenMP threads on two busy
    cores were measured 50x slower. OMP_NUM_THREADS says so to detbench.threads (the user's
    setting wins over its adaptive count) and to every subprocess and pool worker. MKL_NUM_THREADS,
    the other variable detbench reads as the user's, is cleared: the suite's setting is
    OMP_NUM_THREADS alone, whatever the shell running the tests exports."""
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def real_fixture() -> Path:
    assert REAL_FIXTURE.is_dir(), f"real fixture missing at {REAL_FIXTURE}"
    return REAL_FIXTURE


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """A small synthetic nuScenes-format dataset (2 scenes x 6 keyframes, CAM_FRONT), built once."""
    from detbench.data.synthetic import write_dataset

    out = tmp_path_factory.mktemp("synth")
    write_dataset(out, scenes=2, keyframes=6, cameras=("CAM_FRONT",), seed=0)
    return out


# Ground-truth tracks of 6 synthetic sequences (no images): the "detbench synth --scenes 24
# --keyframes 40 --cameras CAM_FRONT" dataset (then synth's default), prepared; see
# fixtures/synth-tracks/README.md.
SYNTH_TRACKS = Path(__file__).resolve().parent / "fixtures" / "synth-tracks"
SMALL_MOTION = dict(d_model=32, n_enc_layers=2, n_dec_blocks=3, d_state=4, dt_rank=4, ffn_dim=64)
SMALL_MOTION_STEPS = 300


@pytest.fixture(scope="session")
def trained_motion(tmp_path_factory):
    """A small TrackSSM trained once per session (seeded, one thread, ~10 s CPU) on the synthetic
    tracks' train split, saved as a motion-model dir -> (dir, held-out metrics on their val split).
    Tests that need *trained* weights (the tracker contract, the learning test) use it."""
    import torch

    from detbench.motion.weights import save_model
    from detbench.motion.windows import dataset_windows, split_sequences
    from trackers.trackssm.model import ModelConfig, build_model
    from trackers.trackssm.train import TrainConfig, evaluate, train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        wins = dataset_windows(split_sequences(SYNTH_TRACKS, "train"), 5, 2.0)
        val = dataset_windows(split_sequences(SYNTH_TRACKS, "val"), 5, 2.0)
        model = build_model(ModelConfig(**SMALL_MOTION), seed=0)
        train(model, wins, TrainConfig(steps=SMALL_MOTION_STEPS, lr=3e-3, seed=0))
        metrics = evaluate(model, val)
    finally:
        torch.set_num_threads(threads)
    out = tmp_path_factory.mktemp("motion") / "small"
    save_model(out, model, {"frame_rate": 2.0, "metrics": {"val": metrics}})
    return out, metrics


@pytest.fixture(scope="session")
def local_ray():
    """A local Ray instance of 2 CPUs, started once for the session (a start takes seconds): every
    ``--executor ray`` of the tests attaches to it. Its workers find the tests' own modules (a
    tracker a test registers) on their path."""
    from detbench.ray_executor import import_ray, start_ray

    ray = import_ray()   # not a bare `import ray`: Ray reads its settings (no `uv run` workers) when imported

    tests = str(Path(__file__).resolve().parent)
    started = start_ray(cpus=2, env={"PYTHONPATH": os.pathsep.join(p for p in (tests, os.environ.get("PYTHONPATH")) if p)})
    yield ray
    if started:
        ray.shutdown()
