"""What ``train-motion`` leaves behind besides the model: the loss curve as a PNG (bytes,
written by :func:`detbench.motion.train.train_motion` next to ``model.pth``). The progress bar is the
command's (:func:`detbench.commands.progress.motion_bar`)."""
from __future__ import annotations

import io


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
