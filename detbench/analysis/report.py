"""One run's training report: ``report.json`` (every figure) and ``report.md`` (the same, for people).

``analyze_run(run, out)`` writes ``report.json``, ``report.md`` and the three PNGs into ``out``
(built in a temporary directory and renamed into place, so nothing is half-written).
"""
from __future__ import annotations

from pathlib import Path

from detbench.analysis import plots, stats
from detbench.analysis.logs import COMPONENTS, RunLog, load_run
from detbench.core.fileio import atomic_dir, atomic_write_json, atomic_write_text, ensure_writable


def g(x, fmt: str = ".4g") -> str:
    return "n/a" if x is None else format(x, fmt)


def pct(x) -> str:
    return "n/a" if x is None else f"{x:+.1f}%"


def render_markdown(rep: dict) -> str:
    run, ov, st, du = rep["run"], rep["overall"], rep["stability"], rep["duration"]
    L = [f"# Training analysis: {run['name']}", "",
         f"Run directory `{run['dir']}`: {run['iterations']} iterations logged, "
         f"{run['epochs_complete']} complete epochs of {run['epochs_planned'] or '?'} planned "
         f"({run['iters_per_epoch']} iterations per epoch). Every figure below comes from every logged "
         "iteration; std is the population std (ddof=0), CV = std / mean.", ""]
    if run["truncated"]:
        L += ["> **Truncated run**: fewer epochs were logged than planned; the report covers what is there.", ""]
    if rep["warnings"]:
        L += ["## Warnings", ""] + [f"- {w}" for w in rep["warnings"]] + [""]
    L += ["## Overall", "", "| figure | value |", "|---|---|",
          f"| initial loss (first iteration) | {g(ov['initial_loss'])} |",
          f"| final loss (last iteration) | {g(ov['final_loss'])} |",
          f"| change | {g(ov['change'])} ({pct(ov['pct_change'])}) |",
          f"| first / last epoch mean | {g(ov['first_epoch_mean'])} / {g(ov['last_epoch_mean'])} |", ""]
    l1 = rep["l1"]
    if l1["joins_step_logged"] is not None or l1["joins_epoch_recipe"] is not None:
        L += [f"**L1 term**: the recipe adds it from epoch {g(l1['joins_epoch_recipe'])}; the log shows it "
              f"from step {g(l1['joins_step_logged'])} (epoch {g(l1['joins_epoch_logged'])}). From then on `total` "
              "includes L1 and means something else, so the tables show `total - l1` too, and stability, spikes "
              "and ranking use it.", ""]
    L += ["## Phases", "", "| phase | epochs | LR (recipe) | LR (logged) | first -> last epoch mean | change | "
          "mean +- std of epoch means | same without L1 | iou | conf | cls | l1 |", "|" + "---|" * 12]
    for ph in rep["phases"]:
        head = f"| {ph['name']} | {ph['first_epoch']}-{ph['last_epoch']} | {g(ph['lr_start'])} -> {g(ph['lr_end'])}"
        if not ph["reached"]:
            L.append(head + " | not reached |" + " |" * 9)
            continue
        t, w, c = ph["total"], ph["total_without_l1"], ph["components"]
        L.append(head + f" | {g(ph['lr_logged_first'])} -> {g(ph['lr_logged_last'])} | "
                 f"{g(t['first_epoch_mean'])} -> {g(t['last_epoch_mean'])} | {g(t['change'])} ({pct(t['pct_change'])}) | "
                 f"{g(t['epoch_mean_mean'])} +- {g(t['epoch_mean_std'])} | "
                 f"{g(w['first_epoch_mean'])} -> {g(w['last_epoch_mean'])}, {g(w['epoch_mean_mean'])} +- "
                 f"{g(w['epoch_mean_std'])} | " + " | ".join(g(c[k]) for k in COMPONENTS) + " |")
    L += ["", "Components are means over the phase's iterations.", "", "## Stability", "",
          "| iterations | n | mean | std | CV |", "|---|---|---|---|---|"]
    for label, key in (("all (total)", "all"), (f"after warmup, from epoch {st['post_warmup_from_epoch']} (total)",
                                                "post_warmup"),
                       (f"after warmup ({st['series']}, verdict)", "series_post_warmup")):
        s = st[key]
        L.append(f"| {label} | {s['n']} | {g(s['mean'])} | {g(s['std'])} | {g(s['cv_pct'], '.2f')}% |")
    L += ["", f"**Verdict: {st['verdict'] or 'n/a (no iteration after warmup)'}**. Rule: {st['rule']}.", "",
          f"Spikes ({st['spike_rule']}): {st['spike_count']} in all, {st['spike_count_post_warmup']} after warmup."]
    if st["spikes"]:
        L += ["", "| step | epoch | value | rolling median | ratio |", "|---|---|---|---|---|"]
        L += [f"| {s['step']} | {s['epoch']} | {g(s['value'])} | {g(s['rolling_median'])} | {s['ratio']:.2f} |"
              for s in st["spikes"]]
    L += ["", f"## Best checkpoints (epoch mean of {st['series']}, complete epochs)", "",
          "| rank | epoch | mean | mean total | phase |", "|---|---|---|---|---|"]
    L += [f"| {b['rank']} | {b['epoch']} | {g(b['mean'])} | {g(b['mean_total'])} | {b['phase']} |"
          for b in rep["best_epochs"]]
    rec = rep["recommended"]
    L += ["", (f"**Recommended: epoch {rec['epoch']}** (`{rec['checkpoint']}`"
               f"{'' if rec['exists'] else ', file not in the run directory'}): {rec['reason']}."
               if rec else "**No complete epoch**: no checkpoint to recommend."),
          "", "Training loss under augmentation is not a validation metric: confirm with `detbench eval-det`.",
          "", "## Duration", "", "| figure | value |", "|---|---|",
          f"| wall time (to the last logged iteration) | {g(du['wall_s'], '.1f')} s ({g(du['wall_h'], '.2f')} h) |",
          f"| time per epoch (mean of {du['epochs_timed']} complete epochs) | {g(du['epoch_s_mean'], '.1f')} s |",
          f"| images/s (mean of logged values) | {g(du['images_per_s_mean'], '.1f')} |",
          f"| peak memory | {g(du['memory_mb_max'], '.0f')} MB |", "",
          "## Per-epoch figures", "", "| epoch | phase | iters | mean total | std | mean total - l1 | "
          "iou | conf | cls | l1 | LR at end |", "|" + "---|" * 11]
    L += [f"| {r['epoch']} | {r['phase']} | {r['iters']}{'' if r['complete'] else ' (partial)'} | "
          f"{g(r['mean_total'])} | {g(r['std_total'])} | {g(r['mean_total_without_l1'])} | "
          + " | ".join(g(r[k]) for k in COMPONENTS) + f" | {g(r['lr_last'])} |" for r in rep["epochs"]]
    if rep.get("plots"):
        L += ["", "## Plots", ""] + [f"![{p}]({p})" for p in rep["plots"]]
    return "\n".join(L) + "\n"


def build(log: RunLog) -> dict:
    rep = stats.compute(log)
    rep["recipe"] = {k: v for k, v in log.recipe.items() if k != "phases"}
    return rep


def analyze_run(run: str | Path, out: str | Path | None = None, with_plots: bool = True) -> tuple[Path, dict]:
    """Analyse one run; write the report into ``out`` (default ``<run>/analysis``). Returns (out, report)."""
    log = load_run(run)
    out = Path(out) if out is not None else log.dir / "analysis"
    ensure_writable(out, "analysis report", inputs={"run": log.dir}, inside_ok=True)
    rep = build(log)
    with atomic_dir(out) as tmp:
        rep["plots"] = plots.write_run_plots(log, rep, tmp) if with_plots else []
        atomic_write_json(tmp / "report.json", rep)
        atomic_write_text(tmp / "report.md", render_markdown(rep))
    return out, rep
