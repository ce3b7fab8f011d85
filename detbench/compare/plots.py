"""Comparison plots: metrics per pair with the bootstrap interval, and metrics against epoch."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from detbench.compare import changes
from detbench.core.reports import pyplot, save_figure
from detbench.evaluate import metric_specs

plt = pyplot()


def _scale(metric: str) -> float:
    """Counts are plotted as they are, ratios in percent (:mod:`detbench.compare.changes`)."""
    return changes.unit(metric).scale


def _title(metric: str) -> str:
    return metric + ("" if metric_specs.spec(metric).is_count else " (%)")


CHANGE_PANELS = ("IDSW", "HOTA")   # the changes drawn with their interval, beside the bars


def _save(fig, path: Path) -> Path:
    """The same figure gives the same bytes: fixed dpi, no metadata (no software version, no date)."""
    return save_figure(fig, path, dpi=110)


def pair_figure(result: dict):
    """Grouped bars (one group per tracker, one bar per detector) for the ``compare_plot`` metrics
    (:mod:`detbench.evaluate.metric_specs`: IDSW, MOTA, HOTA), plus the IDSW and HOTA changes with
    their 95 % interval per tracker (:data:`CHANGE_PANELS`, in the units of
    :mod:`detbench.compare.changes`). Drawn with matplotlib's default style, whatever the user's
    matplotlibrc says."""
    dets, trks = result["detectors"], result["trackers"]
    pairs = {(p["detector"], p["tracker"]): p for p in result["pairs"]}
    bars = metric_specs.shown("compare_plot")
    with plt.style.context("default"):
        n = len(bars) + len(CHANGE_PANELS)
        fig, axes = plt.subplots(1, n, figsize=(4.25 * n, 4.2))
        width = 0.8 / max(1, len(dets))
        x = np.arange(len(trks))
        for ax, metric in zip(axes, bars):
            for i, det in enumerate(dets):
                vals = []
                for trk in trks:
                    p = pairs.get((det, trk))
                    v = p["overall"].get(metric) if p and p["status"] == "ok" else np.nan
                    vals.append(_scale(metric) * v if v == v else v)
                drawn = ax.bar(x + (i - (len(dets) - 1) / 2) * width, vals, width, label=det)
                ax.bar_label(drawn, fmt="%.0f" if metric_specs.spec(metric).is_count else "%.1f", fontsize=7)
            ax.set_xticks(x, trks)
            lower = metric_specs.spec(metric).higher_is_better is False
            ax.set_title(_title(metric) + (" - lower is better" if lower else ""))
            ax.grid(axis="y", alpha=0.3)
        axes[0].legend(title="detector")
        deltas = {d["tracker"]: d["metrics"] for d in changes.deltas(result)}
        for ax, metric in zip(axes[len(bars):], CHANGE_PANELS):
            _change_panel(ax, metric, trks, {t: m.get(metric) for t, m in deltas.items()}, dets)
        fig.tight_layout()
    return fig


def _change_panel(ax, metric: str, trks: list[str], recs: dict, dets: list[str]) -> None:
    """``metric``'s change per tracker with its interval (red: a verdict), or a note where there is none."""
    drawn = False
    for i, trk in enumerate(trks):
        r = recs.get(trk)
        if r is None or changes.get(r, "low") is None:   # no interval with one scene
            continue
        delta, low, high = (changes.get(r, k) for k in ("delta", "low", "high"))
        # a percentile interval need not contain the point estimate: clip, matplotlib rejects negative bars
        yerr = [[max(0.0, delta - low)], [max(0.0, high - delta)]]
        ax.errorbar(i, delta, yerr=yerr, fmt="o", capsize=6, color="tab:red" if r.get("direction") else "tab:gray")
        drawn = True
    if not drawn and any(recs.get(t) is not None for t in trks):
        ax.text(0.5, 0.5, changes.ONE_SCENE, transform=ax.transAxes, ha="center", va="center")
        ax.set_yticks([])
    else:
        ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(trks)), trks)
    ax.set_xlim(-0.5, len(trks) - 0.5)
    u = changes.unit(metric)
    ax.set_title(f"{metric} change ({u.change}) {dets[0]} -> {dets[-1]}\n95 % bootstrap CI (red: a verdict, test p < 0.05)")
    ax.grid(axis="y", alpha=0.3)


def pair_bars(result: dict, path: Path) -> Path:
    """:func:`pair_figure` as a PNG (the same bytes for the same result)."""
    return _save(pair_figure(result), Path(path))


def metrics_vs_epoch(result: dict, path: Path) -> Path:
    """The ``compare_plot`` metrics (IDSW, MOTA, HOTA) against the detector's training epoch, one line
    per tracker."""
    with plt.style.context("default"):
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
    return _save(fig, Path(path))
