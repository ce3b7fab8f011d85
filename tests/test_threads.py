"""detbench.threads and detbench.thread_tuner: who decides how many threads each CPU path runs."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from detbench import threads
from detbench.thread_tuner import CoreMeter, ThreadTuner, candidates, free_cores


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
    assert threads.tuner().is_fixed
    threads.set_torch_threads(1)  # detbench's own choice: adaptive paths may change it
    assert threads.user_threads() is None
    assert not threads.tuner().is_fixed
    with threads.restored():
        threads.set_torch_threads(2)
    assert torch.get_num_threads() == 1 and threads._applied == 1


def test_an_explicit_threads_argument_wins_over_the_environment():
    t = threads.tuner(3)  # conftest sets OMP_NUM_THREADS=1
    assert t.is_fixed and t.describe() == "threads: 3 (--threads)"
    assert threads.tuner().describe() == "threads: 1 (OMP_NUM_THREADS)"


def _stat(rows: dict[int, list[int]]) -> str:
    total = [sum(col) for col in zip(*rows.values())]
    return "\n".join([f"cpu  {' '.join(map(str, total))} 0 0"]
                     + [f"cpu{c} {' '.join(map(str, v))} 0 0" for c, v in rows.items()] + ["intr 1 2 3"])


def test_core_meter_counts_other_processes_busy_time_on_our_cpus_only(tmp_path):
    #            user nice system idle iowait irq softirq steal
    first = {0: [100, 0, 50, 900, 10, 0, 0, 0], 1: [200, 5, 20, 800, 0, 1, 1, 0], 2: [0, 0, 0, 1000, 0, 0, 0, 0]}
    # 2 s later (USER_HZ 100): cpu0 +150 busy jiffies (and +20 iowait, which is idle time),
    # cpu1 +170 busy (user, system, irq, softirq, steal), cpu2 (not ours) +200 busy
    second = {0: [220, 0, 80, 950, 30, 0, 0, 0], 1: [300, 5, 70, 830, 0, 6, 6, 10],
              2: [200, 0, 0, 1000, 0, 0, 0, 0]}
    stat = tmp_path / "stat"
    stat.write_text(_stat(first))
    clock, own = iter([10.0, 12.0]), iter([5.0, 6.2])
    meter = CoreMeter(str(stat), cpus={0, 1}, clock=lambda: next(clock), own=lambda: next(own))
    meter.tick = 100
    stat.write_text(_stat(second))
    # busy 1.5 + 1.7 = 3.2 core-seconds on cpus 0-1, of which 1.2 ours: 2.0 / 2 s = 1.0 core
    assert meter.others() == pytest.approx(1.0)
    assert meter.cores == 2
    assert CoreMeter(str(tmp_path / "missing")).others() is None


@pytest.mark.parametrize("cores, others, limit, free", [(2, 0.0, 2, 2), (2, 0.2, 2, 2), (2, 0.3, 2, 1),
                                                        (2, 0.67, 2, 1), (2, 1.0, 2, 1), (2, 7.5, 2, 1),
                                                        (16, 3.0, 8, 8), (16, 10.0, 8, 6), (2, None, 2, 2)])
def test_free_cores(cores, others, limit, free):
    assert free_cores(cores, others, limit) == free


@pytest.mark.parametrize("cap, expected", [(1, [1]), (2, [1, 2]), (3, [1, 2, 3]), (6, [1, 2, 4, 6]),
                                           (8, [1, 2, 4, 8])])
def test_candidates(cap, expected):
    assert candidates(cap) == expected


class FakeMeter:
    cores = 2

    def __init__(self, others):
        self.load = others

    def others(self):
        return self.load


def run_tuner(step_seconds: dict[int, float], meter: FakeMeter, steps: int, limit: int = 2, trial_steps: int = 4,
              load_at: dict[int, float] | None = None) -> tuple[ThreadTuner, list[int]]:
    """A tuner driven by a fake clock: a step at n threads takes step_seconds[n]; returns it and
    the thread count of every step."""
    now = [0.0]
    tuner = ThreadTuner(limit, trial_steps=trial_steps, interval_s=1.0, retrial_s=60.0, meter=meter,
                        clock=lambda: now[0], set_threads=lambda n: None)
    tuner.start()
    seen = []
    for i in range(steps):
        if load_at and i in load_at:
            meter.load = load_at[i]
        seen.append(tuner.threads)
        now[0] += step_seconds[tuner.threads]
        tuner.step()
    return tuner, seen


def test_tuner_on_free_cores_times_each_count_and_keeps_the_fastest():
    tuner, seen = run_tuner({1: 0.3, 2: 0.2}, FakeMeter(0.0), 60)
    # 1 thread until the first look (after 1 s = 4 steps), then a trial: 1 thread for 4 timed
    # steps, 2 threads for 1 untimed (the switch) + 4 timed, then the faster: 2
    assert seen[:4] == [1] * 4 and seen[4:8] == [1] * 4 and seen[8:13] == [2] * 5 and set(seen[13:]) == {2}
    assert tuner.summary()["steps_at"] == {"1": 8, "2": 52} and tuner.summary()["most_steps_at"] == 2


def test_tuner_keeps_one_thread_when_it_measures_faster():
    _, seen = run_tuner({1: 0.2, 2: 0.25}, FakeMeter(0.0), 60)
    assert 2 in seen[:15] and set(seen[15:]) == {1}  # tried, then dropped


def test_tuner_beside_a_busy_process_runs_one_thread_without_trying_two():
    tuner, seen = run_tuner({1: 0.3, 2: 1.2}, FakeMeter(1.0), 60)
    assert set(seen) == {1} and tuner.summary()["steps_at"] == {"1": 60}


def test_tuner_drops_to_one_thread_when_a_busy_process_starts_and_comes_back_after_it_stops():
    _, seen = run_tuner({1: 0.3, 2: 0.2}, FakeMeter(0.0), 120, load_at={40: 1.0, 80: 0.0})
    assert seen[30:40] == [2] * 10
    assert 2 not in seen[46:80]  # within a second of the load's start
    assert seen[-10:] == [2] * 10  # re-trialled once free, 2 still faster


def test_tuner_without_trials_runs_one_thread_per_free_core():
    _, seen = run_tuner({1: 0.3, 2: 0.2}, FakeMeter(0.0), 20, trial_steps=0)
    assert seen[:4] == [1] * 4 and set(seen[5:]) == {2}


def test_tuner_made_before_the_data_is_read_starts_at_the_free_cores():
    now = [0.0]
    make = lambda load: ThreadTuner(2, trial_steps=0, meter=FakeMeter(load), clock=lambda: now[0],  # noqa: E731
                                    set_threads=lambda n: None)
    early, busy = make(0.0), make(1.0)
    now[0] = 0.5  # the data took 0.5 s to read
    early.start(), busy.start()
    assert (early.threads, busy.threads) == (2, 1)
    late = make(0.0)
    now[0] = 0.6
    late.start()  # made 0.1 s ago (too short a reading): 1 thread until its first look
    assert late.threads == 1


def test_fixed_tuner_never_changes():
    set_to = []
    tuner = ThreadTuner.fixed(3, "OMP_NUM_THREADS", set_threads=set_to.append)
    for _ in range(10):
        tuner.step()
    assert set_to == [3] and tuner.summary() == {"mode": "fixed", "source": "OMP_NUM_THREADS", "limit": 3,
                                                 "steps_at": {"3": 9}, "most_steps_at": 3}


def test_pool_worker_sets_every_threaded_library_to_its_share(monkeypatch):
    code = ("import os; from detbench import threads; threads.init_worker(1); import torch, cv2; "
            "threads.tracking_tuner().start(); "
            "print(torch.get_num_threads(), torch.get_num_interop_threads(), cv2.getNumThreads(), "
            "threads.user_threads(), threads.limit(), os.environ['OPENBLAS_NUM_THREADS'])")
    monkeypatch.delenv("OMP_NUM_THREADS")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # not the user's setting: adaptive paths in the worker may use up to its share (1)
    assert out == ["1", "1", "1", "None", "1", "1"]


def test_pool_threads_user_setting_wins(monkeypatch):
    assert threads.pool_threads(2) == (1, True)  # OMP_NUM_THREADS=1 from conftest
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.pool_threads(2) == (2, True)
    assert threads.pool_threads(2, threads=3) == (3, True)
    monkeypatch.delenv("OMP_NUM_THREADS")
    torch.set_num_threads(threads._torch_default())
    assert threads.pool_threads(2) == (threads.worker_threads(threads.available_cores(), 2), False)


def test_trackssm_and_yolox_forwards_are_bit_identical_on_any_thread_count():
    """Why tracking and detection may change their thread count as they run: same outputs."""
    from detbench.train.models import build_model as build_yolox
    from trackers.trackssm.model import ModelConfig, build_model

    ssm = build_model(ModelConfig(d_model=64, n_enc_layers=2, n_dec_blocks=2), seed=0).eval()
    torch.manual_seed(0)
    yolox = build_yolox("yolox-nano", 7).eval()
    gen = torch.Generator().manual_seed(0)
    hist, mask = torch.rand(30, 5, 8, generator=gen), torch.ones(30, 5, dtype=torch.bool)
    mask[:10, :2] = False
    image = torch.rand(1, 3, 64, 96, generator=gen)
    outs = []
    for n in (1, 2):
        torch.set_num_threads(n)
        with torch.inference_mode():
            outs.append((ssm(hist, mask), yolox(image)))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])


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


@pytest.mark.parametrize("flag, env, first, mode", [
    (["--threads", "1"], "1", "threads: 1 (--threads)", "fixed"),
    ([], "1", "threads: 1 (OMP_NUM_THREADS)", "fixed"),
    ([], None, "threads: 1-", "adaptive")])
def test_train_motion_says_its_threads_first_and_in_meta_json(tmp_path, monkeypatch, capsys, flag, env, first, mode):
    from detbench.cli import main

    if env is None:
        if threads.available_cores() < 2:
            pytest.skip("one core: nothing to adapt")
        monkeypatch.delenv("OMP_NUM_THREADS")
        torch.set_num_threads(threads._torch_default())  # as torch starts: not a user setting
    data = _toy_motion_data(tmp_path / "toy")
    before = torch.get_num_threads()
    assert main(["train-motion", "--data", str(data), "--steps", "3", "--d-model", "8", "--layers", "1",
                 "--name", "m", *flag]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith(first)
    meta = json.loads((tmp_path / "runs" / "motion" / "m" / "meta.json").read_text())
    assert meta["threads"]["mode"] == mode and sum(meta["threads"]["steps_at"].values()) == 3
    assert meta["metrics"]["threads"] == meta["threads"]["most_steps_at"]
    assert torch.get_num_threads() == before  # the caller's setting is back


def test_train_says_its_threads_first_and_in_run_json(tmp_path):
    from test_train_data import make_dataset

    from detbench.train.trainer import train

    said = []
    run = train(make_dataset(tmp_path / "ds", 8), name="t", recipe="demo", epochs=3, batch_size=4,
                input_size="64,96", num_workers=0, tensorboard=False, echo=said.append, threads=1)
    assert said[0] == "threads: 1 (--threads)"
    assert json.loads((run / "run.json").read_text())["threads"] == {"mode": "fixed", "source": "--threads",
                                                                      "limit": 1}
