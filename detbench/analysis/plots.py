"""Training plots (matplotlib, Agg, PNG). The x axis is training progress in epochs:
iteration ``i`` of epoch ``e`` sits at ``e - 1 + i / iters_per_epoch``, so epoch ``e`` spans ``(e-1, e]``."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from detbench.analysis.logs import COMPONENTS, RunLog
from detbench.core.fileio import atomic_write_bytes

PHASE_COLORS = {"warmup": "#fde2c8", "training": "#d6e9f8", "finetune": "#d8f0d2"}
EXTRA_COLORS = ["#eadcf4", "#f6d5dc", "#e8e8e8"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def progress(log: RunLog) -> np.ndarray:
    """Fractional epoch of each logged iteration."""
    a = log.arrays
    it = np.where(np.isfinite(a["iter"]), a["iter"], (a["step"] - 1) % log.iters_per_epoch + 1)
    return a["epoch"] - 1 + it / log.iters_per_epoch


def smooth(v: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average (shrinking at the ends)."""
    window = max(1, min(window, len(v)))
    c = np.cumsum(np.insert(v, 0, 0.0))
    half = window // 2
    lo = np.clip(np.arange(len(v)) - half, 0, len(v))
    hi = np.clip(np.arange(len(v)) - half + window, 0, len(v))
    return (c[hi] - c[lo]) / (hi - lo)


def _shade(ax, log: RunLog, label: bool = True):
    for k, ph in enumerate(log.phases):
        color = PHASE_COLORS.get(ph["name"], EXTRA_COLORS[k % len(EXTRA_COLORS)])
        ax.axvspan(ph["first_epoch"] - 1, ph["last_epoch"], color=color, alpha=0.8, lw=0,
                   label=f"{ph['name']} (ep {ph['first_epoch']}-{ph['last_epoch']})" if label else None)


def _save(fig, path: Path):
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    atomic_write_bytes(path, buf.getvalue())


def complete_analysis(log: RunLog, report: dict, path: Path):
    """4 panels: loss per iteration + smoothed; LR with phases; components per epoch; epoch mean +- std."""
    plt = _plt()
    a, x = log.arrays, progress(log)
    ep = report["epochs"]
    e = np.array([r["epoch"] for r in ep])
    fig, axs = plt.subplots(2, 2, figsize=(15, 9.5))
    fig.suptitle(f"{log.name}: training analysis ({log.n} iterations, {len(ep)} epochs)", fontsize=13)

    ax = axs[0, 0]
    _shade(ax, log, label=False)
    ax.plot(x, a["total"], lw=0.6, color="#7a9cc6", alpha=0.7, label="total (every iteration)")
    ax.plot(x, smooth(a["total"], max(3, log.iters_per_epoch // 2)), lw=2, color="#1f4e8c",
            label=f"smoothed ({max(3, log.iters_per_epoch // 2)}-iteration mean)")
    if report["stability"]["series"] == "total_without_l1":
        ax.plot(x, a["total"] - np.nan_to_num(a["l1"]), lw=0.8, color="#555", ls="--", label="total - l1")
    spk = report["stability"]["spikes"]
    if spk:
        steps = {s["step"] for s in spk}
        m = np.array([s in steps for s in a["step"]])
        ax.plot(x[m], a["total"][m], "rx", ms=7, label=f"spikes ({report['stability']['spike_count']})")
    ax.set(title="Total loss, every iteration", xlabel="epoch", ylabel="loss")
    ax.legend(fontsize=8)

    ax = axs[0, 1]
    _shade(ax, log)
    ax.plot(x, a["lr"], color="#b03a2e", lw=1.5, label="logged LR")
    ax.set(title="Learning rate (phases shaded)", xlabel="epoch", ylabel="LR")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    ax.legend(fontsize=8, loc="best")

    ax = axs[1, 0]
    for c, mk in zip(COMPONENTS, "osd^"):
        vals = np.array([r[c] if r[c] is not None else np.nan for r in ep])
        if np.isfinite(vals).any():
            ax.plot(e, vals, marker=mk, ms=4, label=c)
    ax.set(title="Loss components, epoch mean", xlabel="epoch", ylabel="loss")
    ax.legend(fontsize=8)

    ax = axs[1, 1]
    _shade(ax, log, label=False)
    means = np.array([r["mean_total"] for r in ep])
    stds = np.array([r["std_total"] for r in ep])
    ax.errorbar(e - 0.5, means, yerr=stds, fmt="o-", ms=4, capsize=3, color="#1f4e8c", label="epoch mean +- std")
    for b in report["best_epochs"][:1]:
        ax.plot(b["epoch"] - 0.5, b["mean_total"], "*", ms=15, color="gold", mec="k", label=f"best: epoch {b['epoch']}")
    rec = report["recommended"]
    if rec:
        r = next(r for r in ep if r["epoch"] == rec["epoch"])
        ax.plot(r["epoch"] - 0.5, r["mean_total"], "D", ms=9, mfc="none", mec="#b03a2e", mew=2,
                label=f"recommended: epoch {rec['epoch']}")
    ax.set(title="Epoch mean +- std (population) of total loss", xlabel="epoch", ylabel="loss")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def early_epochs(log: RunLog, path: Path, n_epochs: int = 5):
    """The first ``n_epochs``: total and components per iteration, LR on a twin axis."""
    plt = _plt()
    a, x = log.arrays, progress(log)
    m = a["epoch"] <= n_epochs
    fig, axs = plt.subplots(1, 2, figsize=(14, 5))
    fig.suptitle(f"{log.name}: first {n_epochs} epochs ({int(m.sum())} iterations)")
    ax = axs[0]
    _shade(ax, log, label=False)
    ax.plot(x[m], a["total"][m], lw=0.8, color="#7a9cc6", label="total")
    ax.plot(x[m], smooth(a["total"][m], max(3, log.iters_per_epoch // 4)), lw=2, color="#1f4e8c", label="smoothed")
    ax.set(xlabel="epoch", ylabel="loss", title="Total loss", xlim=(0, min(n_epochs, x[m].max() if m.any() else 1)))
    tw = ax.twinx()
    tw.plot(x[m], a["lr"][m], color="#b03a2e", lw=1, ls="--", label="LR")
    tw.set_ylabel("LR", color="#b03a2e")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = tw.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=8)
    ax = axs[1]
    for c in COMPONENTS:
        if np.isfinite(a[c][m]).any():
            ax.plot(x[m], a[c][m], lw=0.9, label=c)
    ax.set(xlabel="epoch", ylabel="loss", title="Components per iteration")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def lr_schedule(log: RunLog, path: Path):
    """The logged LR with phase boundaries, phase names and LR values at each boundary."""
    plt = _plt()
    a, x = log.arrays, progress(log)
    fig, ax = plt.subplots(figsize=(12, 5))
    _shade(ax, log, label=False)
    ax.plot(x, a["lr"], color="#b03a2e", lw=2)
    top = np.nanmax(a["lr"]) if np.isfinite(a["lr"]).any() else 1.0
    for ph in log.phases:
        m = (a["epoch"] >= ph["first_epoch"]) & (a["epoch"] <= ph["last_epoch"])
        ax.axvline(ph["last_epoch"], color="k", ls=":", lw=1)
        planned = (f"\nrecipe {ph['lr_start']:.3g} -> {ph['lr_end']:.3g}"
                   if ph["lr_start"] is not None and ph["lr_end"] is not None else "")
        ax.text((ph["first_epoch"] - 1 + ph["last_epoch"]) / 2, top * 1.06,
                f"{ph['name']} ({ph['shape'] or '?'})\nepochs {ph['first_epoch']}-{ph['last_epoch']}{planned}",
                ha="center", va="bottom", fontsize=9)
        if m.any():
            for xi, yi, off in ((x[m][0], a["lr"][m][0], (5, -12)), (x[m][-1], a["lr"][m][-1], (-5, 6))):
                ax.plot(xi, yi, "ko", ms=4)
                ax.annotate(f"{yi:.3g}", (xi, yi), textcoords="offset points", xytext=off, fontsize=8,
                            ha="left" if off[0] > 0 else "right")
    ax.set(xlabel="epoch (phase boundaries dotted; dots: first and last logged LR of each phase)",
           ylabel="learning rate", title=f"{log.name}: LR schedule", ylim=(0, top * 1.35))
    fig.tight_layout()
    _save(fig, path)


def overlay(logs: list[RunLog], path: Path, what: str):
    """Several runs on one axis: ``what`` = "loss" (smoothed total) or "lr"."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(12, 5.5))
    for log in logs:
        x = progress(log)
        if what == "loss":
            y = log.arrays["total"]
            line, = ax.plot(x, y, lw=0.6, alpha=0.45)
            ax.plot(x, smooth(y, max(3, log.iters_per_epoch // 2)), lw=2, color=line.get_color(), label=log.name)
        else:
            ax.plot(x, log.arrays["lr"], lw=2, label=log.name)
    ax.set(xlabel="epoch", ylabel="total loss" if what == "loss" else "learning rate",
           title="Total loss (thin: every iteration; thick: smoothed)" if what == "loss" else "Learning rate")
    ax.legend()
    fig.tight_layout()
    _save(fig, path)


def write_run_plots(log: RunLog, report: dict, out: Path) -> list[str]:
    complete_analysis(log, report, out / "training_complete_analysis.png")
    early_epochs(log, out / "training_early_epochs.png")
    lr_schedule(log, out / "lr_schedule.png")
    return ["training_complete_analysis.png", "training_early_epochs.png", "lr_schedule.png"]
