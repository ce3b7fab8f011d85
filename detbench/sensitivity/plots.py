"""One figure per metric: the metric against each axis, a curve per tracker with its band, the
base point ringed, real detectors marked where they were measured; 2-D grids as heatmaps."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from detbench.core.reports import pyplot, save_figure
from detbench.evaluate import metric_specs
from detbench.sensitivity.bands import METRICS
from detbench.sensitivity.run import base_tracker

plt = pyplot()

SCALE = {"jitter": 100.0}
XLABEL = {"recall": "recall", "fp": "false positives / frame", "jitter": "localisation error (% of box size)",
          "score": "score separation (ROC AUC)", "confusion": "class confusion (fraction)"}


def _is_count(metric: str) -> bool:
    return metric_specs.spec(metric).is_count


def _lower_is_better(metric: str) -> bool:
    return metric_specs.spec(metric).higher_is_better is False


def _title(metric: str) -> str:
    """The axis title: a count is per run of the split ("IDSW per run (lower is better)"), a ratio in %."""
    if _is_count(metric):
        return f"{metric} per run" + (" (lower is better)" if _lower_is_better(metric) else "")
    return f"{metric} (%)"


def _yscale(metric: str) -> float:
    return 1.0 if _is_count(metric) else 100.0


def _series(res: dict, axis: str, tracker: str, metric: str):
    """x (measured, mean over seeds), y, low, high along ``axis``; the base point's index."""
    pts = {p["key"]: p for p in res["points"]}
    by = {(r["point"], r["tracker"]): r for r in res["results"]}
    base = pts["base"]
    keys = []
    for v in res["grids"][axis]:
        if v == base["spec"][axis]:
            keys.append("base")
        elif f"{axis}={v:g}" in pts:
            keys.append(f"{axis}={v:g}")
    xs, ys, lo, hi, base_i = [], [], [], [], None
    for k in keys:
        r = by.get((k, tracker))
        x = pts[k]["measured"].get(axis)
        if x is None:  # e.g. score separation without false boxes: use the requested value
            x = pts[k]["spec"][axis]
        if not r or not r.get("metrics"):
            continue
        m = r["metrics"][metric]
        if k == "base":
            base_i = len(xs)
        xs.append(x * SCALE.get(axis, 1.0))
        ys.append(m["value"] * _yscale(metric))
        lo.append(m["low"] * _yscale(metric))
        hi.append(m["high"] * _yscale(metric))
    order = np.argsort(xs, kind="stable")
    arr = [np.asarray(a)[order] for a in (xs, ys, lo, hi)]
    return (*arr, None if base_i is None else int(np.flatnonzero(order == base_i)[0]))


def _zero_panel(pax, res: dict, metric: str, colors) -> None:
    """Bars: each tracker's value at the zero-degradation point (every GT box, exact)."""
    by = {(r["point"], r["tracker"]): r for r in res["results"]}
    base_of = list(dict.fromkeys(base_tracker(t) for t in res["trackers"]))
    for i, t in enumerate(res["trackers"]):
        r = by.get(("perfect", t))
        if not r or not r.get("metrics"):
            continue
        v = r["metrics"][metric]["value"] * _yscale(metric)
        c = colors[base_of.index(base_tracker(t)) % len(colors)]  # a +cleanup bar: its tracker's colour, hatched
        pax.bar(i, v, color=c, hatch="//" if t != base_tracker(t) else None, edgecolor="white")
        pax.annotate(f"{v:.0f}" if _is_count(metric) else f"{v:.1f}", (i, v), ha="center", va="bottom", fontsize=8)
    pax.set_xticks(range(len(res["trackers"])), res["trackers"], rotation=30, fontsize=8)
    pax.set_xlabel("zero degradation (every GT box, exact)")
    pax.grid(axis="y", alpha=0.3)


def axis_figure(res: dict, metric: str, path: Path) -> Path:
    axes_ = res["axes"]
    n = len(axes_) + 1
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, grid = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False, sharey=True)
    panels = grid.ravel()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    values = []
    base_of = list(dict.fromkeys(base_tracker(t) for t in res["trackers"]))
    for j, axis in enumerate(axes_):
        pax = panels[j]
        for t in res["trackers"]:
            x, y, lo, hi, bi = _series(res, axis, t, metric)
            if not len(x):
                continue
            values += list(lo)
            c = colors[base_of.index(base_tracker(t)) % len(colors)]  # a +cleanup series: its tracker's colour, dashed
            pax.plot(x, y, marker="o", ms=4, color=c, label=t, ls="--" if t != base_tracker(t) else "-")
            pax.fill_between(x, lo, hi, color=c, alpha=0.15, lw=0)
            if bi is not None:
                pax.plot(x[bi], y[bi], "o", ms=10, mfc="none", mec=c)
        for k, d in enumerate(res.get("detectors") or []):
            v = d["measured"].get(axis)
            if v is None:
                continue
            v *= SCALE.get(axis, 1.0)
            pax.axvline(v, color="black", ls="--", lw=1)
            pax.annotate(d["name"], (v, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12 - 11 * k),
                         textcoords="offset points", fontsize=8)
        pax.set_xlabel(XLABEL[axis])
        pax.grid(alpha=0.3)
    _zero_panel(panels[len(axes_)], res, metric, colors)
    for pax in panels[n:]:
        pax.set_visible(False)
    if _is_count(metric) and values and min(values) > 0:
        panels[0].set_yscale("log")  # shared: one tracker's hundreds must not flatten the others
    for r_ in range(rows):
        grid[r_, 0].set_ylabel(_title(metric))
    panels[0].legend(title="tracker", fontsize=8)
    band = "seed band (one scene)" if len(res["scenes"]) == 1 else "scene x seed bootstrap band"
    clean = res.get("cleanup") or {}
    note = (f"\ndashed curves, hatched bars: +cleanup ({', '.join(f'{k}={v}' for k, v in clean.items())})"
            if clean else "")
    fig.suptitle(f"{_title(metric)} vs detection quality - {res['name']}: one axis varied at a time around the "
                 f"ringed base point; shaded: 95 % {band}; dashed vertical: real detectors{note}", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100, reproducible=False)


def grid_figure(res: dict, metric: str, path: Path) -> Path:
    a, b = res["grid2d"]
    va, vb = res["grids"][a], res["grids"][b]
    by = {(r["point"], r["tracker"]): r for r in res["results"]}
    pts = {p["key"]: p for p in res["points"]}
    spec_key = {tuple(p["spec"][x] for x in (a, b)): p["key"] for p in res["points"] if p["key"] != "perfect"}
    n = len(res["trackers"])
    fig, panels = plt.subplots(1, n, figsize=(3.6 * n, 3.4), squeeze=False)
    for i, t in enumerate(res["trackers"]):
        z = np.full((len(va), len(vb)), np.nan)
        for r_, x in enumerate(va):
            for c_, y in enumerate(vb):
                r = by.get((spec_key.get((x, y)), t))
                if r and r.get("metrics"):
                    z[r_, c_] = r["metrics"][metric]["value"] * _yscale(metric)
        p = panels[0, i]
        im = p.imshow(z, origin="lower", aspect="auto", cmap="viridis_r" if _lower_is_better(metric) else "viridis")
        for r_ in range(len(va)):
            for c_ in range(len(vb)):
                if np.isfinite(z[r_, c_]):
                    p.text(c_, r_, f"{z[r_, c_]:.0f}", ha="center", va="center", fontsize=7, color="white")
        p.set_xticks(range(len(vb)), [f"{v:g}" for v in vb])
        p.set_yticks(range(len(va)), [f"{v:g}" for v in va])
        p.set_xlabel(b)
        p.set_ylabel(a)
        p.set_title(t)
        fig.colorbar(im, ax=p, fraction=0.046)
    del pts
    fig.suptitle(f"{_title(metric)} over {a} x {b} ({res['name']})", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100, reproducible=False)


def write_plots(res: dict, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    make = grid_figure if res.get("grid2d") else axis_figure
    return [make(res, m, out_dir / f"{m}.png") for m in METRICS]
