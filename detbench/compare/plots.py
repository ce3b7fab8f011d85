"""Comparison plots: metrics per pair with the bootstrap interval, and metrics against epoch."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PLOT_METRICS = ("IDSW", "MOTA", "HOTA")


def pair_bars(result: dict, path: Path) -> Path:
    """Grouped bars (one group per tracker, one bar per detector) for IDSW, MOTA, HOTA, plus the
    IDSW change with its 95 % interval per tracker."""
    dets, trks = result["detectors"], result["trackers"]
    pairs = {(p["detector"], p["tracker"]): p for p in result["pairs"]}
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    width = 0.8 / max(1, len(dets))
    x = np.arange(len(trks))
    for ax, metric in zip(axes, PLOT_METRICS):
        for i, det in enumerate(dets):
            vals = []
            for trk in trks:
                p = pairs.get((det, trk))
                v = p["overall"].get(metric) if p and p["status"] == "ok" else np.nan
                vals.append(100 * v if metric != "IDSW" and v == v else v)
            bars = ax.bar(x + (i - (len(dets) - 1) / 2) * width, vals, width, label=det)
            ax.bar_label(bars, fmt="%.0f" if metric == "IDSW" else "%.1f", fontsize=7)
        ax.set_xticks(x, trks)
        ax.set_title(metric + ("" if metric == "IDSW" else " (%)") + (" - lower is better" if metric == "IDSW" else ""))
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
                    color="tab:red" if r["high"] < 0 or r["low"] > 0 else "tab:gray")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(trks)), trks)
    ax.set_xlim(-0.5, len(trks) - 0.5)
    ax.set_title(f"IDSW change {dets[0]} -> {dets[-1]}\n95 % bootstrap CI (red: excludes 0)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def metrics_vs_epoch(result: dict, path: Path) -> Path:
    """IDSW, MOTA, HOTA against the detector's training epoch, one line per tracker."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for trk in result["trackers"]:
        pts = sorted((p["epoch"], p["overall"]) for p in result["pairs"]
                     if p["tracker"] == trk and p["status"] == "ok" and p.get("epoch") is not None)
        if not pts:
            continue
        epochs = [e for e, _ in pts]
        for ax, metric in zip(axes, PLOT_METRICS):
            scale = 1 if metric == "IDSW" else 100
            ax.plot(epochs, [o[metric] * scale for _, o in pts], marker="o", label=trk)
    for ax, metric in zip(axes, PLOT_METRICS):
        ax.set_xlabel("detector checkpoint epoch")
        ax.set_title(metric + ("" if metric == "IDSW" else " (%)"))
        ax.grid(alpha=0.3)
    axes[0].legend(title="tracker")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
