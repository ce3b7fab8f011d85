"""Faults on Ray: a worker killed in the middle of a `compare` (the task runs again, the results
equal an undisturbed run, nothing partial is left), a re-run after a crashed driver (only what is
missing is recomputed), a task that raises is not retried."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from detbench.cli import main
from detbench.core.errors import InputError
from trackers.iou import IouTracker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from scale_workload import RUN, build_workload  # noqa: E402


def _marker() -> Path:
    from detbench.core import paths

    return paths.runs_root() / "killed-worker.pid"


class KillOnceTracker(IouTracker):
    """The IoU tracker, except that the first process to reach frame 5 of any sequence writes its
    pid to the marker file and SIGKILLs itself (a worker dying mid-task); every later run tracks."""

    def update(self, dets, frame):
        if frame.index == 4:
            try:
                fd = os.open(_marker(), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return super().update(dets, frame)


def _attempts(path: str, x):
    with open(path, "a") as f:
        f.write(f"{x}\n")
    raise InputError(f"item {x}: bad input")


@pytest.fixture
def killer(tmp_path, monkeypatch):
    import trackers

    monkeypatch.setitem(trackers.TRACKERS, "killonce", "test_ray_faults:KillOnceTracker")
    return build_workload(tmp_path / "data", scenes=1)


def _outputs(results: Path, tracks: Path) -> dict:
    """The comparison's files and every pair's tracks (not what a crashed writer left in a dot-folder)."""
    out = {str(p.relative_to(results)): p.read_bytes() for p in results.rglob("*") if p.is_file()}
    out.update({str(p.relative_to(tracks)): p.read_bytes() for p in tracks.rglob("*.txt")
                if not any(part.startswith(".") for part in p.relative_to(tracks).parts)})
    return out


def _no_partial_entries(root: Path) -> None:
    """No unfinished dot-folder anywhere, and every tracking result complete (its keyed check)."""
    from detbench.tracking.run import _artifact

    assert [p for p in root.rglob(".*") if p.name not in (".locks", ".image-index") and
            not p.parent.name.startswith(".")] == []
    for meta in root.rglob("meta.json"):
        record = json.loads(meta.read_text())
        if "inputs_hash" in record:
            assert _artifact(meta.parent, record["inputs_hash"]).problems() == [], meta


def test_a_killed_worker_leaves_the_results_of_an_undisturbed_run(killer, tmp_path, local_ray, capsys):
    from detbench.core import paths

    results, tracks = tmp_path / "results", paths.runs_root() / "compare" / "k" / "tracks"
    args = ["compare", "--run", RUN, "--detectors", "epoch1,epoch2", "--trackers", "killonce", "--data", str(killer),
            "--no-tuned", "--name", "k", "--resamples", "50", "--results-dir", str(results), "--executor", "ray"]
    assert main(args) == 0
    killed = int(_marker().read_text())
    assert killed != os.getpid()
    with pytest.raises(ProcessLookupError):   # that worker is gone; Ray ran its task again elsewhere
        os.kill(killed, 0)
    _no_partial_entries(paths.runs_root())
    disturbed = _outputs(results / "k", tracks)
    assert len([n for n in disturbed if n.endswith(".txt")]) == 2 * 6

    shutil.rmtree(results)                     # an undisturbed run: the marker is there, nobody dies
    shutil.rmtree(paths.runs_root() / "compare")
    assert main(args) == 0
    assert _outputs(results / "k", tracks) == disturbed

    # a driver killed while writing the second pair: its tracks never got their name, a dot-folder remains
    shutil.rmtree(tracks / "epoch2" / "killonce")
    (tracks / "epoch2" / ".killonce.tmp-crashed").mkdir()
    (tracks / "epoch2" / ".killonce.tmp-crashed" / "scene-1000_CAM_BACK.txt").write_text("1,1,0,0,5,5,1,1,1\n")
    capsys.readouterr()
    assert main(args) == 0
    assert ("reused from earlier runs: 2 detection caches, 1 tracking result, 1 evaluation"   # only epoch2 recomputed
            in capsys.readouterr().out.splitlines())
    assert _outputs(results / "k", tracks) == disturbed


def test_a_task_that_raises_is_not_retried(tmp_path, local_ray):
    from detbench.executor_choice import make_executor

    log = tmp_path / "attempts.txt"
    with make_executor("ray") as ex, pytest.raises(InputError, match="^item 1: bad input$"):
        list(ex.map(lambda x: _attempts(str(log), x), [1]))
    assert log.read_text() == "1\n"
