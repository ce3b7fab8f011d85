"""Progress bars for the commands, drawn from a stage's ``progress`` callback.

The convention everywhere: a library function takes ``progress=None`` or a callable it calls as
work gets done, and never draws anything itself; the command decides how to show it.

At a terminal a bar is rich's; anywhere else (a CI log, ``nohup ... > log``) rich draws nothing
until the end, so a bar becomes plain lines instead (:func:`line_progress`): one when the work
starts, one at each tenth of it (at most one per :data:`QUIET_S` seconds) or each training epoch,
one at least every :data:`EVERY_S` seconds while it moves, and one when it ends.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable

EVERY_S = 60.0   # a non-terminal log hears from a long stage at least once a minute
QUIET_S = 5.0    # ... and not at every tenth of a stage that takes seconds


def at_terminal() -> bool:
    """Whether rich's console (stdout) is an interactive terminal (rich honours FORCE_TERMINAL / TTY_INTERACTIVE)."""
    from rich import get_console

    return get_console().is_terminal


def _plain(completed: int, total: int, description: str = "", **_fields) -> str:
    return f"{description} {completed}/{total}".strip()


@contextmanager
def line_progress(line: Callable[..., str] = _plain, every_s: float = EVERY_S, per_description: bool = False,
                  quiet_s: float = QUIET_S, clock=time.monotonic, echo=None):
    """Yields ``update(completed, total, description="", **fields)`` printing ``line(completed,
    total, description, **fields)`` and the seconds since the first call: at the first call, at
    every tenth of ``total`` crossed ``quiet_s`` seconds or more after the last line
    (``per_description``: instead, whenever the description changes, e.g. each training epoch),
    at least every ``every_s`` seconds while ``completed`` moves, and when it reaches ``total``
    (then no more)."""
    import click

    echo = echo or click.echo
    state: dict = {}

    def update(completed: int, total: int, description: str = "", **fields) -> None:
        if state.get("done"):
            return
        now = clock()
        mark = description if per_description else ((10 * completed // total) if total else 10)
        if not state:
            state.update(start=now, last=now, mark=None, completed=None)
        since = now - state["last"]
        due = (state["completed"] is None or completed >= total
               or (mark != state["mark"] and (per_description or since >= quiet_s))
               or (since >= every_s and completed != state["completed"]))
        if due:
            echo(f"{line(completed, total, description, **fields)}  [{now - state['start']:.0f} s]")
            state.update(last=now, completed=completed)
        state["mark"] = mark
        state["done"] = completed >= total

    yield update


@contextmanager
def lazy_bar(*columns, transient: bool = False, line: Callable[..., str] = _plain, per_description: bool = False):
    """Yields ``update(completed, total, description="", **fields)`` for one rich task. The bar
    starts at the first call (a stage that never reports, e.g. on a cache hit, draws nothing) and
    stops when ``completed`` reaches ``total`` (so what the stage says after its work prints below
    the finished bar) or when the block exits; ``columns``: rich columns (none: rich's default).
    Not at a terminal: :func:`line_progress` (``line``, ``per_description``) instead."""
    if not at_terminal():
        with line_progress(line, per_description=per_description) as update:
            yield update
        return
    from rich.progress import Progress

    state: dict = {}

    def update(completed: int, total: int, description: str = "", **fields) -> None:
        if state.get("stopped"):
            return
        if not state:
            state["bar"] = Progress(*columns, transient=transient)
            state["bar"].start()
            state["task"] = state["bar"].add_task(description, total=total, completed=completed, **fields)
        else:
            state["bar"].update(state["task"], completed=completed, total=total, description=description,
                                **fields)
        if completed >= total:
            stop()

    def stop() -> None:
        if state and not state.get("stopped"):
            state["bar"].stop()
            state["stopped"] = True

    try:
        yield update
    finally:
        stop()


@contextmanager
def train_bar():
    """Yields a ``progress(step, total_steps, description, info)`` callback for
    :func:`detbench.train.trainer.train` drawing ``train epoch E/N [bar] step/total info ETA``."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    with lazy_bar(TextColumn("[bold]train[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[info]}"), TextColumn("ETA"), TimeRemainingColumn(),
                  line=lambda c, t, d, info="": f"train {d or 'start'}: step {c}/{t} {info}".rstrip(),
                  per_description=True) as update:
        yield lambda step, total, description, info: update(step, total, description, info=info)


@contextmanager
def detect_bar():
    """Yields a ``progress(done, total, sequence, images_per_s)`` callback for
    :func:`detbench.detect.api.detect` drawing ``detect <sequence> [bar] done/total rate img/s ETA``."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    with lazy_bar(TextColumn("detect {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]} img/s"), TimeRemainingColumn(),
                  line=lambda c, t, d, rate="-": f"detect{' ' + d if d else ''}: {c}/{t} images, {rate} img/s") as update:
        yield lambda done, total, seq, per_s: update(done, total, seq,
                                                     rate="-" if per_s is None else f"{per_s:.1f}")


@contextmanager
def bar_per_key(make_bar):
    """Yields ``progress(key, *args)``: the calls for one key go to a bar of its own (``make_bar()``,
    a context manager such as :func:`detect_bar` yielding the callback), opened at the key's first
    call; the previous key's bar is closed then, the last one when the block exits."""
    from contextlib import ExitStack

    state: dict = {}

    def progress(key, *args) -> None:
        if state.get("key") != key or "bar" not in state:
            if "stack" in state:
                state["stack"].close()
            state["stack"] = ExitStack()
            state["bar"], state["key"] = state["stack"].enter_context(make_bar()), key
        state["bar"](*args)

    try:
        yield progress
    finally:
        if "stack" in state:
            state["stack"].close()


@contextmanager
def motion_bar():
    """Yields a ``progress(step, total_steps, loss, lr)`` callback for
    :func:`detbench.motion.train.train_motion` drawing ``train-motion [bar] step/total loss L lr R
    elapsed ETA``, from step 0 on; the loss shown is the mean of the last 20 steps (a single step's
    is noisy)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    recent: list[float] = []
    with lazy_bar(TextColumn("[bold]train-motion"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("loss {task.fields[loss]:.4f} lr {task.fields[lr]:.1e}"),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                  line=lambda c, t, d, loss, lr: f"train-motion: step {c}/{t} loss {loss:.4f} lr {lr:.1e}") as update:
        def progress(step: int, total: int, loss: float, lr: float) -> None:
            if step:   # step 0: before the first step, no loss yet (shown as nan)
                recent.append(loss)
                del recent[:-20]
            update(step, total, "train", loss=sum(recent) / len(recent) if recent else float("nan"), lr=lr)

        yield progress


@contextmanager
def task_bar(console=None):
    """Yields a ``progress(counts)`` callback for an executor (:class:`detbench.executors.TaskCounts`)
    drawing ``tasks [bar] done/total  running R  failed F  retried T  elapsed`` on ``console`` (default:
    standard error); the bar appears at the first task, follows every later call of the executor
    and vanishes when the block exits (what the command prints afterwards stays). Nothing is
    drawn where the console is not a terminal (a log file, a pipe)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = console or Console(stderr=True)
    state: dict = {}

    def progress(counts) -> None:
        if not console.is_terminal:
            return
        if "bar" not in state:
            state["bar"] = Progress(TextColumn("tasks"), BarColumn(), MofNCompleteColumn(),
                                    TextColumn("running {task.fields[running]}  failed {task.fields[failed]}  "
                                               "retried {task.fields[retried]}"),
                                    TimeElapsedColumn(), console=console, transient=True)
            state["bar"].start()
            state["task"] = state["bar"].add_task("", total=counts.total, running=0, failed=0, retried=0)
        state["bar"].update(state["task"], completed=counts.done + counts.failed, total=counts.total,
                            running=counts.running, failed=counts.failed, retried=counts.retried)

    try:
        yield progress
    finally:
        if "bar" in state:
            state["bar"].stop()
