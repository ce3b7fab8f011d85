"""Progress away from a terminal (a CI log, ``nohup ... > log``): rich draws nothing there until a
stage ends, so every bar becomes plain lines: at the start, per tenth of the work or per training
epoch, at least once a minute while it moves, and at the end."""
from __future__ import annotations

import pytest

from detbench.commands import progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def lines_of(calls, **kwargs):
    """What :func:`progress.line_progress` prints for ``calls`` (``(seconds, args)`` in order)."""
    said, clock = [], Clock()
    with progress.line_progress(echo=said.append, clock=clock, **kwargs) as update:
        for at, args in calls:
            clock.now = at
            update(*args)
    return said


def test_a_line_at_start_per_tenth_and_at_the_end():
    # 100 items, one every 10 s: a line at 0, at each tenth (every 10 items, 100 s apart) and at 100
    said = lines_of([(10.0 * i, (i, 100, "prepare")) for i in range(101)], every_s=1e9)
    assert said == [f"prepare {i}/100  [{10 * i} s]" for i in range(0, 101, 10)]


def test_tenths_of_a_quick_stage_are_not_all_printed():
    # 30 items in 3 s: the start and the end only (tenths closer than QUIET_S to the last line are skipped)
    said = lines_of([(0.1 * i, (i, 30)) for i in range(31)])
    assert said == ["0/30  [0 s]", "30/30  [3 s]"]
    assert progress.QUIET_S > 3


def test_a_line_at_least_every_minute_while_the_work_moves():
    # 1,000 steps of 1 s: tenths every 100 s, and a line 60 s after each line in between
    said = lines_of([(float(i), (i, 1000)) for i in range(1001)], every_s=60.0)
    steps = [int(s.split("/")[0]) for s in said]
    assert steps[:6] == [0, 60, 100, 160, 200, 260] and steps[-1] == 1000
    # nothing new while a step takes longer than a minute: no line repeats a count
    stuck = lines_of([(0.0, (0, 10)), (100.0, (0, 10)), (200.0, (0, 10)), (201.0, (10, 10))], every_s=60.0)
    assert stuck == ["0/10  [0 s]", "10/10  [201 s]"]


def test_per_description_prints_each_epoch_and_nothing_after_the_end():
    calls = [(0.0, (0, 6, ""))] + [(float(s), (s, 6, f"epoch {(s - 1) // 2 + 1}/3")) for s in range(1, 7)]
    calls.append((7.0, (6, 6, "epoch 3/3")))
    said = lines_of(calls, per_description=True, every_s=1e9)
    assert said == ["0/6  [0 s]", "epoch 1/3 1/6  [1 s]", "epoch 2/3 3/6  [3 s]", "epoch 3/3 5/6  [5 s]",
                    "epoch 3/3 6/6  [6 s]"]


def test_command_bars_print_lines_when_not_at_a_terminal(capsys):
    """Under pytest stdout is not a terminal: the bars of train, train-motion, detect and the
    counting bars print lines to stdout (today's rich bars printed nothing until they ended)."""
    assert not progress.at_terminal()
    with progress.train_bar() as bar:
        bar(0, 4, "", "")
        for step in range(1, 5):
            bar(step, 4, f"epoch {(step - 1) // 2 + 1}/2", f"loss {1.0 / step:.3f}")
    with progress.motion_bar() as bar:
        bar(0, 400, float("nan"), 0.0)
        bar(400, 400, 0.5, 1e-4)
    with progress.detect_bar() as bar:
        bar(0, 12, "", None)
        bar(12, 12, "scene-0001_CAM_FRONT", 3.0)
    with progress.lazy_bar() as bar:
        bar(0, 2, "tune")
        bar(2, 2, "tune")
    out = [ln.rsplit("  [", 1)[0] for ln in capsys.readouterr().out.splitlines()]
    assert out == ["train start: step 0/4", "train epoch 1/2: step 1/4 loss 1.000", "train epoch 2/2: step 3/4 loss 0.333",
                   "train epoch 2/2: step 4/4 loss 0.250",
                   "train-motion: step 0/400 loss nan lr 0.0e+00", "train-motion: step 400/400 loss 0.5000 lr 1.0e-04",
                   "detect: 0/12 images, - img/s", "detect scene-0001_CAM_FRONT: 12/12 images, 3.0 img/s",
                   "tune 0/2", "tune 2/2"]


@pytest.mark.parametrize("argv", [["synth", "{tmp}/s", "--scenes", "1", "--keyframes", "2", "--cameras", "CAM_FRONT"]])
def test_synth_prints_progress_lines_in_a_log(tmp_path, capsys, argv):
    from detbench.cli import main

    assert main([a.format(tmp=tmp_path) for a in argv]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("synth: 0/2 images") and out[1].startswith("synth: 2/2 images")
    assert out[2].startswith("wrote ")
