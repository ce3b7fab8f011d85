"""The writing that ``compare`` and ``sensitivity`` reports share: their md / csv / json tables
written atomically as one set, the csv text, the markdown's plot section, and matplotlib figures
(Agg) saved as PNG. What the tables and figures hold stays with each report."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from detbench.core.fileio import atomic_write_json, atomic_write_text


def csv_text(header: list, rows) -> str:
    """``header`` and ``rows`` as csv (the :mod:`csv` module's default dialect)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_tables(out_dir: Path, stem: str, markdown: str, csv_table: str, record) -> list[Path]:
    """``<stem>.md``, ``<stem>.csv`` and ``<stem>.json`` in ``out_dir``, each written atomically."""
    out_dir = Path(out_dir)
    return [atomic_write_text(out_dir / f"{stem}.md", markdown),
            atomic_write_text(out_dir / f"{stem}.csv", csv_table),
            atomic_write_json(out_dir / f"{stem}.json", record)]


def plots_section(result: dict) -> list[str]:
    """The markdown lines that show ``result["plots"]`` (PNG names beside the md), or none."""
    if not result.get("plots"):
        return []
    return ["", "## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in result["plots"]]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int, reproducible: bool = True) -> Path:
    """Save ``fig`` as a PNG at ``path`` (folders made) and close it. ``reproducible``: the same
    figure gives the same bytes whatever the matplotlib version and the user's matplotlibrc (no
    metadata, savefig's settings from matplotlib's default style); otherwise savefig as
    configured, with matplotlib's own metadata."""
    plt = pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if reproducible:
        with plt.style.context("default"):   # savefig's own settings (facecolor, bbox, ...) too
            fig.savefig(path, dpi=dpi, metadata={"Software": None})
    else:
        fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
