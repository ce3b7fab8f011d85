"""Comparison plots: metrics per pair with the bootstrap interval, and metrics against epoch."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from detbench.evaluate import metric_specs  # noqa: E402


def _scale(metric: str) -> float:
    """Counts are plotted as they are, ratios in percent."""
    return 1 if metric_specs.spec(metric).is_count else 100


def _title(metric: str) -> str:
    return metric + ("" if metric_specs.spec(metric).is_count else " (%)")


def pair_bars(result: dict, path: Path) -> Path:
    """Grouped bars (one group per tracker, one bar per detector) for the ``compare_plot`` metrics
    (:mod:`detbench.evaluate.metric_specs`: IDSW, MOTA, HOTA), plus the IDSW change with its 95 %
    interval per tracker."""
    dets, trks = result["detectors"], result["trackers"]
    pairs = {(p["detector"], p["tracker"]): p for p in result["pairs"]}
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    width = 0.8 / max(1, len(dets))
    x = np.arange(len(trks))
    for ax, metric in zip(axes, metric_specs.shown("compare_plot")):
        for i, det in enumerate(dets):
            vals = []
            for trk in trks:
                p = pairs.get((det, trk))
                v = p["overall"].get(metric) if p and p["status"] == "ok" else np.nan
                vals.append(_scale(metric) * v if v == v else v)
            bars = ax.bar(x + (i - (len(dets) - 1) / 2) * width, vals, width, label=det)
            ax.bar_label(bars, fmt="%.0f" if metric_specs.spec(metric).is_count else "%.1f", fontsize=7)
        ax.set_xticks(x, trks)
        lower = metric_specs.spec(metric).higher_is_better is False
        ax.set_title(_title(metric) + (" - lower is better" if lower else ""))
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(title="detector")
    ax = axes[3]
    deltas = {d["tracker"]: d["metrics"].get("IDSW") for d in result.get("deltas", [])}
    for i, trk in enumerate(trks):
        r = deltas.get(trk)
        if r is None or r["low"] is None:   # no interval with one scene
            continue
        # a percentile interval need not contain the point estimate: clip, matplotlib rejects negative bars
        yerr = [[max(0.0, r["delta"] - r["low"])], [max(0.0, r["high"] - r["delta"])]]
        ax.errorbar(i, r["delta"], yerr=yerr, fmt="o", capsize=6,
                    color="tab:red" if r.get("significant") else "tab:gray")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(trks)), trks)
    ax.set_xlim(-0.5, len(trks) - 0.5)
    ax.set_title(f"IDSW change {dets[0]} -> {dets[-1]}\n95 % bootstrap CI (red: a verdict, test p < 0.05)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def metrics_vs_epoch(result: dict, path: Path) -> Path:
    """The ``compare_plot`` metrics (IDSW, MOTA, HOTA) against the detector's training epoch, one line
    per tracker."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for trk in result["trackers"]:
        pts = sorted((p["epoch"], p["overall"]) for p in result["pairs"]
                     if p["tracker"] == trk and p["status"] == "ok" and p.get("epoch") is not None)
        if not pts:
            continue
        epochs = [e for e, _ in pts]
        for ax, metric in zip(axes, metric_specs.shown("compare_plot")):
            ax.plot(epochs, [o[metric] * _scale(metric) for _, o in pts], marker="o", label=trk)
    for ax, metric in zip(axes, metric_specs.shown("compare_plot")):
        ax.set_xlabel("detector checkpoint epoch")
        ax.set_title(_title(metric))
        ax.grid(alpha=0.3)
    axes[0].legend(title="tracker")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
