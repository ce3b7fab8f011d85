"""Progress bars for the commands, drawn from a stage's ``progress`` callback.

The convention everywhere: a library function takes ``progress=None`` or a callable it calls as
work gets done, and never draws anything itself; the command decides how to show it.
"""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def lazy_bar(*columns, transient: bool = False):
    """Yields ``update(completed, total, description="", **fields)`` for one rich task. The bar
    starts at the first call (a stage that never reports, e.g. on a cache hit, draws nothing) and
    stops when ``completed`` reaches ``total`` (so what the stage says after its work prints below
    the finished bar) or when the block exits; ``columns``: rich columns (none: rich's default)."""
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
                  TextColumn("{task.fields[info]}"), TextColumn("ETA"), TimeRemainingColumn()) as update:
        yield lambda step, total, description, info: update(step, total, description, info=info)


@contextmanager
def detect_bar():
    """Yields a ``progress(done, total, sequence, images_per_s)`` callback for
    :func:`detbench.detect.api.detect` drawing ``detect <sequence> [bar] done/total rate img/s ETA``."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    with lazy_bar(TextColumn("detect {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]} img/s"), TimeRemainingColumn()) as update:
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
    :func:`detbench.motion.train_motion` drawing ``train-motion [bar] step/total loss L lr R
    elapsed ETA``, from step 0 on; the loss shown is the mean of the last 20 steps (a single step's
    is noisy)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    recent: list[float] = []
    with lazy_bar(TextColumn("[bold]train-motion"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("loss {task.fields[loss]:.4f} lr {task.fields[lr]:.1e}"),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()) as update:
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
