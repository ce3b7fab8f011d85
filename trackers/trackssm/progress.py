"""What ``train-motion`` shows while it trains and leaves behind: a progress bar with loss and
ETA, and the loss curve as a PNG (bytes, written by the caller next to ``model.pth``)."""
from __future__ import annotations

import contextlib
import io
from typing import Callable, Iterator


@contextlib.contextmanager
def training_progress(total_steps: int) -> Iterator[Callable[[int, float, float], None]]:
    """A rich progress bar over ``total_steps``; yields ``on_step(step, loss, lr)``. The loss
    shown is the mean of the last 20 steps (a single step's loss is noisy)."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    recent: list[float] = []
    with Progress(TextColumn("[bold]train-motion"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("loss {task.fields[loss]:.4f} lr {task.fields[lr]:.1e}"),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()) as prog:
        task = prog.add_task("train", total=total_steps, loss=float("nan"), lr=0.0)

        def on_step(step: int, loss: float, lr: float) -> None:
            recent.append(loss)
            del recent[:-20]
            prog.update(task, completed=step, loss=sum(recent) / len(recent), lr=lr)

        yield on_step


def smooth(values: list[float], window: int) -> list[float]:
    """Trailing mean over up to ``window`` values (same length as ``values``)."""
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def loss_curve_png(losses: list[float], cfg=None) -> bytes:
    """PNG of the per-step training loss (raw and a trailing mean) and, when ``cfg`` (a
    :class:`trackers.trackssm.train.TrainConfig`) is given, the learning rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = list(range(1, len(losses) + 1))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(steps, losses, color="0.75", lw=0.8, label="loss per step")
    ax.plot(steps, smooth(losses, max(1, len(losses) // 50)), color="C0", lw=1.6, label="trailing mean")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (sum over blocks)")
    ax.grid(alpha=0.3)
    if cfg is not None:
        from trackers.trackssm.train import lr_at

        ax2 = ax.twinx()
        ax2.plot(steps, [lr_at(s, cfg) for s in steps], color="C1", lw=1.0, ls="--", label="learning rate")
        ax2.set_ylabel("learning rate")
        ax2.legend(loc="upper center", fontsize=8)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("TrackSSM training loss: SmoothL1 + (1 - GIoU) per decoder block, summed")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
