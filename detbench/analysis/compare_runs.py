"""Several runs side by side: one table of recipe settings and report figures, overlaid curves.

``compare(runs, out)`` writes ``report.md``, ``report.json`` (``{"runs": {name: report},
"table": {"columns": [...], "rows": [...]}}``), ``compare_loss.png`` and ``compare_lr.png``.
Recipe fields are read generically: a field one run lacks is shown as ``-`` (JSON null).
"""
from __future__ import annotations

from pathlib import Path

from detbench.analysis import plots
from detbench.analysis.logs import load_run
from detbench.analysis.report import build, g
from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_dir, atomic_write_json, atomic_write_text, ensure_writable

# (label, function of a report) for the figures row block
FIGURES = [
    ("iterations", lambda r: r["run"]["iterations"]),
    ("complete epochs", lambda r: r["run"]["epochs_complete"]),
    ("initial loss", lambda r: r["overall"]["initial_loss"]),
    ("final loss", lambda r: r["overall"]["final_loss"]),
    ("change %", lambda r: r["overall"]["pct_change"]),
    ("last epoch mean", lambda r: r["overall"]["last_epoch_mean"]),
    ("CV all %", lambda r: r["stability"]["all"]["cv_pct"]),
    ("CV post-warmup % (total)", lambda r: r["stability"]["post_warmup"]["cv_pct"]),
    ("verdict series", lambda r: r["stability"]["series"]),
    ("CV post-warmup % (verdict series)", lambda r: r["stability"]["series_post_warmup"]["cv_pct"]),
    ("verdict", lambda r: r["stability"]["verdict"]),
    ("spikes post-warmup", lambda r: r["stability"]["spike_count_post_warmup"]),
    ("best epoch", lambda r: r["best_epochs"][0]["epoch"] if r["best_epochs"] else None),
    ("best epoch mean", lambda r: r["best_epochs"][0]["mean"] if r["best_epochs"] else None),
    ("recommended epoch", lambda r: r["recommended"]["epoch"] if r["recommended"] else None),
    ("wall time h", lambda r: r["duration"]["wall_h"]),
    ("images/s", lambda r: r["duration"]["images_per_s_mean"]),
]


def _scalar(v) -> bool:
    """Plain values and short lists of them (e.g. input_size); nested structures are left out."""
    if isinstance(v, list):
        return len(v) <= 4 and all(_scalar(x) and not isinstance(x, list) for x in v)
    return v is None or isinstance(v, (int, float, str, bool))


def table(reports: dict[str, dict]) -> dict:
    """Rows = recipe fields (union over runs, in first-seen order) then figures; columns = runs."""
    names = list(reports)
    keys: list[str] = []
    for rep in reports.values():
        keys += [k for k, v in rep["recipe"].items() if k not in keys and _scalar(v)]
    rows = [{"group": "recipe", "field": k, "values": [reports[n]["recipe"].get(k) for n in names]} for k in keys]
    rows += [{"group": "figure", "field": label, "values": [fn(reports[n]) for n in names]} for label, fn in FIGURES]
    return {"columns": names, "rows": rows}


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return g(v)
    return str(v)


def render_markdown(tab: dict, reports: dict[str, dict]) -> str:
    names = tab["columns"]
    L = [f"# Training runs compared: {', '.join(names)}", "",
         "Recipe settings, then figures from every logged iteration (see each run's own report for the "
         "rules: population std, CV = std / mean, verdict from the post-warmup CV).", "",
         "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    group = None
    for row in tab["rows"]:
        if row["group"] != group:
            group = row["group"]
            L.append(f"| **{group}** |" + " |" * len(names))
        L.append(f"| {row['field']} | " + " | ".join(_cell(v) for v in row["values"]) + " |")
    warn = [f"- {n}: {w}" for n, r in reports.items() for w in r["warnings"]]
    if warn:
        L += ["", "## Warnings", ""] + warn
    L += ["", "![loss](compare_loss.png)", "", "![lr](compare_lr.png)"]
    return "\n".join(L) + "\n"


def default_out(names: list[str]) -> Path:
    return paths.results_dir("analysis") / "_vs_".join(names)


def compare(runs: list[str | Path], out: str | Path | None = None) -> tuple[Path, dict]:
    """Analyse each run and write the comparison into ``out`` (default results/analysis/<a>_vs_<b>)."""
    logs = [load_run(r) for r in runs]
    names = [log.name for log in logs]
    if len(set(names)) != len(names):
        raise InputError(f"runs {', '.join(map(str, runs))}: two runs share a directory name; compare distinct runs")
    out = Path(out) if out is not None else default_out(names)
    ensure_writable(out, "analysis report", inputs={"run": [log.dir for log in logs]}, inside_ok=True)
    reports = {log.name: build(log) for log in logs}
    tab = table(reports)
    with atomic_dir(out) as tmp:
        plots.overlay(logs, tmp / "compare_loss.png", "loss")
        plots.overlay(logs, tmp / "compare_lr.png", "lr")
        atomic_write_json(tmp / "report.json", {"runs": reports, "table": tab})
        atomic_write_text(tmp / "report.md", render_markdown(tab, reports))
    return out, {"runs": reports, "table": tab}
